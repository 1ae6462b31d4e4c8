//! The engine: one buffer pool, one VFS registration and the sessions opened on them.

use crate::config::EngineConfig;
use crate::error::EngineError;
use crate::header;
use crate::pool::{BufferPool, PoolStats};
use crate::session::EngineSession;
use crate::vfs::VfsRegistration;
use borealis_pagestore::{CommittedChange, Lsn, PageNo, PageStore, SnapshotPin, SubscribeError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How often the pool's own pin follows its applied LSN. It is usually the oldest pin, and a
/// store keeps in memory every version of a page above its oldest pin: at 10 ms, 10 ms of
/// commits' pages. Each move is one pin and one unpin (no round trip: the LSN only grows).
const POOL_PIN_EVERY: Duration = Duration::from_millis(10);

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
    /// Bumped whenever an applied change altered the schema cookie (DDL, from any instance).
    pub schema_generation: AtomicU64,
    /// The schema cookie as of the newest applied change that carried it.
    schema_cookie: parking_lot::Mutex<[u8; 4]>,
    /// The store hands this engine every durable commit with its images (an in-process
    /// store): sessions then need not build images of their own to apply.
    pub store_applies: bool,
    /// The pool's own snapshot pin, at most [`POOL_PIN_EVERY`] behind its applied LSN (see
    /// [`EngineCore::follow_applied`]).
    pool_pin: parking_lot::Mutex<PoolPin>,
}

/// The pin that holds the store's reclaim horizon at the buffer pool's applied LSN.
#[derive(Default)]
struct PoolPin {
    pin: Option<SnapshotPin>,
    moved: Option<Instant>,
}

impl EngineCore {
    /// Apply `change` if it is the next LSN, without waiting (see [`Engine::apply_if_next`]).
    fn apply_if_next(&self, change: &CommittedChange, images: &HashMap<PageNo, Arc<[u8]>>) -> bool {
        // The pool's pin is not moved here: that may wait for the store's lease (a network
        // call), and the callers are the threads that deliver commits and pushes. The applier
        // moves it ([`Engine::follow_applied`]).
        match self.pool.apply(change, images, Duration::ZERO) {
            Ok(true) => {
                self.note_schema(change);
                true
            }
            Ok(false) | Err(_) => false,
        }
    }

    /// Apply a committed change to the pool in LSN order. If an earlier LSN does not arrive in
    /// time, fetch the missing changes from the store's change feed.
    pub fn apply(
        &self,
        change: &CommittedChange,
        images: &HashMap<PageNo, Arc<[u8]>>,
    ) -> Result<(), EngineError> {
        let applied = self.apply_in_order(change, images);
        self.follow_applied();
        applied
    }

    /// [`EngineCore::apply`] without moving the pool's pin.
    fn apply_in_order(
        &self,
        change: &CommittedChange,
        images: &HashMap<PageNo, Arc<[u8]>>,
    ) -> Result<(), EngineError> {
        let wait = self.cfg.apply_wait;
        let gap = match self.pool.apply(change, images, wait) {
            Ok(applied_now) => {
                if applied_now {
                    self.note_schema(change);
                }
                return Ok(());
            }
            Err(gap) => gap,
        };
        tracing::warn!(
            lsn = change.lsn,
            missing = gap.missing,
            "catching up from the change feed"
        );
        let mut feed = match self.store.subscribe(gap.missing - 1) {
            Err(SubscribeError::Lagged { .. }) => return self.resync(),
            other => other?,
        };
        // Bounded: one iteration per missing LSN, each waiting at most `apply_wait`.
        for _ in gap.missing..change.lsn {
            if self.pool.applied().0 + 1 >= change.lsn {
                break;
            }
            match feed.next_change(wait)? {
                Some(earlier) if earlier.lsn < change.lsn => {
                    let applied_now = self
                        .pool
                        .apply(&earlier, &HashMap::new(), Duration::ZERO)
                        .map_err(|g| EngineError::ApplyGap {
                            lsn: earlier.lsn,
                            missing: g.missing,
                        })?;
                    if applied_now {
                        self.note_schema(&earlier);
                    }
                }
                _ => break,
            }
        }
        let applied_now = self
            .pool
            .apply(change, images, Duration::ZERO)
            .map_err(|g| EngineError::ApplyGap {
                lsn: change.lsn,
                missing: g.missing,
            })?;
        if applied_now {
            self.note_schema(change);
        }
        Ok(())
    }

