//! The engine: one buffer pool, one VFS registration and the sessions opened on them.

use crate::config::EngineConfig;
use crate::error::EngineError;
use crate::pool::{BufferPool, PoolStats};
use crate::session::EngineSession;
use crate::vfs::VfsRegistration;
use borealis_pagestore::{CommittedChange, Lsn, PageNo, PageStore};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a commit waits for earlier LSNs to be applied before fetching them from the store.
const APPLY_WAIT: Duration = Duration::from_secs(2);

/// Counters exposed by [`Engine::stats`].
#[derive(Clone, Copy, Debug, Default)]
pub struct EngineStats {
    /// Page reads served by the buffer pool.
    pub pool_hits: u64,
    /// Page reads the pool could not serve (read from the store).
    pub pool_misses: u64,
    /// Images evicted from the pool.
    pub pool_evictions: u64,
    /// Bytes of page images held by the pool.
    pub pool_bytes: u64,
    /// The pool's bound in bytes.
    pub pool_capacity_bytes: u64,
    /// Commits made by this engine's sessions.
    pub commits: u64,
    /// Commits of this engine's sessions that lost first-committer-wins.
    pub conflicts: u64,
    /// Page deltas committed by this engine's sessions.
    pub pages_written: u64,
}

/// State shared by the engine, its VFS and every session file.
pub(crate) struct EngineCore {
    pub store: Arc<dyn PageStore>,
    pub cfg: EngineConfig,
    pub pool: BufferPool,
    pub zero_page: Arc<[u8]>,
    pub commits: AtomicU64,
    pub conflicts: AtomicU64,
    pub pages_written: AtomicU64,
}

impl EngineCore {
    /// Apply a committed change to the pool in LSN order. If an earlier LSN does not arrive in
    /// time, fetch the missing changes from the store's change feed.
    pub fn apply(
        &self,
        change: &CommittedChange,
        images: &HashMap<PageNo, Arc<[u8]>>,
    ) -> Result<(), EngineError> {
        let Err(gap) = self.pool.apply(change, images, APPLY_WAIT) else {
            return Ok(());
        };
        tracing::warn!(
            lsn = change.lsn,
            missing = gap.missing,
            "catching up from the change feed"
        );
        let mut feed = self.store.subscribe(gap.missing - 1)?;
        // Bounded: one iteration per missing LSN, each waiting at most APPLY_WAIT.
        for _ in gap.missing..change.lsn {
            if self.pool.applied().0 + 1 >= change.lsn {
                break;
            }
            match feed.next_change(APPLY_WAIT)? {
                Some(earlier) if earlier.lsn < change.lsn => {
                    self.pool
                        .apply(&earlier, &HashMap::new(), Duration::ZERO)
                        .map_err(|g| EngineError::ApplyGap {
                            lsn: earlier.lsn,
                            missing: g.missing,
                        })?;
                }
                _ => break,
            }
        }
        self.pool
            .apply(change, images, Duration::ZERO)
            .map_err(|g| EngineError::ApplyGap {
                lsn: change.lsn,
                missing: g.missing,
            })
    }
}

/// SQLite on the page store: a shared buffer pool, and one private view per session.
pub struct Engine {
    core: Arc<EngineCore>,
    vfs: VfsRegistration,
}

impl Engine {
    /// An engine over `store`, starting at the store's latest LSN. Registers a VFS of its own.
    pub fn new(store: Arc<dyn PageStore>, cfg: EngineConfig) -> Result<Arc<Engine>, EngineError> {
        if cfg.page_size != store.page_size() {
            return Err(EngineError::Config(format!(
                "page size {} differs from the store's {}",
                cfg.page_size,
                store.page_size()
            )));
        }
        if !(512..=65536).contains(&cfg.page_size) || !cfg.page_size.is_power_of_two() {
            return Err(EngineError::Config(format!(
                "page size {} is not one SQLite supports",
                cfg.page_size
            )));
        }
        if cfg.sqlite_cache_kib <= 0 {
            return Err(EngineError::Config(
                "sqlite_cache_kib must be positive".into(),
            ));
        }
        let pin = store.pin_latest();
        let latest = pin.lsn();
        let db_pages = store.db_pages(latest)?;
        drop(pin);
        let core = Arc::new(EngineCore {
            pool: BufferPool::new(cfg.page_size, cfg.buffer_pool_bytes, latest, db_pages),
            zero_page: Arc::from(vec![0u8; cfg.page_size]),
            store,
            cfg,
            commits: AtomicU64::new(0),
            conflicts: AtomicU64::new(0),
            pages_written: AtomicU64::new(0),
        });
        let vfs = VfsRegistration::register(core.clone())?;
        Ok(Arc::new(Engine { core, vfs }))
    }

    /// Open a session: its own SQLite connection on this engine's VFS.
    pub fn open_session(self: &Arc<Self>) -> Result<EngineSession, EngineError> {
        EngineSession::open(self.clone(), &self.vfs)
    }

    /// Newest LSN applied to the buffer pool; new snapshots are taken here.
    pub fn applied_lsn(&self) -> Lsn {
        self.core.pool.applied().0
    }

    /// Apply a change committed elsewhere (replication). Changes at or below
    /// [`Engine::applied_lsn`] are ignored; a later one waits for the ones before it.
    pub fn apply_change(&self, change: &CommittedChange) -> Result<(), EngineError> {
        let page_size = self.core.cfg.page_size;
        for delta in change.deltas.iter() {
            let fits = delta
                .ranges
                .iter()
                .all(|r| r.offset as usize + r.bytes.len() <= page_size);
            if delta.page_no == 0 || delta.page_no > change.db_pages || !fits {
                return Err(EngineError::InvalidChange {
                    lsn: change.lsn,
                    reason: format!("delta for page {} does not fit the database", delta.page_no),
                });
            }
        }
        self.core.apply(change, &HashMap::new())
    }

    /// Counters for status and metrics.
    pub fn stats(&self) -> EngineStats {
        let PoolStats {
            hits,
            misses,
            evictions,
            bytes,
            capacity_bytes,
        } = self.core.pool.stats();
        EngineStats {
            pool_hits: hits,
            pool_misses: misses,
            pool_evictions: evictions,
            pool_bytes: bytes,
            pool_capacity_bytes: capacity_bytes,
            commits: self.core.commits.load(Ordering::Relaxed),
            conflicts: self.core.conflicts.load(Ordering::Relaxed),
            pages_written: self.core.pages_written.load(Ordering::Relaxed),
        }
    }

    /// The page store this engine reads from and commits to.
    pub fn store(&self) -> &Arc<dyn PageStore> {
        &self.core.store
    }

    pub(crate) fn core(&self) -> &Arc<EngineCore> {
        &self.core
    }
}
