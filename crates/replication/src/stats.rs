//! Replication counters, exposed as status variables and metrics by the instance.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Live counters (lock-free).
#[derive(Default)]
pub struct Counters {
    pub pushed: AtomicU64,
    pub push_dropped: AtomicU64,
    pub push_failed: AtomicU64,
    pub received: AtomicU64,
    pub receive_dropped: AtomicU64,
    pub applied_pushed: AtomicU64,
    pub applied_fetched: AtomicU64,
    pub resyncs: AtomicU64,
    pub last_lag_us: AtomicU64,
}

/// A snapshot of the counters.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReplicationStats {
    /// Changes sent or queued to a peer (one per peer per commit).
    pub pushed: u64,
    /// Changes not sent because a peer's link was down or its overflow full (that peer
    /// catches up from the store).
    pub push_dropped: u64,
    /// Replication links to peers that broke (peer down or restarted).
    pub push_failed: u64,
    /// Changes received from peers.
    pub received: u64,
    /// Received changes dropped because the apply queue was full.
    pub receive_dropped: u64,
    /// Changes applied as pushed by their committer.
    pub applied_pushed: u64,
    /// Changes fetched from the page store to fill a gap.
    pub applied_fetched: u64,
    /// Times the instance fell so far behind it resynchronised with the store.
    pub resyncs: u64,
    /// Lag of the last pushed change applied: acknowledged on its committer → applied here.
    pub last_lag_us: u64,
    /// Peers this instance pushes to.
    pub peers: u64,
    /// Nice levels by which the system threads outrank the sessions' threads.
    pub priority_boost: u64,
}

impl Counters {
    pub fn snapshot(&self, peers: usize, priority_boost: u64) -> ReplicationStats {
        ReplicationStats {
            pushed: self.pushed.load(Relaxed),
            push_dropped: self.push_dropped.load(Relaxed),
            push_failed: self.push_failed.load(Relaxed),
            received: self.received.load(Relaxed),
            receive_dropped: self.receive_dropped.load(Relaxed),
            applied_pushed: self.applied_pushed.load(Relaxed),
            applied_fetched: self.applied_fetched.load(Relaxed),
            resyncs: self.resyncs.load(Relaxed),
            last_lag_us: self.last_lag_us.load(Relaxed),
            peers: peers as u64,
            priority_boost,
        }
    }
}
