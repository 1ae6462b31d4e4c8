//! `LocalPageStore`: the page store in-process, over a directory on local disk.
//!
//! Layout: `pages.redb` (base images at the last checkpoint, see [`crate::base`]) and `log/`
//! (commit-log segments, see [`crate::log`]). Page versions written after the checkpoint live in
//! memory and are rebuilt from the log on open.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::api::*;
use crate::base::BaseStore;
use crate::delta;
use crate::durability::Durability;
use crate::error::StoreError;
use crate::feed::Feed;
use crate::leaf_merge::Refusal;
use crate::log::{self, LogWriter};
use crate::options::StoreOptions;
use crate::pins::Pins;
use crate::record;
use crate::versions::{Lookup, Versions};

/// Validation state and page versions, guarded by one mutex.
pub(crate) struct State {
    /// The newest LSN assigned (durable or not).
    pub(crate) last_lsn: Lsn,
    /// Per page, the last commit that wrote it after the checkpoint. A page that is absent was
    /// last written at or before the checkpoint, which is ≤ every valid snapshot.
    /// Looked up for every page of every commit under the commit lock: foldhash, not SipHash.
    pub(crate) last_write: HashMap<PageNo, (Lsn, Origin), foldhash::fast::RandomState>,
    /// The last commit that changed the schema cookie after the checkpoint.
    pub(crate) schema: Option<(Lsn, Origin)>,
    /// Page 1's header byte 20 after the newest commit: the bytes reserved at the end of each
    /// page, which decide whether a leaf may be merged. Kept here because page 1 is often not
    /// in memory: reading it from the base for every merge was ~4 % of oltp_update_index's
    /// CPU.
    pub(crate) reserved_bytes: u8,
    pub(crate) versions: Versions,
}

/// Encoded records waiting for the flusher.
pub(crate) struct Pending {
    pub(crate) buf: Vec<u8>,
    pub(crate) changes: Vec<CommittedChange>,
    /// Per change, the page image after it of each delta (for the durable listeners).
    pub(crate) images: Vec<Vec<Arc<[u8]>>>,
    pub(crate) last_lsn: Lsn,
    pub(crate) shutdown: bool,
}

/// A validated commit: nothing to write (already visible), or appended and waiting for the
/// fsync that makes it durable.
enum Begun {
    Done(CommitReceipt),
    Appended(CommitReceipt),
}

/// Counters for [`StoreStats`].
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) commits: AtomicU64,
    pub(crate) conflicts: AtomicU64,
    pub(crate) merges: AtomicU64,
    /// Indexed by `Refusal::index`.
    pub(crate) merge_refusals: [AtomicU64; Refusal::COUNT],
    pub(crate) fsyncs: AtomicU64,
    pub(crate) checkpoints: AtomicU64,
    pub(crate) log_bytes_since_checkpoint: AtomicU64,
    /// Page versions held in memory (a mirror of `Versions::retained`, read without the lock).
    pub(crate) retained_versions: AtomicU64,
    /// The oldest LSN at the flusher's last pass dropping unseen versions (`group_commit`).
    pub(crate) collapsed_at: AtomicU64,
}

/// Attempts at a commit whose merges and page images are built with the state lock released
/// (see `prepare`); an attempt is repeated when a newer commit wrote one of its pages
/// meanwhile. The last attempt keeps the lock throughout, so a commit whose pages are written
/// over and over still completes.
const UNLOCKED_BUILD_ATTEMPTS: u32 = 3;

