//! Small primitives of the wire format: length-encoded integers and strings, and a checked
//! cursor over a received payload.

/// Appends a length-encoded integer.
pub fn put_lenenc_int(buf: &mut Vec<u8>, n: u64) {
    if n < 251 {
        buf.push(n as u8);
    } else if n < 1 << 16 {
        buf.push(0xfc);
        buf.extend_from_slice(&(n as u16).to_le_bytes());
    } else if n < 1 << 24 {
        buf.push(0xfd);
        buf.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
    } else {
        buf.push(0xfe);
        buf.extend_from_slice(&n.to_le_bytes());
    }
}

/// Appends a length-encoded string.
pub fn put_lenenc_str(buf: &mut Vec<u8>, s: &[u8]) {
    put_lenenc_int(buf, s.len() as u64);
    buf.extend_from_slice(s);
}

/// The payload ended before a field it announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed packet: truncated")]
pub struct Truncated;

/// A checked cursor over a payload; every read fails with [`Truncated`] instead of panicking.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.data.len()
    }

    /// Takes `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        if n > self.data.len() {
            return Err(Truncated);
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Ok(head)
    }

    /// Takes everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }

    /// Takes a fixed-size array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], Truncated> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// Reads a u8.
    pub fn u8(&mut self) -> Result<u8, Truncated> {
        Ok(self.array::<1>()?[0])
    }

    /// Reads a little-endian u16.
    pub fn u16(&mut self) -> Result<u16, Truncated> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// Reads a little-endian u32.
    pub fn u32(&mut self) -> Result<u32, Truncated> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// Reads a little-endian u64.
    pub fn u64(&mut self) -> Result<u64, Truncated> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Reads a length-encoded integer.
    pub fn lenenc_int(&mut self) -> Result<u64, Truncated> {
        match self.u8()? {
            0xfc => Ok(u64::from(self.u16()?)),
            0xfd => {
                let b = self.array::<3>()?;
                Ok(u64::from(b[0]) | u64::from(b[1]) << 8 | u64::from(b[2]) << 16)
            }
            0xfe => self.u64(),
            x => Ok(u64::from(x)),
        }
    }

    /// Reads a length-encoded string.
    pub fn lenenc_str(&mut self) -> Result<&'a [u8], Truncated> {
        let len = self.lenenc_int()?;
        let len = usize::try_from(len).map_err(|_| Truncated)?;
        self.take(len)
    }

    /// Reads a NUL-terminated string (without the NUL); a missing NUL takes the rest.
    pub fn null_str(&mut self) -> &'a [u8] {
        match self.data.iter().position(|&b| b == 0) {
            Some(pos) => {
                let s = &self.data[..pos];
                self.data = &self.data[pos + 1..];
                s
            }
            None => self.rest(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn lenenc_roundtrip(n in any::<u64>()) {
            let mut buf = Vec::new();
            put_lenenc_int(&mut buf, n);
            let mut c = Cursor::new(&buf);
            prop_assert_eq!(c.lenenc_int().unwrap(), n);
            prop_assert_eq!(c.remaining(), 0);
        }

        #[test]
        fn cursor_never_panics(data in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut c = Cursor::new(&data);
            let _ = c.lenenc_str();
            let _ = c.u32();
            let _ = c.null_str();
            let _ = c.u64();
        }
    }
}
