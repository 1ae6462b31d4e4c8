//! The page service's end of commit links.
//!
//! Per link, one thread reads commits and validates each as it arrives
//! ([`LocalPageStore::commit_merging_then`]); the reply is written by whoever finishes the
//! commit — this thread for a conflict, the flusher right after the fsync for a durable commit
//! — straight onto the socket without waiting ([`FrameWriter`]). So a commit costs the page
//! service one thread wake-up (the reader's) besides the flusher's own.

use std::collections::HashMap;
use std::io::BufReader;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use borealis_pagestore::{CommitError, CommitReceipt, LocalPageStore, PageStore};
use borealis_rpc::frame::{self, FrameError, LINK_MAGIC};
use borealis_rpc::frame_writer::FrameWriter;
use borealis_rpc::pageservice as pb;
use parking_lot::Mutex;

/// Read buffer per link: one read takes in every commit that arrived together.
const READ_BUFFER: usize = 64 << 10;

/// Reply bytes a link may hold that its socket would not take at once. Each session of the
/// instance has at most one commit in flight, so a link near this is not reading its replies:
/// it is closed rather than allowed to hold the page service's memory.
const MAX_OVERFLOW: usize = 64 << 20;

/// A blocked overflow write this long means the instance stopped reading: the link closes.
const OVERFLOW_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Links served at once, at most: one per instance is normal (16 at most), a few more while
/// restarted instances reconnect; beyond it a new link is closed at once.
const MAX_LINKS: usize = 64;

/// The open links, so that stopping the page service closes them (their threads are not the
/// runtime's). Bounded by [`MAX_LINKS`].
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
    let registered = stream.try_clone().map(|socket| {
        let mut open = links.open.lock();
        if open.len() >= MAX_LINKS {
            tracing::warn!(%peer, "too many commit links; refusing one");
            let _ = socket.shutdown(Shutdown::Both);
            return false;
        }
        open.insert(id, socket);
        true
    });
    if !matches!(registered, Ok(true)) {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("commit-link".into())
        .spawn(move || {
            match serve(stream, store) {
                Ok(()) | Err(FrameError::Closed) => tracing::debug!(%peer, "commit link closed"),
                Err(e) => tracing::warn!(%peer, error = %e, "commit link dropped"),
            }
            links.open.lock().remove(&id);
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot serve a commit link");
    }
}

fn serve(stream: TcpStream, store: Arc<LocalPageStore>) -> Result<(), FrameError> {
    let read = frame::accept_link(&stream, &LINK_MAGIC, "commit", READ_BUFFER)?;
    stream.set_write_timeout(Some(OVERFLOW_WRITE_TIMEOUT))?;
    let writer = FrameWriter::start(stream, MAX_OVERFLOW, "commit-link-out")?;
    let replies = Arc::new(Replies(writer));
    let result = read_commits(read, &store, &replies);
    replies.0.close();
    result
}

/// A link's replies, written without ever blocking the caller (often the flusher).
struct Replies(Arc<FrameWriter>);

impl Replies {
    /// Send one reply. One that cannot be framed, or does not fit, closes the link: the
    /// instance then sees an unknown outcome, never a false answer or none.
    fn send(&self, id: u64, reply: &pb::CommitReply) {
        let sent = frame::encode(id, reply)
            .map_err(|e| e.to_string())
            .and_then(|bytes| self.0.send(&bytes).map_err(|e| e.to_string()));
        if let Err(e) = sent {
            tracing::warn!(id, error = %e, "a commit reply cannot be sent; closing the link");
            self.0.close();
        }
    }
}

fn read_commits(
    mut read: BufReader<TcpStream>,
    store: &LocalPageStore,
    replies: &Arc<Replies>,
) -> Result<(), FrameError> {
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

/// The reply to a commit.
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
