//! The receive side: peers' replication links, each read on a thread of its own. It only
//! validates and queues; applying (which may wait for earlier LSNs) happens on the applier
//! thread.

use std::collections::HashMap;

use std::net::{TcpListener, TcpStream};
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;

use borealis_engine::Engine;
use borealis_pageservice::priority::ThreadPriority;
use borealis_pagestore::{CommittedChange, PageNo};
use borealis_rpc::change::Change;
use borealis_rpc::frame::{self, FrameError, REPLICATION_MAGIC};

use crate::applier::{record_lag, LagSink};
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

/// Peer links read at once, at most: one per live peer is normal (15 at most), a few more
/// while restarted peers reconnect; beyond it a new connection is closed at once.
const MAX_LINKS: usize = 64;

/// Read buffer per link: one read takes in every change that arrived together.
const READ_BUFFER: usize = 256 << 10;

pub struct Inbox {
    /// Changes next in LSN order are applied by the link's thread itself.
    pub engine: Arc<Engine>,
    pub on_lag: LagSink,
    pub page_size: usize,
    pub queue: SyncSender<Received>,
    pub counters: Arc<Counters>,
    /// Links being read now (bounded by [`MAX_LINKS`]).
    links: AtomicUsize,
}

impl Inbox {
    pub fn new(
        engine: Arc<Engine>,
        on_lag: LagSink,
        queue: SyncSender<Received>,
        counters: Arc<Counters>,
    ) -> Inbox {
        Inbox {
            page_size: engine.page_size(),
            engine,
            on_lag,
            queue,
            counters,
            links: AtomicUsize::new(0),
        }
    }

    /// Accept peers' replication links on `listener` (a thread), each read on a thread of
    /// its own at `priority`, until `stop` is set (and the listener woken by a connection).
    pub fn listen(
        self: Arc<Self>,
        listener: TcpListener,
        priority: Arc<ThreadPriority>,
        stop: Arc<AtomicBool>,
    ) -> std::io::Result<()> {
        std::thread::Builder::new()
            .name("replication-accept".into())
            .spawn(move || {
                // One iteration per connection; ends when the replicator stops.
                for stream in listener.incoming() {
                    if stop.load(SeqCst) {
                        return;
                    }
                    match stream {
                        Ok(stream) => self.clone().start_link(stream, priority.clone()),
                        Err(e) => {
                            // Out of descriptors and the like: pause rather than spin.
                            tracing::warn!(error = %e, "replication accept failed");
                            std::thread::sleep(std::time::Duration::from_millis(50));
                        }
                    }
                }
            })?;
        Ok(())
    }

    fn start_link(self: Arc<Self>, stream: TcpStream, priority: Arc<ThreadPriority>) {
        if self.links.fetch_add(1, SeqCst) >= MAX_LINKS {
            self.links.fetch_sub(1, SeqCst);
            tracing::warn!("too many replication links; refusing one");
            return;
        }
        let peer = stream
            .peer_addr()
            .map_or_else(|_| "?".to_string(), |a| a.to_string());
        let spawned = std::thread::Builder::new()
            .name("replication-in".into())
            .spawn(move || {
                priority.apply();
                match self.read_link(stream) {
                    Ok(()) | Err(FrameError::Closed) => {
                        tracing::debug!(%peer, "replication link closed")
                    }
                    Err(e) => tracing::warn!(%peer, error = %e, "replication link dropped"),
                }
                self.links.fetch_sub(1, SeqCst);
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot read a replication link");
        }
    }

    /// Read one peer's link until it closes: each change is validated, then applied here if
    /// it is next in LSN order (no thread woken for it: in a one-writer cluster, every change),
    /// else queued for the applier (a full queue drops it; the applier fills the gap from the
    /// page store).
    fn read_link(&self, stream: TcpStream) -> Result<(), FrameError> {
        stream.set_nodelay(true)?;
        let mut read = frame::accept_link(&stream, &REPLICATION_MAGIC, "replication", READ_BUFFER)?;
        let mut payload = Vec::new();
        // One iteration per change; ends when the peer closes the link or sends garbage.
        loop {
            let (_, wire) = frame::read_blocking::<Change>(&mut read, &mut payload)?;
            let (change, acked) = borealis_rpc::change_from_wire(wire, self.page_size)
                .map_err(|e| FrameError::Io(std::io::Error::other(e.to_string())))?;
            self.counters.received.fetch_add(1, Relaxed);
            if change.lsn == self.engine.applied_lsn() + 1 {
                match self.engine.apply_if_next(&change, &HashMap::new()) {
                    Ok(true) => {
                        self.counters.applied_pushed.fetch_add(1, Relaxed);
                        record_lag(&self.counters, &self.on_lag, acked, crate::unix_micros());
                        continue;
                    }
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(lsn = change.lsn, error = %e, "could not apply a pushed change");
                        continue;
                    }
                }
            }
            let received = Received {
                change,
                acked,
                images: OwnImages::default(),
            };
            match self.queue.try_send(received) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    self.counters.receive_dropped.fetch_add(1, Relaxed);
                }
                // The applier is gone: the instance is shutting down.
                Err(TrySendError::Disconnected(_)) => return Ok(()),
            }
        }
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