/// Everything the store and its background threads share.
pub(crate) struct Inner {
    pub(crate) opts: StoreOptions,
    pub(crate) page_size: usize,
    pub(crate) zero_page: Arc<[u8]>,
    pub(crate) base: BaseStore,
    pub(crate) state: Mutex<State>,
    pub(crate) pending: Mutex<Pending>,
    /// Signalled when records are pending (the flusher waits on it).
    pub(crate) work_cv: Condvar,
    /// Signalled when the flusher took the pending buffer (backpressured commits wait on it).
    pub(crate) room_cv: Condvar,
    /// The durable LSN, a failure of the log, and the committers waiting.
    pub(crate) durable: Durability,
    /// Mirror of the pins' floor: the oldest retained LSN.
    pub(crate) oldest_lsn: AtomicU64,
    pub(crate) checkpoint_lsn: AtomicU64,
    pub(crate) log: Mutex<LogWriter>,
    pub(crate) pins: Mutex<Pins>,
    pub(crate) feed: Arc<Feed>,
    /// Serialises checkpoints.
    pub(crate) checkpoint_lock: Mutex<()>,
    /// Set to ask the checkpoint thread for a checkpoint now.
    pub(crate) checkpoint_wake: Mutex<bool>,
    pub(crate) checkpoint_cv: Condvar,
    pub(crate) shutdown: AtomicBool,
    /// Called by the flusher with every durable commit (see [`DurableListener`]).
    pub(crate) durable_listeners: Mutex<Vec<DurableListener>>,
    /// Commits between validation start and their record joining the pending buffer: the
    /// flusher waits a little for them (see `group_commit`).
    pub(crate) committing: AtomicU64,
    pub(crate) counters: Counters,
}

/// The page store over a local directory. See the crate docs.
/// What [`LocalPageStore::commit_merging_then`] calls with a commit's result.
pub type CommitDone = Box<dyn FnOnce(Result<CommitReceipt, CommitError>) + Send>;

pub struct LocalPageStore {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl LocalPageStore {
    /// Open (or create) the store in `dir` and recover it from its log.
    ///
    /// `opts.page_size` applies only when the store is created; on reopen the stored page size
    /// wins (see [`PageStore::page_size`]).
    pub fn open(dir: &Path, opts: StoreOptions) -> Result<Arc<LocalPageStore>, StoreError> {
        if opts.page_size < 512 || opts.page_size > 65536 || !opts.page_size.is_power_of_two() {
            return Err(StoreError::Config(format!(
                "page size {} is not a power of two in 512..=65536",
                opts.page_size
            )));
        }
        if opts.checkpoint_interval.is_zero() {
            return Err(StoreError::Config(
                "checkpoint_interval must be positive".to_string(),
            ));
        }
        if opts.feed_capacity == 0 {
            return Err(StoreError::Config(
                "feed_capacity must be positive".to_string(),
            ));
        }
        let log_dir = dir.join("log");
        std::fs::create_dir_all(&log_dir)
            .map_err(|e| StoreError::io(format!("creating {}", log_dir.display()), e))?;
        let (base, meta) = BaseStore::open(
            &dir.join("pages.redb"),
            opts.page_size,
            opts.base_cache_bytes,
        )?;
        if meta.page_size != opts.page_size {
            tracing::info!(
                stored = meta.page_size,
                requested = opts.page_size,
                "using the stored page size"
            );
        }
        let page_one = base.read(1).map_err(|e| match e {
            ReadError::Io(source) => StoreError::io("reading page 1 of the base", source),
            other => StoreError::Corrupt(format!("page 1 of the base: {other}")),
        })?;
        // No page 1 yet: an empty database, whose first commit writes it.
        let reserved_bytes = page_one.map_or(0, |(_, image)| reserved_bytes_of(&image));
        let recovered = log::recover(&log_dir, meta.checkpoint_lsn)?;
        if recovered.truncated_bytes > 0 {
            tracing::warn!(
                bytes = recovered.truncated_bytes,
                "discarded a torn log tail"
            );
        }
        let writer = LogWriter::open(
            &log_dir,
            recovered.next_lsn,
            recovered.last_segment_end,
            opts.fsync,
        )?;
        let latest = recovered.next_lsn - 1;
        let inner = Arc::new(Inner {
            page_size: meta.page_size,
            zero_page: Arc::from(vec![0u8; meta.page_size]),
            base,
            state: Mutex::new(State {
                last_lsn: meta.checkpoint_lsn,
                last_write: HashMap::default(),
                schema: None,
                reserved_bytes,
                versions: Versions::new(meta.db_pages),
            }),
            pending: Mutex::new(Pending {
                buf: Vec::new(),
                changes: Vec::new(),
                images: Vec::new(),
                last_lsn: latest,
                shutdown: false,
            }),
            work_cv: Condvar::new(),
            room_cv: Condvar::new(),
            durable: Durability::new(latest),
            oldest_lsn: AtomicU64::new(meta.checkpoint_lsn),
            checkpoint_lsn: AtomicU64::new(meta.checkpoint_lsn),
            log: Mutex::new(writer),
            pins: Mutex::new(Pins::new(meta.checkpoint_lsn)),
            feed: Feed::new(opts.feed_capacity, latest + 1),
            checkpoint_lock: Mutex::new(()),
            checkpoint_wake: Mutex::new(false),
            checkpoint_cv: Condvar::new(),
            shutdown: AtomicBool::new(false),
            durable_listeners: Mutex::new(Vec::new()),
            committing: AtomicU64::new(0),
            counters: Counters::default(),
            opts,
        });
        inner.replay(&recovered.changes)?;
        let threads = vec![
            spawn("pagestore-flusher", Arc::clone(&inner), |i| i.run_flusher())?,
            spawn("pagestore-checkpoint", Arc::clone(&inner), |i| {
                i.run_checkpointer()
            })?,
        ];
        Ok(Arc::new(LocalPageStore {
            inner,
            threads: Mutex::new(threads),
        }))
    }

