//! The page service's end of commit links.
//!
//! Per connection: one task reads commits, each commit runs as its own task (it waits for its
//! group's fsync, and the commits of one link must be able to share one), and one task writes
//! the replies, those ready together in one write.

use std::sync::Arc;

use borealis_pagestore::{CommitError, LocalPageStore, PageStore};
use borealis_rpc::frame::{self, FrameError, LINK_MAGIC};
use borealis_rpc::pageservice as pb;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Commits of one link in flight at once. Beyond it the reader stops reading and TCP holds
/// the instance back. Each session has at most one commit in flight, so this bounds a
/// misbehaving client, not a real one.
const MAX_IN_FLIGHT: usize = 1024;

/// Reply bytes gathered into one write, at most (a reply is usually a few dozen bytes).
const MAX_WRITE_BYTES: usize = 1 << 20;

/// Read buffer per link: one read takes in every commit that arrived together.
const READ_BUFFER: usize = 64 << 10;

/// Serve one commit link until the client closes it or sends something malformed.
pub(crate) async fn serve_link(stream: TcpStream, store: Arc<LocalPageStore>) {
    let peer = stream
        .peer_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string());
    let (read, write) = stream.into_split();
    // An empty reply is the signal to close the link (see `send_reply`).
    let (replies, queued) = mpsc::channel::<Vec<u8>>(MAX_IN_FLIGHT);
    let writer = tokio::spawn(write_replies(write, queued));
    match read_commits(read, store, replies).await {
        Ok(()) | Err(FrameError::Closed) => tracing::debug!(%peer, "commit link closed"),
        Err(e) => tracing::warn!(%peer, error = %e, "commit link dropped"),
    }
    // The writer ends once every commit still in flight has sent its reply.
    let _ = writer.await;
}

async fn read_commits(
    read: OwnedReadHalf,
    store: Arc<LocalPageStore>,
    replies: mpsc::Sender<Vec<u8>>,
) -> Result<(), FrameError> {
    let mut read = BufReader::with_capacity(READ_BUFFER, read);
    let mut magic = [0u8; LINK_MAGIC.len()];
    read.read_exact(&mut magic).await?;
    if magic != LINK_MAGIC {
        return Err(FrameError::Io(std::io::Error::other(
            "not a commit link (bad magic)",
        )));
    }
    let mut payload = Vec::new();
    // One iteration per commit; ends when the client closes or breaks the link.
    loop {
        let (id, request) = frame::read_async::<pb::CommitRequest>(&mut read, &mut payload).await?;
        let Ok(permit) = replies.clone().reserve_owned().await else {
            return Ok(()); // the writer is gone: the connection is broken
        };
        let store = store.clone();
        tokio::spawn(async move {
            let reply = commit(&store, request).await;
            permit.send(send_reply(id, &reply));
        });
    }
}

/// The frame of a reply; empty (which closes the link) if it cannot be framed, so that the
/// instance sees a broken link — an unknown outcome — rather than a false answer.
fn send_reply(id: u64, reply: &pb::CommitReply) -> Vec<u8> {
    frame::encode(id, reply).unwrap_or_else(|e| {
        tracing::error!(id, error = %e, "a commit reply cannot be sent; closing the link");
        Vec::new()
    })
}

async fn write_replies(mut write: OwnedWriteHalf, mut queued: mpsc::Receiver<Vec<u8>>) {
    let mut batch = Vec::new();
    // One iteration per write; ends when every sender is gone or the link must close.
    while let Some(first) = queued.recv().await {
        batch.clear();
        batch.extend_from_slice(&first);
        let mut close = first.is_empty();
        while !close && batch.len() < MAX_WRITE_BYTES {
            match queued.try_recv() {
                Ok(next) => {
                    close = next.is_empty();
                    batch.extend_from_slice(&next);
                }
                Err(_) => break,
            }
        }
        if write.write_all(&batch).await.is_err() || close {
            break;
        }
    }
    let _ = write.shutdown().await;
}

/// Commit a request; the same answer as the gRPC `Commit` call gives.
pub(crate) async fn commit(store: &LocalPageStore, request: pb::CommitRequest) -> pb::CommitReply {
    let result = match borealis_rpc::write_set_from_wire(request, store.page_size()) {
        Err(e) => borealis_rpc::commit_error_to_wire(&CommitError::Invalid(e.to_string())),
        // Validation takes the store's locks only briefly, and the wait for the fsync holds
        // no thread (see `commit_merging_async`).
        Ok(ws) => match store.commit_merging_async(ws).await {
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
        },
    };
    pb::CommitReply {
        result: Some(result),
    }
}
