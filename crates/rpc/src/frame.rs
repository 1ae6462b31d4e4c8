//! The commit link's framing: commits between an instance and the page service travel on a
//! plain TCP connection of their own, not as gRPC calls.
//!
//! Why: a unary gRPC call costs both ends an HTTP/2 stream, three header blocks, the tower
//! stack and a task hop per commit; in a one-writer cluster that was about 60 % of the page
//! service's CPU per transaction. The link carries the same prost messages (`CommitRequest`,
//! `CommitReply`) in length-prefixed frames tagged with a request id, so many sessions share
//! one connection and replies may come back in any order.
//!
//! A connection starts with [`LINK_MAGIC`] from the client (the page service tells it from an
//! HTTP/2 preface by its first byte); then each frame is a [`HEADER_BYTES`]-byte header —
//! payload length (u32, little-endian) and request id (u64, little-endian) — and the payload.

use std::io::{BufReader, Read};
use std::net::TcpStream;
use std::time::Duration;

use prost::Message;

/// What a client sends first on a commit link. An HTTP/2 connection starts with `PRI *`, so
/// the first byte tells the two apart.
pub const LINK_MAGIC: [u8; 8] = *b"BRLSLNK1";

/// What an instance sends first on a replication link to a peer; then each frame carries one
/// committed change (`change.proto`'s `Change`, request id = its LSN) and nothing comes back.
pub const REPLICATION_MAGIC: [u8; 8] = *b"BRLSREP1";

/// How long a new link may take to send its magic: a connection that never does must not hold
/// a thread (and one of a bounded number of links) for good.
pub const MAGIC_WAIT: Duration = Duration::from_secs(10);

/// Take a new link whose first bytes must be `magic` (`what` names the kind in the error):
/// its buffered reader (`buffer` bytes), past the magic; reads on it then block without a
/// deadline.
pub fn accept_link(
    stream: &TcpStream,
    magic: &[u8; 8],
    what: &str,
    buffer: usize,
) -> Result<BufReader<TcpStream>, FrameError> {
    stream.set_read_timeout(Some(MAGIC_WAIT))?;
    let mut read = BufReader::with_capacity(buffer, stream.try_clone()?);
    let mut first = [0u8; 8];
    read.read_exact(&mut first)?;
    if first != *magic {
        return Err(FrameError::Io(std::io::Error::other(format!(
            "not a {what} link (bad magic)"
        ))));
    }
    stream.set_read_timeout(None)?;
    Ok(read)
}

/// Bytes of a frame header: payload length (u32) and request id (u64).
pub const HEADER_BYTES: usize = 12;

/// Largest payload either side accepts: the same bound as a gRPC message.
pub const MAX_FRAME_PAYLOAD: usize = crate::MAX_MESSAGE_BYTES;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    #[error("connection closed")]
    Closed,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("undecodable frame payload: {0}")]
    Decode(#[from] prost::DecodeError),
}

/// One frame: header and `message` encoded, ready for a single write.
pub fn encode(id: u64, message: &impl Message) -> Result<Vec<u8>, FrameError> {
    let mut out = Vec::with_capacity(HEADER_BYTES + message.encoded_len());
    append(&mut out, id, message)?;
    Ok(out)
}

/// Append one frame to `out` (a writer batches several replies into one write); a message
/// over the limit is refused, leaving `out` as it was.
pub fn append(out: &mut Vec<u8>, id: u64, message: &impl Message) -> Result<(), FrameError> {
    let len = message.encoded_len();
    if len > MAX_FRAME_PAYLOAD {
        return Err(FrameError::TooLarge {
            len,
            max: MAX_FRAME_PAYLOAD,
        });
    }
    let start = out.len();
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.extend_from_slice(&id.to_le_bytes());
    message
        .encode(out)
        .expect("a Vec grows to any encoded length");
    debug_assert_eq!(out.len() - start, HEADER_BYTES + len);
    Ok(())
}

/// The payload length and request id of a header; a length over the limit is refused before
/// any buffer is sized by it.
pub fn parse_header(header: &[u8; HEADER_BYTES]) -> Result<(usize, u64), FrameError> {
    let (len, id) = header.split_at(4);
    let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
    let id = u64::from_le_bytes(id.try_into().expect("8 bytes"));
    if len > MAX_FRAME_PAYLOAD {
        return Err(FrameError::TooLarge {
            len,
            max: MAX_FRAME_PAYLOAD,
        });
    }
    Ok((len, id))
}