    /// [`PageStore::commit_merging`] that hands its result to `done` instead of returning it:
    /// the validation runs on the calling thread (it may wait briefly for the store's locks,
    /// or for room in the log buffer), and `done` runs there too for a commit that needs no
    /// fsync or is refused — otherwise on the flusher's thread right after the fsync, where it
    /// must be quick and never block. The page service's commit links commit this way: their
    /// replies go out without a thread woken to send them.
    pub fn commit_merging_then(&self, ws: WriteSet, done: CommitDone) {
        let appended = match self.inner.begin_commit(ws, &[]) {
            Ok(Begun::Appended(receipt)) => receipt,
            Ok(Begun::Done(receipt)) => return done(Ok(receipt)),
            Err(e) => return done(Err(e)),
        };
        let inner = Arc::clone(&self.inner);
        let lsn = appended.lsn;
        self.inner.durable.when_durable(
            lsn,
            Box::new(move |durable| match durable {
                Ok(()) => {
                    inner.counters.commits.fetch_add(1, Ordering::Relaxed);
                    done(Ok(appended))
                }
                Err(msg) => done(Err(CommitError::LogFailed(msg))),
            }),
        );
    }

    /// Stop the background threads (pending commits are flushed first). Later commits fail
    /// with `LogFailed`, subscriptions end with `Closed`; reads keep working. Idempotent.
    pub fn close(&self) {
        self.inner.shutdown.store(true, Ordering::SeqCst);
        self.inner.pending.lock().shutdown = true;
        self.inner.work_cv.notify_all();
        self.inner.room_cv.notify_all();
        *self.inner.checkpoint_wake.lock() = true;
        self.inner.checkpoint_cv.notify_all();
        let threads: Vec<_> = self.threads.lock().drain(..).collect();
        for t in threads {
            if t.join().is_err() {
                tracing::error!("a page store background thread panicked");
            }
        }
        self.inner.durable.fail("page store closed".to_string());
        self.inner.feed.close();
    }

    /// Run a checkpoint now (tests and tools); the background thread also runs them.
    pub fn checkpoint_now(&self) -> Result<(), StoreError> {
        self.inner.checkpoint()
    }
}

impl LocalPageStore {
    /// Fault injection for tests: make every later log write fail as if the disk were full.
    #[doc(hidden)]
    pub fn inject_log_write_failure(&self) {
        self.inner.log.lock().fail_appends();
    }
}

impl Drop for LocalPageStore {
    fn drop(&mut self) {
        self.close();
    }
}

/// Counts a commit as about to join the pending buffer until dropped (also on every early
/// return: a conflict, a closed store).
struct Joining<'a>(&'a AtomicU64);

impl<'a> Joining<'a> {
    fn new(count: &'a AtomicU64) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Joining(count)
    }
}

impl Drop for Joining<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn spawn(name: &str, inner: Arc<Inner>, body: fn(&Inner)) -> Result<JoinHandle<()>, StoreError> {
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || body(&inner))
        .map_err(|e| StoreError::io(format!("starting thread {name}"), e))
}

