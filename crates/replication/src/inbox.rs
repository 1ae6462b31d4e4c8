//! The receive side: the gRPC service peers push to. It only validates and queues; applying
//! (which may wait for earlier LSNs) happens on the applier thread.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;

use borealis_engine::Engine;
use borealis_pagestore::CommittedChange;
use borealis_rpc::replication::replication_server::Replication;
use borealis_rpc::replication::{PushReply, PushRequest};
use tonic::{Request, Response, Status};

use crate::stats::Counters;

/// A received change and when its committer got the acknowledgement (Unix µs; 0 = unknown).
pub type Received = (CommittedChange, u64);

pub struct Inbox {
    pub engine: Arc<Engine>,
    pub page_size: usize,
    pub queue: SyncSender<Received>,
    pub counters: Arc<Counters>,
}

#[tonic::async_trait]
impl Replication for Inbox {
    async fn push(&self, request: Request<PushRequest>) -> Result<Response<PushReply>, Status> {
        let mut accepted = true;
        for wire in request.into_inner().changes {
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
        Ok(Response::new(PushReply {
            applied_lsn: self.engine.applied_lsn(),
            accepted,
        }))
    }
}