/// Read one frame from a blocking reader: its request id and decoded message. A clean end of
/// the connection before a header is [`FrameError::Closed`].
pub fn read_blocking<M: Message + Default>(
    reader: &mut impl Read,
    payload: &mut Vec<u8>,
) -> Result<(u64, M), FrameError> {
    let mut header = [0u8; HEADER_BYTES];
    match reader.read_exact(&mut header) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(e.into()),
    }
    let (len, id) = parse_header(&header)?;
    // The buffer grows with the bytes that arrive, not with what the header claims: a header
    // alone must not make the reader allocate (and zero) up to the limit. One large frame does
    // not keep its buffer either.
    if payload.capacity() > KEPT_PAYLOAD_BUFFER {
        *payload = Vec::new();
    }
    payload.clear();
    let read = reader.take(len as u64).read_to_end(payload)?;
    if read < len {
        return Err(FrameError::Io(std::io::ErrorKind::UnexpectedEof.into()));
    }
    Ok((id, M::decode(payload.as_slice())?))
}

/// A payload buffer larger than this is let go before the next frame.
const KEPT_PAYLOAD_BUFFER: usize = 1 << 20;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pageservice as pb;
    use proptest::prelude::*;

    fn request(snapshot: u64, locked: Vec<u32>) -> pb::CommitRequest {
        pb::CommitRequest {
            snapshot,
            locked_pages: locked,
            ..Default::default()
        }
    }

    proptest! {
        #[test]
        fn frames_read_back_in_order(
            frames in proptest::collection::vec(
                (any::<u64>(), any::<u64>(), proptest::collection::vec(any::<u32>(), 0..50)),
                1..20,
            )
        ) {
            let mut wire = Vec::new();
            for (id, snapshot, locked) in &frames {
                append(&mut wire, *id, &request(*snapshot, locked.clone())).unwrap();
            }
            let mut reader = wire.as_slice();
            let mut payload = Vec::new();
            for (id, snapshot, locked) in &frames {
                let (got_id, got) =
                    read_blocking::<pb::CommitRequest>(&mut reader, &mut payload).unwrap();
                prop_assert_eq!(got_id, *id);
                prop_assert_eq!(got, request(*snapshot, locked.clone()));
            }
            prop_assert!(matches!(
                read_blocking::<pb::CommitRequest>(&mut reader, &mut payload),
                Err(FrameError::Closed)
            ));
        }

        #[test]
        fn a_cut_frame_is_an_error_not_a_message(cut in 1usize..40) {
            let wire = encode(7, &request(42, vec![1, 2, 3, 4, 5, 6])).unwrap();
            let cut = cut.min(wire.len() - 1);
            let mut reader = &wire[..cut];
            let got = read_blocking::<pb::CommitRequest>(&mut reader, &mut Vec::new());
            prop_assert!(got.is_err());
        }
    }

    #[test]
    fn an_oversized_length_is_refused_before_reading_the_payload() {
        let mut header = [0u8; HEADER_BYTES];
        header[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            parse_header(&header),
            Err(FrameError::TooLarge { .. })
        ));
        let mut reader = &header[..];
        let got = read_blocking::<pb::CommitRequest>(&mut reader, &mut Vec::new());
        assert!(matches!(got, Err(FrameError::TooLarge { .. })));
    }

    #[test]
    fn a_header_alone_does_not_make_the_reader_allocate_what_it_claims() {
        let mut wire = Vec::new();
        wire.extend_from_slice(&(200u32 << 20).to_le_bytes());
        wire.extend_from_slice(&1u64.to_le_bytes());
        wire.extend_from_slice(&[1, 2, 3]);
        let mut payload = Vec::new();
        let got = read_blocking::<pb::CommitRequest>(&mut wire.as_slice(), &mut payload);
        assert!(matches!(got, Err(FrameError::Io(_))), "cut short");
        assert!(payload.capacity() < 1 << 20, "{} bytes", payload.capacity());
    }

    #[test]
    fn garbage_payload_is_a_decode_error() {
        let mut wire = Vec::new();
        wire.extend_from_slice(&3u32.to_le_bytes());
        wire.extend_from_slice(&9u64.to_le_bytes());
        wire.extend_from_slice(&[0xff, 0xff, 0xff]);
        let got = read_blocking::<pb::CommitRequest>(&mut wire.as_slice(), &mut Vec::new());
        assert!(matches!(got, Err(FrameError::Decode(_))));
    }

    #[test]
    fn the_magic_is_not_an_http2_preface() {
        assert_ne!(LINK_MAGIC[0], b'P');
        assert_ne!(LINK_MAGIC, REPLICATION_MAGIC);
    }
}