impl Inner {
    /// Record a commit in the in-memory state (versions, conflicts, size). The versions of its
    /// pages that no snapshot at or above the oldest LSN reads are dropped.
    pub(crate) fn apply(
        &self,
        st: &mut State,
        change: &CommittedChange,
        images: Vec<Arc<[u8]>>,
        schema_changed: bool,
    ) {
        assert_eq!(
            change.lsn,
            st.last_lsn + 1,
            "commits are applied in LSN order"
        );
        st.last_lsn = change.lsn;
        let horizon = self.oldest_lsn.load(Ordering::SeqCst);
        let zero = &self.zero_page;
        let writer = (change.lsn, change.origin);
        for (d, image) in change.deltas.iter().zip(images) {
            if d.page_no == 1 {
                st.reserved_bytes = reserved_bytes_of(&image);
            }
            st.versions.push(d.page_no, change.lsn, image, horizon);
            st.last_write.insert(d.page_no, writer);
        }
        if schema_changed {
            st.schema = Some(writer);
        }
        let old_size = st.versions.current_db_pages();
        if change.db_pages != old_size {
            st.versions
                .push_size(change.lsn, change.db_pages, change.origin);
        }
        // Truncated pages read as zeros if the database grows again, and count as written so
        // that a concurrent writer of them conflicts.
        for page_no in change.db_pages.saturating_add(1)..=old_size {
            st.versions
                .push(page_no, change.lsn, Arc::clone(zero), horizon);
            st.last_write.insert(page_no, writer);
        }
        if change.db_pages == 0 {
            st.reserved_bytes = 0;
        }
    }

    fn failure(&self) -> Option<String> {
        self.durable.failure()
    }

    /// Wait while the pending buffer is over its bound (backpressure).
    fn wait_for_room(&self) {
        let mut pending = self.pending.lock();
        // Each wake-up follows the flusher taking the buffer or shutdown; the loop ends when
        // there is room, so it is bounded by the flusher's progress.
        while pending.buf.len() > self.opts.max_pending_bytes && !pending.shutdown {
            self.room_cv.wait(&mut pending);
        }
    }

    /// Commit `ws`; `images` as in [`PageStore::commit_merging_with_images`] (or empty).
    fn commit(
        &self,
        ws: WriteSet,
        images: &[Option<Arc<[u8]>>],
    ) -> Result<CommitReceipt, CommitError> {
        match self.begin_commit(ws, images)? {
            Begun::Done(receipt) => Ok(receipt),
            Begun::Appended(receipt) => self.wait_durable(receipt.lsn).map(|_| receipt),
        }
    }

    /// Validate `ws` and append its record, without waiting for the fsync.
    fn begin_commit(
        &self,
        mut ws: WriteSet,
        images: &[Option<Arc<[u8]>>],
    ) -> Result<Begun, CommitError> {
        if let Some(msg) = self.failure() {
            return Err(CommitError::LogFailed(msg));
        }
        self.wait_for_room();
        delta::check_shape(&ws, self.page_size).map_err(CommitError::Invalid)?;
        let joining = Joining::new(&self.committing);
        let counted = |e: CommitError| {
            if matches!(e, CommitError::Conflict(_)) {
                self.counters.conflicts.fetch_add(1, Ordering::Relaxed);
            }
            e
        };
        let mut attempt = 1;
        // Bounded: the last attempt builds with the lock held, so nothing can change under it.
        let (mut st, gathered, built) = loop {
            let mut st = self.state.lock();
            let Some(gathered) = self.gather(&st, &ws).map_err(counted)? else {
                let lsn = self.durable.lsn();
                return Ok(Begun::Done(CommitReceipt {
                    lsn,
                    db_pages: st.versions.db_pages_at(lsn),
                    deltas: Arc::new(Vec::new()),
                    merged: Vec::new(),
                }));
            };
            let built = if attempt < UNLOCKED_BUILD_ATTEMPTS {
                MutexGuard::unlocked(&mut st, || self.build(&ws, &gathered, images))
            } else {
                self.build(&ws, &gathered, images)
            };
            let built = built.map_err(counted)?;
            if self.unchanged_since(&st, &ws, &gathered) {
                break (st, gathered, built);
            }
            assert!(
                attempt < UNLOCKED_BUILD_ATTEMPTS,
                "nothing changes under the lock"
            );
            attempt += 1;
        };
        // A checkpoint moves the oldest LSN without the state lock: one that passed the
        // snapshot while the build ran may have changed the base images it read.
        let oldest = self.oldest_lsn.load(Ordering::SeqCst);
        if ws.snapshot < oldest {
            return Err(CommitError::SnapshotTooOld {
                snapshot: ws.snapshot,
                oldest,
            });
        }
        let mut merged = Vec::with_capacity(built.merged.len());
        for (i, delta) in built.merged {
            merged.push(delta.page_no);
            ws.deltas[i] = delta;
        }
        self.counters
            .merges
            .fetch_add(merged.len() as u64, Ordering::Relaxed);
        let change = CommittedChange {
            lsn: st.last_lsn + 1,
            origin: ws.origin,
            db_pages: gathered.db_pages,
            deltas: Arc::new(ws.deltas),
        };
        let mut pending = self.pending.lock();
        if pending.shutdown {
            return Err(CommitError::LogFailed("page store closed".to_string()));
        }
        record::encode_into(&change, &mut pending.buf)
            .map_err(|e| CommitError::Invalid(e.to_string()))?;
        let (lsn, db_pages) = (change.lsn, change.db_pages);
        let deltas = Arc::clone(&change.deltas);
        let listener_images = built.images.clone();
        self.apply(&mut st, &change, built.images, built.schema_changed);
        self.counters
            .retained_versions
            .store(st.versions.retained(), Ordering::Relaxed);
        pending.last_lsn = lsn;
        pending.changes.push(change);
        pending.images.push(listener_images);
        drop(joining);
        drop(pending);
        drop(st);
        self.work_cv.notify_one();
        Ok(Begun::Appended(CommitReceipt {
            lsn,
            db_pages,
            deltas,
            merged,
        }))
    }

