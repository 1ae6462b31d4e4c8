//! The page service's end of commit links.
//!
//! Per link, one thread reads commits and validates each as it arrives
//! ([`LocalPageStore::commit_merging_then`]); the reply is written by whoever finishes the
//! commit — this thread for a conflict, the flusher right after the fsync for a durable commit
//! — straight onto the socket without waiting ([`ReplyWriter`]). So a commit costs the page
//! service one thread wake-up (the reader's) besides the flusher's own.

use std::collections::HashMap;
use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use borealis_pagestore::{CommitError, CommitReceipt, LocalPageStore, PageStore};
use borealis_rpc::frame::{self, FrameError, LINK_MAGIC};
use borealis_rpc::pageservice as pb;
use parking_lot::{Condvar, Mutex};

/// Read buffer per link: one read takes in every commit that arrived together.
const READ_BUFFER: usize = 64 << 10;

/// Reply bytes a link may hold that its socket would not take at once. Each session of the
/// instance has at most one commit in flight, so a link near this is not reading its replies:
/// it is closed rather than allowed to hold the page service's memory.
const MAX_OVERFLOW: usize = 64 << 20;

/// A blocked overflow write this long means the instance stopped reading: the link closes.
const OVERFLOW_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// The open links, so that stopping the page service closes them (their threads are not the
/// runtime's). Bounded by the instances connected.
#[derive(Default)]
pub(crate) struct Links {
    open: Mutex<HashMap<u64, TcpStream>>,
    next: AtomicU64,
}

