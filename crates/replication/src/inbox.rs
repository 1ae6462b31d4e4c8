//! The receive side: the gRPC service peers push to, one stream per peer. It only validates
//! and queues; applying (which may wait for earlier LSNs) happens on the applier thread.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;

use borealis_engine::Engine;
use borealis_pagestore::CommittedChange;
use borealis_rpc::replication::replication_server::Replication;
use borealis_rpc::replication::{PushReply, PushRequest};
use tonic::{Request, Response, Status, Streaming};

use crate::stats::Counters;

/// A received change and when its committer got the acknowledgement (Unix µs; 0 = unknown).
pub type Received = (CommittedChange, u64);

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
            let received = borealis_rpc::change_from_wire(wire, self.page_size)
                .map_err(|e| Status::invalid_argument(e.to_string()))?;
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
