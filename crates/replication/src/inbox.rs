//! The receive side: the gRPC service peers push to, one stream per peer. It only validates
//! and queues; applying (which may wait for earlier LSNs) happens on the applier thread.

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;

use borealis_engine::Engine;
use borealis_pagestore::{CommittedChange, PageNo};
use borealis_rpc::replication::replication_server::Replication;
use borealis_rpc::replication::{PushReply, PushRequest};
use tonic::{Request, Response, Status, Streaming};

use crate::stats::Counters;

/// A change for the applier: pushed by a peer, or this instance's own commit.
pub struct Received {
    pub change: CommittedChange,
    /// When its committer got the acknowledgement (Unix µs; 0 = unknown, or our own commit).
    pub acked: u64,
    /// Of our own commit, the committing session's new page images (not page 1's, not merged
    /// pages'), so that an applier that gets there first need not rebuild them from the
    /// previous image and the delta (a page copy each); empty for a peer's change.
    pub images: HashMap<PageNo, Arc<[u8]>>,
}

pub struct Inbox {
    pub engine: Arc<Engine>,
    pub page_size: usize,
    pub queue: SyncSender<Received>,
    pub counters: Arc<Counters>,
}

impl Inbox {
    /// Validate and queue one batch; false if the queue was full and changes were dropped.
    fn queue_batch(&self, batch: PushRequest) -> Result<bool, Status> {
        let mut accepted = true;
        for wire in batch.changes {
            let (change, acked) = borealis_rpc::change_from_wire(wire, self.page_size)
                .map_err(|e| Status::invalid_argument(e.to_string()))?;
            let received = Received {
                change,
                acked,
                images: HashMap::new(),
            };
            self.counters.received.fetch_add(1, Relaxed);
            match self.queue.try_send(received) {
                Ok(()) => {}
                // The applier is behind: drop, it fills the gap from the page store.
                Err(TrySendError::Full(_)) => {
                    self.counters.receive_dropped.fetch_add(1, Relaxed);
                    accepted = false;
                }
                Err(TrySendError::Disconnected(_)) => {
                    return Err(Status::unavailable("instance is shutting down"))
                }
            }
        }
        Ok(accepted)
    }
}

#[tonic::async_trait]
impl Replication for Inbox {
    async fn push(
        &self,
        request: Request<Streaming<PushRequest>>,
    ) -> Result<Response<PushReply>, Status> {
        let mut stream = request.into_inner();
        let mut accepted = true;
        // One iteration per batch; ends when the sender closes the stream or it breaks.
        while let Some(batch) = stream.message().await? {
            accepted &= self.queue_batch(batch)?;
        }
        Ok(Response::new(PushReply {
            applied_lsn: self.engine.applied_lsn(),
            accepted,
        }))
    }
}