impl Links {
    /// Close every open link; their reader threads end.
    pub(crate) fn close_all(&self) {
        for (_, socket) in self.open.lock().drain() {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

/// Serve a commit link on its own thread.
pub(crate) fn start(stream: TcpStream, store: Arc<LocalPageStore>, links: Arc<Links>) {
    let peer = stream
        .peer_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string());
    let id = links.next.fetch_add(1, Ordering::Relaxed);
    let registered = stream
        .try_clone()
        .map(|socket| links.open.lock().insert(id, socket));
    let spawned = std::thread::Builder::new()
        .name("commit-link".into())
        .spawn(move || {
            match serve(stream, store) {
                Ok(()) | Err(FrameError::Closed) => tracing::debug!(%peer, "commit link closed"),
                Err(e) => tracing::warn!(%peer, error = %e, "commit link dropped"),
            }
            links.open.lock().remove(&id);
        });
    if let Err(e) = registered.and(spawned.map(|_| ())) {
        tracing::error!(error = %e, "cannot serve a commit link");
    }
}

fn serve(stream: TcpStream, store: Arc<LocalPageStore>) -> Result<(), FrameError> {
    stream.set_write_timeout(Some(OVERFLOW_WRITE_TIMEOUT))?;
    let replies = ReplyWriter::start(stream.try_clone()?)?;
    let result = read_commits(stream, &store, &replies);
    replies.close();
    result
}

fn read_commits(
    stream: TcpStream,
    store: &LocalPageStore,
    replies: &Arc<ReplyWriter>,
) -> Result<(), FrameError> {
    let mut read = BufReader::with_capacity(READ_BUFFER, stream);
    let mut magic = [0u8; LINK_MAGIC.len()];
    read.read_exact(&mut magic)?;
    if magic != LINK_MAGIC {
        return Err(FrameError::Io(std::io::Error::other(
            "not a commit link (bad magic)",
        )));
    }
    let mut payload = Vec::new();
    // One iteration per commit; ends when the client closes or breaks the link. The commits
    // in flight are bounded by the store's pending-log bound, which makes `commit_merging_then`
    // wait: then this thread stops reading and TCP holds the instance back.
    loop {
        let (id, request) = frame::read_blocking::<pb::CommitRequest>(&mut read, &mut payload)?;
        let ws = match borealis_rpc::write_set_from_wire(request, store.page_size()) {
            Ok(ws) => ws,
            Err(e) => {
                replies.send(id, &reply(Err(CommitError::Invalid(e.to_string()))));
                continue;
            }
        };
        let replies = replies.clone();
        store.commit_merging_then(ws, Box::new(move |result| replies.send(id, &reply(result))));
    }
}

/// The reply to a commit: the same answer the gRPC `Commit` call gives.
pub(crate) fn reply(result: Result<CommitReceipt, CommitError>) -> pb::CommitReply {
    let result = match result {
        Ok(receipt) => pb::commit_reply::Result::Committed(pb::Committed {
            lsn: receipt.lsn,
            db_pages: receipt.db_pages,
            merged: receipt
                .deltas
                .iter()
                .filter(|d| receipt.merged.contains(&d.page_no))
                .map(borealis_rpc::delta_to_wire)
                .collect(),
        }),
        Err(e) => borealis_rpc::commit_error_to_wire(&e),
    };
    pb::CommitReply {
        result: Some(result),
    }
}

/// Writes a link's replies without ever blocking the caller (often the flusher): a reply goes
/// straight to the socket if it takes it whole; what it does not take waits in an overflow
/// buffer that a writer thread, asleep otherwise, drains in order.
pub(crate) struct ReplyWriter {
    socket: TcpStream,
    state: Mutex<Overflow>,
    pending: Condvar,
}

#[derive(Default)]
struct Overflow {
    bytes: Vec<u8>,
    /// The writer thread is writing bytes taken from `bytes`: later replies queue behind.
    writing: bool,
    closed: bool,
}

impl ReplyWriter {
    fn start(socket: TcpStream) -> std::io::Result<Arc<ReplyWriter>> {
        let writer = Arc::new(ReplyWriter {
            socket,
            state: Mutex::new(Overflow::default()),
            pending: Condvar::new(),
        });
        let drainer = writer.clone();
        std::thread::Builder::new()
            .name("commit-link-out".into())
            .spawn(move || drainer.drain())?;
        Ok(writer)
    }

    /// Send one reply. A reply that cannot be framed closes the link: the instance then sees
    /// an unknown outcome, never a false answer.
    fn send(&self, id: u64, reply: &pb::CommitReply) {
        let Ok(bytes) = frame::encode(id, reply) else {
            tracing::error!(id, "a commit reply cannot be framed; closing the link");
            return self.close();
        };
        let mut state = self.state.lock();
        if state.closed {
            return;
        }
        if state.writing || !state.bytes.is_empty() {
            if state.bytes.len() + bytes.len() > MAX_OVERFLOW {
                tracing::warn!("an instance stopped reading its commit replies; closing its link");
                drop(state);
                return self.close();
            }
            return state.bytes.extend_from_slice(&bytes);
        }
        match send_without_waiting(&self.socket, &bytes) {
            Ok(n) if n == bytes.len() => {}
            Ok(n) => {
                state.bytes.extend_from_slice(&bytes[n..]);
                self.pending.notify_one();
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                state.bytes.extend_from_slice(&bytes);
                self.pending.notify_one();
            }
            Err(_) => {
                drop(state);
                self.close();
            }
        }
    }

    /// Close the link: the reader's blocked read ends, later replies are dropped.
    fn close(&self) {
        self.state.lock().closed = true;
        self.pending.notify_one();
        let _ = self.socket.shutdown(Shutdown::Both);
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
    use std::net::TcpListener;

    fn failure_reply(message_bytes: usize) -> pb::CommitReply {
        reply(Err(CommitError::Invalid("x".repeat(message_bytes))))
    }

    /// Replies the socket does not take at once wait in the overflow and arrive after the
    /// ones before them, whole and in order, once the instance reads again.
    #[test]
    fn replies_beyond_the_socket_buffer_arrive_in_order() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server_side, _) = listener.accept().unwrap();
        let writer = ReplyWriter::start(server_side).unwrap();
        // 24 MiB: well past loopback socket buffers, with the client not reading yet.
        const REPLIES: u64 = 6_000;
        for id in 0..REPLIES {
            writer.send(id, &failure_reply(4096));
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
        for id in 0..REPLIES {
            let (got, reply) =
                frame::read_blocking::<pb::CommitReply>(&mut read, &mut payload).unwrap();
            assert_eq!(got, id);
            assert_eq!(reply, failure_reply(4096));
        }
        writer.close();
        assert!(matches!(
            frame::read_blocking::<pb::CommitReply>(&mut read, &mut payload),
            Err(FrameError::Closed) | Err(FrameError::Io(_))
        ));
    }
}