    fn wait_durable(&self, lsn: Lsn) -> Result<Lsn, CommitError> {
        // The flusher either makes `lsn` durable or records a failure; both wake us.
        self.durable.wait(lsn).map_err(CommitError::LogFailed)?;
        self.counters.commits.fetch_add(1, Ordering::Relaxed);
        Ok(lsn)
    }

    fn not_retained(&self, requested: Lsn) -> ReadError {
        ReadError::NotRetained {
            requested,
            oldest: self.oldest_lsn.load(Ordering::SeqCst),
            latest: self.durable.lsn(),
        }
    }

    fn read_page(&self, page_no: PageNo, at: Lsn) -> Result<PageVersion, ReadError> {
        let as_of = self.durable.lsn();
        if at > as_of {
            return Err(self.not_retained(at));
        }
        let lookup = {
            let st = self.state.lock();
            if at < self.oldest_lsn.load(Ordering::SeqCst) {
                return Err(self.not_retained(at));
            }
            let db_pages = st.versions.db_pages_at(at);
            if page_no == 0 || page_no > db_pages {
                return Err(ReadError::BeyondEnd {
                    page_no,
                    db_pages,
                    at,
                });
            }
            st.versions.lookup(page_no, at, as_of)
        };
        let next = match lookup {
            Lookup::Found {
                version: (lsn, data),
                next,
            } => {
                return Ok(PageVersion {
                    lsn,
                    next_lsn: next,
                    as_of,
                    data,
                });
            }
            Lookup::Base { next } => next,
        };
        let (lsn, data) = self
            .base
            .read(page_no)?
            .unwrap_or_else(|| (0, Arc::clone(&self.zero_page)));
        // A checkpoint that ran since the lookup may have moved the base past `at`.
        if lsn > at || at < self.oldest_lsn.load(Ordering::SeqCst) {
            return Err(self.not_retained(at));
        }
        Ok(PageVersion {
            lsn,
            next_lsn: next,
            as_of,
            data,
        })
    }

    fn db_pages(&self, at: Lsn) -> Result<u32, ReadError> {
        if at > self.durable.lsn() {
            return Err(self.not_retained(at));
        }
        let st = self.state.lock();
        if at < self.oldest_lsn.load(Ordering::SeqCst) {
            return Err(self.not_retained(at));
        }
        Ok(st.versions.db_pages_at(at))
    }

