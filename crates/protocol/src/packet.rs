//! Packet framing: a 3-byte little-endian payload length plus a 1-byte sequence id.
//!
//! Payloads of `0xFF_FFFF` bytes or more are split into several packets; a packet whose
//! length is exactly the chunk limit means "more follows" (possibly an empty packet).
//! The chunk limit is a parameter so that tests can exercise splitting with small sizes.

use std::io::{self, Read, Write};

/// Largest payload a single packet can carry.
pub const MAX_CHUNK: usize = 0xFF_FFFF;

/// Errors while reading a packet.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The peer closed the connection cleanly between packets.
    #[error("connection closed by peer")]
    Closed,
    /// The reassembled payload would exceed `max_allowed_packet`.
    #[error("packet of at least {size} bytes exceeds max_allowed_packet {limit}")]
    TooLarge {
        /// Bytes announced so far.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// I/O error, including a connection closed in the middle of a packet.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
}

/// Reads whole (reassembled) payloads from a byte stream.
#[derive(Debug)]
pub struct PacketReader<R> {
    inner: R,
    chunk_limit: usize,
    max_payload: usize,
    /// Sequence id of the last packet read.
    pub last_seq: u8,
}

impl<R: Read> PacketReader<R> {
    /// A reader with the protocol's chunk limit.
    pub fn new(inner: R, max_payload: usize) -> Self {
        Self::with_chunk_limit(inner, max_payload, MAX_CHUNK)
    }

    /// A reader with a custom chunk limit (tests).
    pub fn with_chunk_limit(inner: R, max_payload: usize, chunk_limit: usize) -> Self {
        assert!(chunk_limit > 0 && chunk_limit <= MAX_CHUNK);
        Self {
            inner,
            chunk_limit,
            max_payload,
            last_seq: 0,
        }
    }

    /// Reads one logical payload into `buf` (cleared first).
    pub fn read_payload(&mut self, buf: &mut Vec<u8>) -> Result<(), ReadError> {
        buf.clear();
        let mut first = true;
        // Bounded: every iteration adds a full chunk to `buf`, which is capped by max_payload.
        loop {
            let mut header = [0u8; 4];
            if first {
                read_header_or_eof(&mut self.inner, &mut header)?;
            } else {
                self.inner.read_exact(&mut header)?;
            }
            first = false;
            let len =
                usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
            self.last_seq = header[3];
            let total = buf.len() + len;
            if total > self.max_payload {
                return Err(ReadError::TooLarge {
                    size: total,
                    limit: self.max_payload,
                });
            }
            self.read_body(buf, len)?;
            if len < self.chunk_limit {
                return Ok(());
            }
        }
    }
}

/// Payloads up to this size are read into a pre-sized buffer; larger ones grow the buffer
/// as data actually arrives, so a peer announcing a huge packet cannot make us allocate it.
const EAGER_BODY: usize = 64 * 1024;

impl<R: Read> PacketReader<R> {
    fn read_body(&mut self, buf: &mut Vec<u8>, len: usize) -> io::Result<()> {
        let start = buf.len();
        if len <= EAGER_BODY {
            buf.resize(start + len, 0);
            return self.inner.read_exact(&mut buf[start..]);
        }
        let got = (&mut self.inner).take(len as u64).read_to_end(buf)?;
        if got != len {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }
}

/// Reads a 4-byte header; a clean EOF before its first byte is `ReadError::Closed`.
fn read_header_or_eof<R: Read>(inner: &mut R, header: &mut [u8; 4]) -> Result<(), ReadError> {
    let mut got = 0;
    // Bounded: each successful read makes progress; interrupted reads are retried by the OS.
    while got < header.len() {
        match inner.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Err(ReadError::Closed),
            Ok(0) => return Err(ReadError::Io(io::ErrorKind::UnexpectedEof.into())),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
    Ok(())
}

/// Accumulates whole responses in memory and writes them with one `write_all` per flush.
#[derive(Debug)]
pub struct PacketWriter<W> {
    inner: W,
    chunk_limit: usize,
    buf: Vec<u8>,
    /// Offset of the header of the packet being built, if any.
    open: Option<usize>,
    /// Sequence id of the next packet.
    pub seq: u8,
}

impl<W: Write> PacketWriter<W> {
    /// A writer with the protocol's chunk limit.
    pub fn new(inner: W) -> Self {
        Self::with_chunk_limit(inner, MAX_CHUNK)
    }

    /// A writer with a custom chunk limit (tests).
    pub fn with_chunk_limit(inner: W, chunk_limit: usize) -> Self {
        assert!(chunk_limit > 0 && chunk_limit <= MAX_CHUNK);
        Self {
            inner,
            chunk_limit,
            buf: Vec::with_capacity(16 * 1024),
            open: None,
            seq: 0,
        }
    }

    /// Mutable access to the underlying stream.
    #[cfg(test)]
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Starts a packet and returns the buffer to append its payload to.
    pub fn begin(&mut self) -> &mut Vec<u8> {
        assert!(self.open.is_none(), "packet already open");
        self.open = Some(self.buf.len());
        self.buf.extend_from_slice(&[0, 0, 0, 0]);
        &mut self.buf
    }

    /// Bytes written so far into the response buffer (offsets for later patching).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Overwrites two bytes already in the buffer (used to patch status flags).
    pub fn patch_u16(&mut self, offset: usize, value: u16) -> bool {
        match self.buf.get_mut(offset..offset + 2) {
            Some(slot) => {
                slot.copy_from_slice(&value.to_le_bytes());
                true
            }
            None => false,
        }
    }

    /// Finishes the open packet: fills its header, splitting it when it is too long.
    pub fn finish(&mut self) {
        let Some(start) = self.open.take() else {
            panic!("finish without begin");
        };
        let len = self.buf.len() - start - 4;
        if len < self.chunk_limit {
            self.set_header(start, len);
            return;
        }
        let payload = self.buf.split_off(start + 4);
        self.buf.truncate(start);
        let mut chunks = payload.chunks(self.chunk_limit).peekable();
        // Bounded by the number of chunks of the payload.
        while let Some(chunk) = chunks.next() {
            self.write_raw_packet(chunk);
            if chunks.peek().is_none() && chunk.len() == self.chunk_limit {
                self.write_raw_packet(&[]);
            }
        }
    }

    /// Appends one complete packet with the given payload.
    pub fn packet(&mut self, payload: &[u8]) {
        self.begin().extend_from_slice(payload);
        self.finish();
    }

    fn write_raw_packet(&mut self, chunk: &[u8]) {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0, 0, 0]);
        self.buf.extend_from_slice(chunk);
        self.set_header(at, chunk.len());
    }