    /// Apply a durable commit handed over by the store's flusher, with its page images (in
    /// delta order). Never waits: a change that does not follow the applied LSN is left to
    /// its committer, or to the catch-up from the feed.
    fn apply_durable(&self, change: &CommittedChange, images: &[Arc<[u8]>]) {
        let images: HashMap<PageNo, Arc<[u8]>> = change
            .deltas
            .iter()
            .map(|d| d.page_no)
            .zip(images.iter().cloned())
            .collect();
        if let Ok(true) = self.pool.apply(change, &images, Duration::ZERO) {
            self.note_schema(change);
        }
        self.follow_applied();
    }

    /// Move the pool's pin up to its applied LSN, at most every [`POOL_PIN_EVERY`].
    ///
    /// New snapshots are taken at the applied LSN, so it is the oldest LSN this engine may
    /// still ask the store for; the pin tells the store so. Without it an engine whose
    /// sessions are idle (an instance that only applies its peers' commits) pinned nothing,
    /// and a remote store kept its lease at the last LSN a session had pinned: every version
    /// since was retained, and the storage process grew by every page image written.
    fn follow_applied(&self) {
        // Another thread moving it now is as good.
        let Some(mut slot) = self.pool_pin.try_lock() else {
            return;
        };
        if slot.moved.is_some_and(|t| t.elapsed() < POOL_PIN_EVERY) {
            return;
        }
        slot.moved = Some(Instant::now());
        let applied = self.pool.applied().0;
        if slot.pin.as_ref().is_some_and(|p| p.lsn() >= applied) {
            return;
        }
        match self.store.pin(applied) {
            // The old pin is released only now, after the new one holds the horizon.
            Ok(pin) => slot.pin = Some(pin),
            Err(e) => tracing::debug!(applied, error = %e, "cannot move the pool's pin"),
        }
    }

