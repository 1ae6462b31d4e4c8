//! Options of a local page store.

use std::time::Duration;

use crate::api::DEFAULT_PAGE_SIZE;

/// How a [`crate::LocalPageStore`] is opened.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Page size in bytes. Used only when a new store is created; on reopen the stored value wins
    /// (see [`crate::LocalPageStore::open`]).
    pub page_size: usize,
    /// Checkpoint once the log written since the last checkpoint exceeds this many bytes.
    pub checkpoint_log_bytes: u64,
    /// Checkpoint once the page versions held in memory exceed this many bytes. Each page
    /// written since the checkpoint keeps its newest version (and the versions pinned
    /// snapshots read) in memory until a checkpoint writes it to the base, so this bounds the
    /// store's memory when many distinct pages are written. 128 MiB by default: a
    /// checkpoint writes each page once however often it changed, and at 32 MiB a
    /// random-update load over 80 MB of pages checkpointed several times a second (a quarter
    /// of the page service's CPU under a one-writer oltp_read_write).
    pub checkpoint_image_bytes: u64,
    /// Checkpoint at least this often (when anything was committed).
    pub checkpoint_interval: Duration,
    /// Sync the log and base images to disk. `false` only for tests.
    pub fsync: bool,
    /// Commits kept in the in-memory change feed.
    pub feed_capacity: usize,
    /// Cache size of the base-image database (redb), in bytes.
    pub base_cache_bytes: usize,
    /// Commits wait while more than this many encoded bytes are pending for the log
    /// (backpressure).
    pub max_pending_bytes: usize,
    /// The longest the flusher waits for commits that are being validated to join its next
    /// fsync (zero: it never waits). Pays where validation runs on threads that are not
    /// preempted by the sessions (the page service: one high-priority worker validates every
    /// commit): the group grows for a few microseconds' wait. In an embedded store the sessions
    /// validate their own commits on 2 cores shared with their SQL work; waiting for a
    /// preempted one left the CPU idle (oltp_insert and oltp_update_index 5-15 % faster at
    /// zero, see BENCHMARKS.md).
    pub gather_wait: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            page_size: DEFAULT_PAGE_SIZE,
            checkpoint_log_bytes: 64 << 20,
            checkpoint_image_bytes: 128 << 20,
            checkpoint_interval: Duration::from_secs(5),
            fsync: true,
            feed_capacity: 16384,
            base_cache_bytes: 64 << 20,
            max_pending_bytes: 64 << 20,
            gather_wait: Duration::from_micros(200),
        }
    }
}