    fn set_header(&mut self, at: usize, len: usize) {
        debug_assert!(len <= MAX_CHUNK);
        let bytes = (len as u32).to_le_bytes();
        self.buf[at..at + 3].copy_from_slice(&bytes[..3]);
        self.buf[at + 3] = self.seq;
        self.seq = self.seq.wrapping_add(1);
    }

    /// Writes everything buffered to the stream and flushes it.
    pub fn flush(&mut self) -> io::Result<()> {
        assert!(self.open.is_none(), "flush with an open packet");
        if !self.buf.is_empty() {
            let res = self.inner.write_all(&self.buf);
            self.buf.clear();
            // Do not keep a huge buffer alive after a large result.
            if self.buf.capacity() > 1 << 20 {
                self.buf.shrink_to(16 * 1024);
            }
            res?;
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn roundtrip(payload: &[u8], chunk: usize) -> Vec<u8> {
        let mut w = PacketWriter::with_chunk_limit(Vec::new(), chunk);
        w.packet(payload);
        w.packet(b"next");
        w.flush().unwrap();
        let bytes = std::mem::take(w.get_mut());
        let mut r = PacketReader::with_chunk_limit(&bytes[..], usize::MAX, chunk);
        let mut out = Vec::new();
        r.read_payload(&mut out).unwrap();
        let mut next = Vec::new();
        r.read_payload(&mut next).unwrap();
        assert_eq!(next, b"next");
        assert!(matches!(r.read_payload(&mut next), Err(ReadError::Closed)));
        out
    }

    #[test]
    fn exact_multiple_gets_empty_trailer() {
        let mut w = PacketWriter::with_chunk_limit(Vec::new(), 4);
        w.packet(&[1, 2, 3, 4]);
        w.flush().unwrap();
        assert_eq!(
            w.get_mut().as_slice(),
            &[4, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 1]
        );
    }

    #[test]
    fn real_limit_roundtrip() {
        for len in [MAX_CHUNK - 1, MAX_CHUNK, MAX_CHUNK + 1] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            assert_eq!(roundtrip(&payload, MAX_CHUNK), payload);
        }
    }

    #[test]
    fn too_large_is_rejected() {
        let mut w = PacketWriter::with_chunk_limit(Vec::new(), 8);
        w.packet(&[7u8; 20]);
        w.flush().unwrap();
        let bytes = std::mem::take(w.get_mut());
        let mut r = PacketReader::with_chunk_limit(&bytes[..], 15, 8);
        let err = r.read_payload(&mut Vec::new()).unwrap_err();
        assert!(matches!(err, ReadError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn large_announced_body_is_not_preallocated() {
        let mut bytes = vec![0xa0, 0x86, 0x01, 0];
        bytes.extend_from_slice(&[1; 10]);
        let mut r = PacketReader::new(&bytes[..], 1 << 20);
        let mut buf = Vec::new();
        assert!(matches!(r.read_payload(&mut buf), Err(ReadError::Io(_))));
        assert!(buf.capacity() < 100_000);
    }

    #[test]
    fn truncated_body_is_io_error() {
        let bytes = [10u8, 0, 0, 0, 1, 2];
        let mut r = PacketReader::new(&bytes[..], 100);
        assert!(matches!(
            r.read_payload(&mut Vec::new()),
            Err(ReadError::Io(_))
        ));
        let bytes = [10u8, 0];
        let mut r = PacketReader::new(&bytes[..], 100);
        assert!(matches!(
            r.read_payload(&mut Vec::new()),
            Err(ReadError::Io(_))
        ));
    }

    proptest! {
        #[test]
        fn split_reassemble(chunk in 1usize..32, extra in 0usize..3, mult in 0usize..4, jitter in 0usize..2) {
            let len = (chunk * mult + extra).saturating_sub(jitter);
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            prop_assert_eq!(roundtrip(&payload, chunk), payload);
        }

        #[test]
        fn sequence_ids_increment(chunk in 1usize..16, len in 0usize..100) {
            let mut w = PacketWriter::with_chunk_limit(Vec::new(), chunk);
            w.seq = 250;
            w.packet(&vec![0u8; len]);
            let packets = len / chunk + 1;
            prop_assert_eq!(w.seq, 250u8.wrapping_add(packets as u8));
        }
    }
}