    fn stats(&self) -> StoreStats {
        let (retained_versions, db_pages) = {
            let st = self.state.lock();
            (
                st.versions.retained(),
                st.versions.db_pages_at(self.durable.lsn()),
            )
        };
        let c = &self.counters;
        StoreStats {
            latest_lsn: self.durable.lsn(),
            oldest_lsn: self.oldest_lsn.load(Ordering::SeqCst),
            commits: c.commits.load(Ordering::Relaxed),
            conflicts: c.conflicts.load(Ordering::Relaxed),
            fsyncs: c.fsyncs.load(Ordering::Relaxed),
            log_bytes: self.log.lock().bytes(),
            checkpoints: c.checkpoints.load(Ordering::Relaxed),
            retained_versions,
            db_pages,
            merges: c.merges.load(Ordering::Relaxed),
            merge_refusals: std::array::from_fn(|i| c.merge_refusals[i].load(Ordering::Relaxed)),
        }
    }
}

fn release_pin(inner: Weak<Inner>, lsn: Lsn) -> Box<dyn FnOnce() + Send + Sync> {
    Box::new(move || {
        if let Some(inner) = inner.upgrade() {
            inner.pins.lock().unpin(lsn);
        }
    })
}

impl PageStore for LocalPageStore {
    fn page_size(&self) -> usize {
        self.inner.page_size
    }

    fn latest_lsn(&self) -> Lsn {
        self.inner.durable.lsn()
    }

    fn db_pages(&self, at: Lsn) -> Result<u32, ReadError> {
        self.inner.db_pages(at)
    }

    fn read_page(&self, page_no: PageNo, at: Lsn) -> Result<PageVersion, ReadError> {
        self.inner.read_page(page_no, at)
    }

    /// See [`PageStore::commit`]. A write set with no deltas that keeps its snapshot's database
    /// size commits nothing: it writes no record and returns `Ok(latest_lsn())` (its locked
    /// pages are still validated). A write set that keeps its snapshot's size leaves the
    /// current size unchanged; one that changes it conflicts (on page 1) with any size change
    /// after its snapshot.
    fn commit(&self, ws: WriteSet) -> Result<Lsn, CommitError> {
        self.inner.commit(ws, &[]).map(|r| r.lsn)
    }

    /// Commits like [`PageStore::commit`]; a leaf page that a newer commit changed too is
    /// merged when the two changed different cells (see `leaf_merge`).
    fn commit_merging(&self, ws: WriteSet) -> Result<CommitReceipt, CommitError> {
        self.inner.commit(ws, &[])
    }

    /// Keeps the committer's image of each page it wrote that needed no merge as the page's
    /// new version (checked against the delta), so the page is not copied once more.
    fn commit_merging_with_images(
        &self,
        ws: WriteSet,
        images: Vec<Option<Arc<[u8]>>>,
    ) -> Result<CommitReceipt, CommitError> {
        self.inner.commit(ws, &images)
    }

    fn pin(&self, at: Lsn) -> Result<SnapshotPin, ReadError> {
        if at > self.latest_lsn() || !self.inner.pins.lock().pin(at) {
            return Err(self.inner.not_retained(at));
        }
        Ok(SnapshotPin::new(
            at,
            release_pin(Arc::downgrade(&self.inner), at),
        ))
    }

    fn pin_latest(&self) -> SnapshotPin {
        let mut pins = self.inner.pins.lock();
        let lsn = self.inner.durable.lsn();
        let pinned = pins.pin(lsn);
        assert!(pinned, "the floor never passes the latest durable LSN");
        SnapshotPin::new(lsn, release_pin(Arc::downgrade(&self.inner), lsn))
    }

    /// Changes with LSN > `after` from the in-memory feed (the newest `feed_capacity`
    /// commits since open). Catch-up from the log is future work: older requests get `Lagged`.
    fn subscribe(&self, after: Lsn) -> Result<Box<dyn Subscription>, SubscribeError> {
        self.inner.feed.subscribe(after)
    }

    fn stats(&self) -> StoreStats {
        self.inner.stats()
    }

    fn add_durable_listener(&self, listener: DurableListener) -> bool {
        self.inner.durable_listeners.lock().push(listener);
        true
    }
}

/// Byte 20 of a SQLite database header: the bytes reserved at the end of each page. A page
/// too short to hold it counts as reserving some (its leaves are never merged).
fn reserved_bytes_of(page_one: &[u8]) -> u8 {
    page_one.get(20).copied().unwrap_or(u8::MAX)
}
