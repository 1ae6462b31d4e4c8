//! The commit-log record codec.
//!
//! A record is a 12-byte header `[magic u32][payload_len u32][crc32 of payload u32]` followed by
//! the payload `[lsn u64][origin u16][db_pages u32][delta count u32]` and, per delta,
//! `[page_no u32][range count u32]` and per range `[offset u32][len u32][bytes]`.
//! All integers are little-endian.

use std::sync::Arc;

use crate::api::{ByteRange, CommittedChange, PageDelta};

/// Marks the start of every record ("BOREALIS" squeezed into 32 bits).
pub const MAGIC: u32 = 0xB0E1_A115;
/// Size of the record header in bytes.
pub const HEADER_LEN: usize = 12;
/// Largest payload accepted when decoding: a record never exceeds this (1 GiB), which bounds
/// the memory a corrupt length field can make recovery allocate.
pub const MAX_PAYLOAD_LEN: usize = 1 << 30;

/// What decoding the bytes at the start of a buffer found.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A complete, valid record of `len` bytes (header included).
    Record { change: CommittedChange, len: usize },
    /// The buffer ends before the record does.
    Incomplete,
    /// The bytes are not a valid record.
    Bad(String),
}

/// Why a change cannot be encoded.
#[derive(Debug, thiserror::Error)]
#[error("record too large: {0}")]
pub struct TooLarge(pub String);

/// Encode one committed change as a complete record (header and payload).
pub fn encode(change: &CommittedChange) -> Result<Vec<u8>, TooLarge> {
    let mut out = Vec::new();
    encode_into(change, &mut out)?;
    Ok(out)
}

/// Append one committed change as a complete record to `out` (the log's pending buffer, so a
/// commit allocates and copies its record once). On error `out` is left as it was.
pub fn encode_into(change: &CommittedChange, out: &mut Vec<u8>) -> Result<(), TooLarge> {
    let start = out.len();
    out.reserve(HEADER_LEN + payload_size_hint(change));
    out.extend_from_slice(&MAGIC.to_le_bytes());
    // Length and checksum are filled in once the payload is written.
    out.extend_from_slice(&[0; 8]);
    let result = put_payload(change, out);
    let payload_len = out.len() - start - HEADER_LEN;
    if let Err(e) = result.and_then(|()| {
        if payload_len > MAX_PAYLOAD_LEN {
            return Err(TooLarge(format!("payload of {payload_len} bytes")));
        }
        Ok(())
    }) {
        out.truncate(start);
        return Err(e);
    }
    let crc = crc32fast::hash(&out[start + HEADER_LEN..]);
    // payload_len ≤ MAX_PAYLOAD_LEN < 2^32, checked above.
    out[start + 4..start + 8].copy_from_slice(&(payload_len as u32).to_le_bytes());
    out[start + 8..start + 12].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

fn put_payload(change: &CommittedChange, payload: &mut Vec<u8>) -> Result<(), TooLarge> {
    payload.extend_from_slice(&change.lsn.to_le_bytes());
    payload.extend_from_slice(&change.origin.to_le_bytes());
    payload.extend_from_slice(&change.db_pages.to_le_bytes());
    put_len(payload, change.deltas.len())?;
    for delta in change.deltas.iter() {
        payload.extend_from_slice(&delta.page_no.to_le_bytes());
        put_len(payload, delta.ranges.len())?;
        for range in &delta.ranges {
            payload.extend_from_slice(&range.offset.to_le_bytes());
            put_len(payload, range.bytes.len())?;
            payload.extend_from_slice(&range.bytes);
        }
    }
    Ok(())
}

fn payload_size_hint(change: &CommittedChange) -> usize {
    let ranges: usize = change
        .deltas
        .iter()
        .flat_map(|d| d.ranges.iter())
        .map(|r| 8 + r.bytes.len())
        .sum();
    18 + change.deltas.len() * 8 + ranges
}

fn put_len(out: &mut Vec<u8>, len: usize) -> Result<(), TooLarge> {
    let len = u32::try_from(len).map_err(|_| TooLarge(format!("length {len} exceeds u32")))?;
    out.extend_from_slice(&len.to_le_bytes());
    Ok(())
}

/// Decode the record at the start of `buf`.
pub fn decode(buf: &[u8]) -> Decoded {
    if buf.len() < HEADER_LEN {
        return Decoded::Incomplete;
    }
    let magic = le_u32(&buf[0..4]);
    if magic != MAGIC {
        return Decoded::Bad(format!("bad magic {magic:#010x}"));
    }
    let payload_len = le_u32(&buf[4..8]) as usize;
    if payload_len > MAX_PAYLOAD_LEN {
        return Decoded::Bad(format!("payload length {payload_len} too large"));
    }
    let crc = le_u32(&buf[8..12]);
    let Some(payload) = buf.get(HEADER_LEN..HEADER_LEN + payload_len) else {
        return Decoded::Incomplete;
    };
    if crc32fast::hash(payload) != crc {
        return Decoded::Bad("payload checksum mismatch".to_string());
    }
    match decode_payload(payload) {
        Ok(change) => Decoded::Record {
            change,
            len: HEADER_LEN + payload_len,
        },
        Err(msg) => Decoded::Bad(msg),
    }
}

fn le_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_le_bytes(a)
}

