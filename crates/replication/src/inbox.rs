//! The receive side: the gRPC service peers push to, one stream per peer. It only validates
//! and queues; applying (which may wait for earlier LSNs) happens on the applier thread.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
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
    pub images: OwnImages,
}

/// Page images riding with our own commit to the applier, counted against a budget of bytes
/// until dropped: a queue of 16,384 changes must not hold that many commits' pages alive when
/// the applier falls behind. Over budget, a commit goes without them (the applier rebuilds
/// its pages, or the session applies it first).
#[derive(Default)]
pub struct OwnImages {
    pub pages: HashMap<PageNo, Arc<[u8]>>,
    /// The budget the bytes were counted against, and how many (`None`: none counted).
    counted: Option<(Arc<AtomicUsize>, usize)>,
}

impl OwnImages {
    /// `pages`, if their bytes fit in what is left of `budget` (in use at most `max`); else
    /// none.
    pub fn within(
        pages: &HashMap<PageNo, Arc<[u8]>>,
        budget: &Arc<AtomicUsize>,
        max: usize,
    ) -> OwnImages {
        let bytes: usize = pages.values().map(|p| p.len()).sum();
        let fits = |used: usize| used.checked_add(bytes).filter(|&total| total <= max);
        match budget.fetch_update(SeqCst, SeqCst, fits) {
            Ok(_) if bytes > 0 => OwnImages {
                pages: pages.clone(),
                counted: Some((Arc::clone(budget), bytes)),
            },
            _ => OwnImages::default(),
        }
    }
}

impl Drop for OwnImages {
    fn drop(&mut self) {
        if let Some((budget, bytes)) = self.counted.take() {
            let before = budget.fetch_sub(bytes, SeqCst);
            debug_assert!(before >= bytes, "own images budget released twice");
        }
    }
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
                images: OwnImages::default(),
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

#[cfg(test)]
mod own_images_tests {
    use super::*;

    fn pages(n: u32) -> HashMap<PageNo, Arc<[u8]>> {
        (1..=n).map(|p| (p, Arc::from(vec![0u8; 100]))).collect()
    }

    #[test]
    fn images_over_the_budget_are_left_behind_and_dropping_returns_their_bytes() {
        let budget = Arc::new(AtomicUsize::new(0));
        let first = OwnImages::within(&pages(2), &budget, 300);
        assert_eq!((first.pages.len(), budget.load(SeqCst)), (2, 200));
        let over = OwnImages::within(&pages(2), &budget, 300);
        assert!(over.pages.is_empty(), "200 more bytes do not fit in 100");
        assert_eq!(budget.load(SeqCst), 200);
        let fits = OwnImages::within(&pages(1), &budget, 300);
        assert_eq!((fits.pages.len(), budget.load(SeqCst)), (1, 300));
        drop(first);
        drop(over);
        assert_eq!(budget.load(SeqCst), 100);
        drop(fits);
        assert_eq!(budget.load(SeqCst), 0);
        assert!(OwnImages::within(&HashMap::new(), &budget, 300)
            .pages
            .is_empty());
        assert_eq!(budget.load(SeqCst), 0);
    }
}