    /// Bump the schema generation when `change` wrote a new schema cookie. A delta range may
    /// cover only part of the cookie (only its changed bytes), so the cookie is updated byte by
    /// byte from every range that overlaps it.
    fn note_schema(&self, change: &CommittedChange) {
        let Some(page1) = change.deltas.iter().find(|d| d.page_no == 1) else {
            return;
        };
        let cookie = header::SCHEMA_COOKIE;
        let mut current = self.schema_cookie.lock();
        let mut new = *current;
        for range in &page1.ranges {
            let start = range.offset as usize;
            for (i, byte) in range.bytes.iter().enumerate() {
                if cookie.contains(&(start + i)) {
                    new[start + i - cookie.start] = *byte;
                }
            }
        }
        if *current != new {
            *current = new;
            self.schema_generation.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Forget the gap: this engine fell so far behind that the store no longer holds the
    /// changes it missed. Cached images stop being current at the old applied LSN, and the
    /// engine continues at the store's latest LSN (reading changed pages afresh).
    pub(crate) fn resync(&self) -> Result<(), EngineError> {
        let pin = self.store.pin_latest();
        let latest = pin.lsn();
        let db_pages = self.store.db_pages(latest)?;
        tracing::warn!(
            latest,
            "resynchronising the buffer pool with the page store"
        );
        self.pool.resync(latest, db_pages);
        // The schema may have changed in the gap.
        self.schema_generation.fetch_add(1, Ordering::AcqRel);
        self.pool_pin.lock().moved = None;
        self.follow_applied();
        Ok(())
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
        // Registered before the start LSN is read, so that no later commit is missed; commits
        // the listener sees before the engine exists are at or below that LSN.
        let listening: Arc<OnceLock<std::sync::Weak<EngineCore>>> = Arc::new(OnceLock::new());
        let store_applies = {
            let listening = Arc::clone(&listening);
            store.add_durable_listener(Box::new(move |change, images| {
                let Some(core) = listening.get() else {
                    return true; // the engine is being created
                };
                let Some(core) = core.upgrade() else {
                    return false; // the engine is gone
                };
                core.apply_durable(change, images);
                true
            }))
        };
        let pin = store.pin_latest();
        let latest = pin.lsn();
        let db_pages = store.db_pages(latest)?;
        // The schema cookie as of the start, so later partial deltas of it compare right.
        let mut cookie = [0u8; 4];
        if db_pages >= 1 {
            let page1 = store.read_page(1, latest)?;
            if let Some(bytes) = page1.data.get(header::SCHEMA_COOKIE) {
                cookie.copy_from_slice(bytes);
            }
        }
        drop(pin);
        let core = Arc::new(EngineCore {
            pool: BufferPool::new(cfg.page_size, cfg.buffer_pool_bytes, latest, db_pages),
            zero_page: Arc::from(vec![0u8; cfg.page_size]),
            store,
            cfg,
            commits: AtomicU64::new(0),
            conflicts: AtomicU64::new(0),
            pages_written: AtomicU64::new(0),
            schema_generation: AtomicU64::new(0),
            schema_cookie: parking_lot::Mutex::new(cookie),
            store_applies,
            pool_pin: parking_lot::Mutex::new(PoolPin::default()),
        });
        // Set once, just created: cannot already be set.
        let _ = listening.set(Arc::downgrade(&core));
        core.follow_applied();
        let vfs = VfsRegistration::register(core.clone())?;
        let engine = Arc::new(Engine { core, vfs });
        // Commits flushed between reading the start LSN and setting the listener's engine
        // were not applied by it: catch up with them from the store's feed.
        if engine.core.store.latest_lsn() > latest {
            engine.catch_up_with_store(Duration::ZERO)?;
        }
        Ok(engine)
    }

    /// Open a session: its own SQLite connection on this engine's VFS.
    pub fn open_session(self: &Arc<Self>) -> Result<EngineSession, EngineError> {
        EngineSession::open(self.clone(), &self.vfs)
    }

    /// Move the buffer pool's pin up to its applied LSN (at most every 10 ms; it may wait for
    /// the store's lease): for threads that apply changes with [`Engine::apply_if_next`],
    /// which leaves the pin where it is.
    pub fn follow_applied(&self) {
        self.core.follow_applied();
    }

    /// The page size of the database (and of its store).
    pub fn page_size(&self) -> usize {
        self.core.cfg.page_size
    }

    /// Newest LSN applied to the buffer pool; new snapshots are taken here.
    pub fn applied_lsn(&self) -> Lsn {
        self.core.pool.applied().0
    }

    /// Wait until `lsn` is applied to the buffer pool, at most `timeout`; true if it is.
    pub fn wait_applied(&self, lsn: Lsn, timeout: Duration) -> bool {
        self.core.pool.wait_applied(lsn, timeout)
    }

    /// Apply every change up to the store's latest LSN (global read-after-write): wait briefly
    /// for pushes in flight, then fetch what is still missing from the store. Returns the LSN
    /// caught up to.
    pub fn catch_up_with_store(&self, push_wait: Duration) -> Result<Lsn, EngineError> {
        let target = self.core.store.latest_lsn();
        if self.wait_applied(target, push_wait) {
            return Ok(target);
        }
        let mut feed = match self.core.store.subscribe(self.applied_lsn()) {
            Err(SubscribeError::Lagged { .. }) => {
                self.core.resync()?;
                return Ok(self.applied_lsn());
            }
            other => other?,
        };
        // Bounded: one change per missing LSN; each wait is at most `apply_wait`.
        while self.applied_lsn() < target {
            match feed.next_change(self.core.cfg.apply_wait)? {
                Some(change) => self.apply_change(&change)?,
                None => {
                    return Err(EngineError::ApplyGap {
                        lsn: target,
                        missing: self.applied_lsn() + 1,
                    })
                }
            }
        }
        Ok(target)
    }

    /// Apply a change committed elsewhere (replication). Changes at or below
    /// [`Engine::applied_lsn`] are ignored; a later one waits for the ones before it.
    pub fn apply_change(&self, change: &CommittedChange) -> Result<(), EngineError> {
        self.apply_change_with_images(change, &HashMap::new())
    }

    /// [`Engine::apply_change`] of this instance's own commit, with its committing session's
    /// new images of the pages it wrote (those the store did not merge): kept as they are,
    /// instead of each built as a copy of the previous image with the delta applied.
    pub fn apply_change_with_images(
        &self,
        change: &CommittedChange,
        images: &HashMap<PageNo, Arc<[u8]>>,
    ) -> Result<(), EngineError> {
        self.check_fits(change)?;
        self.core.apply(change, images)
    }

    /// Apply `change` (with its committer's images, for our own commit) only if it is the next
    /// LSN to apply, without waiting: true if it was applied now. False if it was applied
    /// already or an earlier LSN is missing; the applier then deals with it in order. Lets the
    /// thread that receives a change apply it itself when it can, instead of waking the
    /// applier thread for it.
    pub fn apply_if_next(
        &self,
        change: &CommittedChange,
        images: &HashMap<PageNo, Arc<[u8]>>,
    ) -> Result<bool, EngineError> {
        self.check_fits(change)?;
        Ok(self.core.apply_if_next(change, images))
    }

    /// A change whose deltas do not fit the database is refused before anything is applied.
    fn check_fits(&self, change: &CommittedChange) -> Result<(), EngineError> {
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
        Ok(())
    }

    /// Changes with every applied schema change (DDL from any instance): caches of table
    /// metadata keyed by it stay right when another instance alters the schema.
    pub fn schema_generation(&self) -> u64 {
        self.core.schema_generation.load(Ordering::Acquire)
    }

    /// Catch up with the store's latest LSN when the changes in between are no longer
    /// available one by one (see `EngineCore::resync`).
    pub fn resync(&self) -> Result<(), EngineError> {
        self.core.resync()
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
