//! Writing frames to a link without ever blocking the caller.
//!
//! The callers are threads that must not wait on a socket: the page service's flusher (a
//! commit reply) and an instance's commit-link reader (a change pushed to a peer). A frame
//! goes straight to the socket if it takes it whole — the common case, one `send` — and what
//! the socket does not take waits in a bounded overflow buffer that a writer thread, asleep
//! otherwise, drains in order.

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("the link is closed")]
    Closed,
    #[error("the link's overflow is full: the other end is not reading")]
    Full,
}

/// The sending half of one link.
pub struct FrameWriter {
    socket: TcpStream,
    state: Mutex<Overflow>,
    pending: Condvar,
    /// Bytes the overflow may hold; a frame that would pass it is refused ([`SendError::Full`]).
    max_overflow: usize,
}

#[derive(Default)]
struct Overflow {
    bytes: Vec<u8>,
    /// The writer thread is writing bytes taken from `bytes`: later frames queue behind.
    writing: bool,
    closed: bool,
}

impl FrameWriter {
    /// Take over `socket` (blocking mode; its write timeout bounds an overflow write, after
    /// which the link closes) with a writer thread named `thread`.
    pub fn start(
        socket: TcpStream,
        max_overflow: usize,
        thread: &str,
    ) -> std::io::Result<Arc<FrameWriter>> {
        let writer = Arc::new(FrameWriter {
            socket,
            state: Mutex::new(Overflow::default()),
            pending: Condvar::new(),
            max_overflow,
        });
        let drainer = writer.clone();
        std::thread::Builder::new()
            .name(thread.into())
            .spawn(move || drainer.drain())?;
        Ok(writer)
    }

    /// Send one whole frame (or several), never waiting. On `Full` nothing of it was sent
    /// and the link stays usable.
    pub fn send(&self, frame: &[u8]) -> Result<(), SendError> {
        let mut state = self.state.lock();
        if state.closed {
            return Err(SendError::Closed);
        }
        if state.writing || !state.bytes.is_empty() {
            if state.bytes.len() + frame.len() > self.max_overflow {
                return Err(SendError::Full);
            }
            state.bytes.extend_from_slice(frame);
            return Ok(());
        }
        match send_without_waiting(&self.socket, frame) {
            Ok(n) if n == frame.len() => Ok(()),
            Ok(n) => {
                state.bytes.extend_from_slice(&frame[n..]);
                self.pending.notify_one();
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                state.bytes.extend_from_slice(frame);
                self.pending.notify_one();
                Ok(())
            }
            Err(_) => {
                drop(state);
                self.close();
                Err(SendError::Closed)
            }
        }
    }

    /// Close the link (both directions: a reader blocked on it wakes); later frames are
    /// refused. Idempotent.
    pub fn close(&self) {
        self.state.lock().closed = true;
        self.pending.notify_one();
        let _ = self.socket.shutdown(Shutdown::Both);
    }

    pub fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    /// The writer thread: write the overflow, in order, until the link closes.
    fn drain(&self) {
        let mut state = self.state.lock();
        // One iteration per overflow batch; ends when the link closes.
        loop {
            while state.bytes.is_empty() && !state.closed {
                self.pending.wait(&mut state);
            }
            if state.closed {
                return;
            }
            let batch = std::mem::take(&mut state.bytes);
            state.writing = true;
            let written =
                parking_lot::MutexGuard::unlocked(&mut state, || (&self.socket).write_all(&batch));
            state.writing = false;
            if written.is_err() {
                drop(state);
                return self.close();
            }
        }
    }
}

/// One `send` that never waits for room in the socket: how much it took.
fn send_without_waiting(socket: &TcpStream, bytes: &[u8]) -> std::io::Result<usize> {
    // SAFETY: `bytes` is valid for its length for the call; the descriptor is the socket's,
    // open for as long as `socket` is borrowed.
    let sent = unsafe {
        libc::send(
            socket.as_raw_fd(),
            bytes.as_ptr().cast(),
            bytes.len(),
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    };
    if sent < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(sent as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{self, FrameError};
    use crate::pageservice as pb;
    use std::io::BufReader;
    use std::net::TcpListener;

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server_side, _) = listener.accept().unwrap();
        (server_side, client)
    }

    fn message(bytes: usize) -> pb::CommitFailure {
        pb::CommitFailure {
            message: "x".repeat(bytes),
            ..Default::default()
        }
    }

    /// Frames the socket does not take at once wait in the overflow and arrive after the
    /// ones before them, whole and in order, once the other end reads again.
    #[test]
    fn frames_beyond_the_socket_buffer_arrive_in_order() {
        let (server_side, client) = pair();
        let writer = FrameWriter::start(server_side, 64 << 20, "test-writer").unwrap();
        // 24 MiB: well past loopback socket buffers, with the client not reading yet.
        const FRAMES: u64 = 6_000;
        for id in 0..FRAMES {
            writer
                .send(&frame::encode(id, &message(4096)).unwrap())
                .unwrap();
        }
        {
            let state = writer.state.lock();
            assert!(
                !state.bytes.is_empty() || state.writing,
                "the socket cannot have taken 24 MiB unread"
            );
        }
        let mut read = BufReader::new(client);
        let mut payload = Vec::new();
        for id in 0..FRAMES {
            let (got, m) =
                frame::read_blocking::<pb::CommitFailure>(&mut read, &mut payload).unwrap();
            assert_eq!(got, id);
            assert_eq!(m, message(4096));
        }
        writer.close();
        assert_eq!(writer.send(b"late"), Err(SendError::Closed));
        assert!(matches!(
            frame::read_blocking::<pb::CommitFailure>(&mut read, &mut payload),
            Err(FrameError::Closed) | Err(FrameError::Io(_))
        ));
    }

    #[test]
    fn a_full_overflow_refuses_the_frame_and_keeps_the_link() {
        let (server_side, client) = pair();
        let writer = FrameWriter::start(server_side, 1 << 20, "test-writer").unwrap();
        let big = frame::encode(1, &message(256 << 10)).unwrap();
        // Bounded: the socket and a 1 MiB overflow take a few dozen of these at most.
        let mut sent = 0u64;
        let refused = loop {
            match writer.send(&big) {
                Ok(()) => sent += 1,
                Err(e) => break e,
            }
            assert!(sent < 10_000, "never refused");
        };
        assert_eq!(refused, SendError::Full);
        assert!(!writer.is_closed());
        let mut read = BufReader::new(client);
        let mut payload = Vec::new();
        for _ in 0..sent {
            frame::read_blocking::<pb::CommitFailure>(&mut read, &mut payload).unwrap();
        }
        let small = frame::encode(2, &message(10)).unwrap();
        // Room again once the overflow drained: bounded by the drain of a few MiB.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while writer.send(&small) == Err(SendError::Full) {
            assert!(
                std::time::Instant::now() < deadline,
                "overflow never drained"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let (id, _) = frame::read_blocking::<pb::CommitFailure>(&mut read, &mut payload).unwrap();
        assert_eq!(id, 2);
    }
}