/// A bounds-checked reader over a payload.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).ok_or("length overflow")?;
        let s = self.buf.get(self.pos..end).ok_or_else(|| {
            format!(
                "payload ends at {} reading {n} bytes at {}",
                self.buf.len(),
                self.pos
            )
        })?;
        self.pos = end;
        Ok(s)
    }
    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(le_u32(self.take(4)?))
    }
    fn u64(&mut self) -> Result<u64, String> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    /// A count of items that each need at least `min_item` bytes: bounded by what remains.
    fn count(&mut self, min_item: usize) -> Result<usize, String> {
        let n = self.u32()? as usize;
        let remaining = self.buf.len() - self.pos;
        if n.saturating_mul(min_item) > remaining {
            return Err(format!("count {n} exceeds remaining {remaining} bytes"));
        }
        Ok(n)
    }
}

fn decode_payload(payload: &[u8]) -> Result<CommittedChange, String> {
    let mut c = Cursor {
        buf: payload,
        pos: 0,
    };
    let lsn = c.u64()?;
    let origin = c.u16()?;
    let db_pages = c.u32()?;
    let delta_count = c.count(8)?;
    let mut deltas = Vec::with_capacity(delta_count);
    for _ in 0..delta_count {
        let page_no = c.u32()?;
        let range_count = c.count(8)?;
        let mut ranges = Vec::with_capacity(range_count);
        for _ in 0..range_count {
            let offset = c.u32()?;
            let len = c.u32()? as usize;
            let bytes = c.take(len)?.to_vec();
            ranges.push(ByteRange { offset, bytes });
        }
        deltas.push(PageDelta { page_no, ranges });
    }
    if c.pos != payload.len() {
        return Err(format!("{} trailing payload bytes", payload.len() - c.pos));
    }
    Ok(CommittedChange {
        lsn,
        origin,
        db_pages,
        deltas: Arc::new(deltas),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_change() -> impl Strategy<Value = CommittedChange> {
        let range = (any::<u32>(), proptest::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(offset, bytes)| ByteRange { offset, bytes });
        let delta = (any::<u32>(), proptest::collection::vec(range, 0..4))
            .prop_map(|(page_no, ranges)| PageDelta { page_no, ranges });
        (
            any::<u64>(),
            any::<u16>(),
            any::<u32>(),
            proptest::collection::vec(delta, 0..5),
        )
            .prop_map(|(lsn, origin, db_pages, deltas)| CommittedChange {
                lsn,
                origin,
                db_pages,
                deltas: Arc::new(deltas),
            })
    }

    proptest! {
        #[test]
        fn round_trip(change in arb_change()) {
            let bytes = encode(&change).unwrap();
            prop_assert_eq!(decode(&bytes), Decoded::Record { change: change.clone(), len: bytes.len() });
            // Trailing bytes do not matter.
            let mut longer = bytes.clone();
            longer.extend_from_slice(&[7, 7, 7]);
            prop_assert_eq!(decode(&longer), Decoded::Record { change, len: bytes.len() });
        }

        #[test]
        fn records_appended_to_one_buffer_decode_in_order(a in arb_change(), b in arb_change()) {
            let mut buf = vec![9; 5];
            encode_into(&a, &mut buf).unwrap();
            encode_into(&b, &mut buf).unwrap();
            let Decoded::Record { change, len } = decode(&buf[5..]) else {
                return Err(TestCaseError::fail("first record not decoded"));
            };
            prop_assert_eq!(change, a);
            prop_assert_eq!(decode(&buf[5 + len..]), Decoded::Record { change: b, len: buf.len() - 5 - len });
        }

        #[test]
        fn flipped_byte_is_detected(change in arb_change(), pos in any::<prop::sample::Index>(), bit in 0u8..8) {
            let mut bytes = encode(&change).unwrap();
            let i = pos.index(bytes.len());
            bytes[i] ^= 1 << bit;
            // A flip in the length field may make the record look longer than the buffer.
            match decode(&bytes) {
                Decoded::Bad(_) | Decoded::Incomplete => {}
                Decoded::Record { .. } => prop_assert!(false, "flip at {} not detected", i),
            }
        }

        #[test]
        fn truncation_is_detected(change in arb_change(), cut in any::<prop::sample::Index>()) {
            let bytes = encode(&change).unwrap();
            let n = cut.index(bytes.len());
            prop_assert_eq!(decode(&bytes[..n]), Decoded::Incomplete);
        }
    }
}
