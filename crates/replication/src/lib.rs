//! All-to-all replication between the instances of a cluster.
//!
//! The instance that commits a change pushes it (its page deltas and LSN) to every peer
//! ([`outbox`]); each peer queues what it receives ([`inbox`]) and one applier thread
//! ([`applier`]) applies changes to the engine's buffer pool strictly in LSN order. Anything
//! missing — a push dropped by a full queue, a peer that died between its commit and its push,
//! a restart — is fetched from the page store, which holds every change. No queue is
//! unbounded, and a slow or dead peer never blocks a commit: pushes never wait.

mod applier;
mod inbox;
mod outbox;
mod replicator;
mod stats;

pub use replicator::{ReplicationError, Replicator, ReplicatorConfig};
pub use stats::ReplicationStats;

/// Microseconds since the Unix epoch (the stamp carried by pushed changes; the lag metric
/// compares stamps taken on the same clock on loopback, and close clocks across machines).
pub fn unix_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}
