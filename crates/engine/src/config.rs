//! Engine configuration.

use std::time::Duration;

use borealis_pagestore::{Origin, DEFAULT_PAGE_SIZE};

/// How an [`crate::Engine`] is sized and identified.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// SQLite page size in bytes; must equal the store's page size (default 16384).
    pub page_size: usize,
    /// Bound on the shared buffer pool's page images, in bytes (default 256 MiB).
    pub buffer_pool_bytes: usize,
    /// The slot of this instance, recorded with every commit (default 1).
    pub origin: Origin,
    /// Per-connection SQLite page cache in KiB (default 512).
    pub sqlite_cache_kib: i64,
    /// How long applying a commit waits for earlier LSNs (pushed by their committers) before
    /// fetching them from the page store. On one instance every LSN is local and arrives at
    /// once; in a cluster a peer's push normally lands within a millisecond, and a short wait
    /// keeps a commit from stalling when that peer died before pushing (default 2 s).
    pub apply_wait: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            page_size: DEFAULT_PAGE_SIZE,
            buffer_pool_bytes: 256 * 1024 * 1024,
            origin: 1,
            sqlite_cache_kib: 512,
            apply_wait: Duration::from_secs(2),
        }
    }
}
