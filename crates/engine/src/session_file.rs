//! One session's view of the database file: a pinned snapshot, private dirty pages, and the
//! commit that publishes them. The VFS callbacks are thin wrappers over this type.

use crate::btree;
use crate::delta::page_delta;
use crate::engine::EngineCore;
use crate::error::EngineError;
use crate::header;
use borealis_pagestore::{
    spare_images, CommitError, Conflict, ConflictReason, Lsn, PageNo, ReadError, SnapshotPin,
    WriteSet,
};
use parking_lot::Mutex;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// SQLite lock levels (sqlite3.h `SQLITE_LOCK_*`).
pub const LOCK_NONE: i32 = 0;

/// Pages SQLite may read in place (xFetch) and not yet release (xUnfetch) at once: each
/// b-tree cursor holds a page per level, so a handful of cursors needs a few dozen. Beyond the
/// bound a fetch is declined and SQLite reads the page into its cache instead.
const MAX_FETCHED: usize = 256;

/// Snapshot images a transaction keeps, so that the pages it reads again and again (every
/// statement starts at a root page; a write transaction reads, writes and then searches the
/// same pages) are found without the pool's lock. The pool usually holds the same images, and
/// they are dropped when SQLite unlocks or the snapshot moves.
const FETCH_CACHE_PAGES: usize = 64;

/// Tries to pin a snapshot at the pool's applied LSN before giving up (`take_snapshot`).
const SNAPSHOT_ATTEMPTS: u32 = 3;

/// The snapshot a session reads at while it holds at least a SHARED lock.
struct Snapshot {
    lsn: Lsn,
    /// Database size in pages at `lsn`.
    db_pages: u32,
    _pin: SnapshotPin,
}

/// A page the session wrote: its image at the snapshot and its private new image.
struct DirtyPage {
    /// `None`: the page did not exist at the snapshot (zeros).
    base: Option<Arc<[u8]>>,
    /// Shared only from the commit on (the store may keep it as the page's new version);
    /// written through [`DirtyPage::image_mut`] before.
    image: Arc<[u8]>,
}

#[derive(Default)]
struct FileState {
    lock: i32,
    snapshot: Option<Snapshot>,
    dirty: BTreeMap<PageNo, DirtyPage>,
    /// Private database size in pages.
    size_pages: u32,
    /// Lowest size since the snapshot: pages above it that are not dirty read as zeros.
    low_water: u32,
    /// Pages read since the snapshot LSN last changed: a superset of what SQLite may have
    /// cached (its cache is dropped whenever the served change counter changes).
    read_pages: HashSet<PageNo>,
    /// The b-tree interior pages among `read_pages`. A transaction that extends a table leaf's
    /// rowid range locks them: an append to a leaf is only right while the parent's divider keys
    /// are as read (a concurrent split can leave the leaf unchanged and move its key range in
    /// the parent alone). Every commit sends them as guard pages (see `WriteSet::guard_pages`).
    interior_pages: HashSet<PageNo>,
    read_set_lsn: Option<Lsn>,
    locked_pages: BTreeSet<PageNo>,
    /// A commit was made and SQLite may still hold its lock: its page cache is as of the old
    /// snapshot plus our writes (and our own image of a page the store merged), so writing on
    /// from it could undo other commits. Cleared when SQLite next takes a lock (it then re-reads
    /// the change counter, which differs, and drops its cache).
    stale_after_merge: bool,
    locking_reads: bool,
    conflict: Option<LostCommit>,
    last_commit_lsn: Option<Lsn>,
    /// Images SQLite reads in place (handed out by xFetch, not yet released by xUnfetch): each
    /// must stay alive until released. At most [`MAX_FETCHED`].
    fetched: Vec<Arc<[u8]>>,
    /// Images of pages at the snapshot looked up in this transaction (`snapshot_image`), for
    /// the next lookups of the same pages. At most [`FETCH_CACHE_PAGES`]; cleared when the
    /// lock drops to NONE (an idle session holds no page versions) and when a commit moves
    /// the snapshot.
    fetch_cache: HashMap<PageNo, Arc<[u8]>>,
    /// A commit was attempted under SQLite's current lock (committed or lost): until SQLite
    /// next takes a lock from NONE, its cache may hold that transaction's pages as clean, and
    /// SQLite reads in place without looking in its cache, so xFetch declines.
    fetch_paused: bool,
    /// Pages handed to SQLite by xFetch since the session opened.
    fetches: u64,
}

impl DirtyPage {
    /// The image to write into: nobody else holds it before the commit shares it.
    fn image_mut(&mut self) -> &mut [u8] {
        Arc::get_mut(&mut self.image).expect("a dirty page is private until its commit")
    }
}

impl FileState {
    /// Record that SQLite read `page_no` at the snapshot, through xRead or xFetch alike: a
    /// locking read (`SELECT … FOR UPDATE`) must lock every page it read, however read.
    fn note_read(&mut self, page_no: PageNo) {
        self.read_pages.insert(page_no);
        if self.locking_reads {
            self.locked_pages.insert(page_no);
        }
    }

    /// Drop the dirty pages, handing their images to the spare list where ours is the last
    /// reference (a committed page's image is usually the store's now; a lost one's is not).
    fn recycle_dirty(&mut self) {
        let dirty = std::mem::take(&mut self.dirty);
        for (_, page) in dirty {
            spare_images::give(page.image);
            if let Some(base) = page.base {
                spare_images::give(base);
            }
        }
    }

    /// Release the snapshot images kept for this transaction (`snapshot_image`).
    fn clear_fetch_cache(&mut self) {
        self.fetch_cache
            .drain()
            .for_each(|(_, image)| spare_images::give(image));
    }
}

/// A lost commit as this session saw it: the store's verdict, and whether the page that
/// conflicted was only locked by this transaction (read by a locking read, or by a schema
/// change) rather than written by it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LostCommit {
    pub conflict: Conflict,
    pub locked_only: bool,
}

/// What a commit did.
#[derive(Debug, PartialEq, Eq)]
pub enum CommitOutcome {
    /// Nothing changed: no commit was sent to the store.
    Nothing,
    /// Committed at this LSN and applied to the buffer pool.
    Committed(Lsn),
    /// Lost first-committer-wins; details kept for `take_conflict`.
    Conflict,
}

/// Whether a read returned all requested bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    Full,
    /// Part of the range was beyond the end of the file and was zero-filled.
    Short,
}

/// One session's database file.
pub struct SessionFile {
    core: Arc<EngineCore>,
    state: Mutex<FileState>,
}

impl SessionFile {
    pub(crate) fn new(core: Arc<EngineCore>) -> Self {
        SessionFile {
            core,
            state: Mutex::new(FileState::default()),
        }
    }

    fn page_size(&self) -> usize {
        self.core.cfg.page_size
    }

    /// Pin a snapshot at the applied LSN.
    ///
    /// The pool applies a commit after it is durable, so it can trail the store's oldest
    /// retained LSN: a checkpoint with no snapshot pinned moves that floor to the latest durable
    /// LSN while the committers of the last batch are still applying theirs. Then wait for
    /// them (or, if the pool is far behind, resynchronise it) and pin again.
    fn take_snapshot(&self) -> Result<Snapshot, EngineError> {
        // Bounded by SNAPSHOT_ATTEMPTS: each failed attempt waits for the pool or resynchronises
        // it; the floor passes the applied LSN again only if another checkpoint ran meanwhile.
        let mut attempt = 1;
        loop {
            let (lsn, db_pages) = self.core.pool.applied();
            match self.core.store.pin(lsn) {
                Ok(pin) => {
                    return Ok(Snapshot {
                        lsn,
                        db_pages,
                        _pin: pin,
                    })
                }
                Err(ReadError::NotRetained { oldest, .. }) if attempt < SNAPSHOT_ATTEMPTS => {
                    tracing::debug!(lsn, oldest, "applied LSN no longer retained: waiting");
                    if !self
                        .core
                        .pool
                        .wait_applied(oldest, self.core.cfg.apply_wait)
                    {
                        self.core.resync()?;
                    }
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// SQLite's xLock: NONE→SHARED pins a snapshot; higher levels always succeed.
    pub fn lock(&self, level: i32) -> Result<(), EngineError> {
        let mut state = self.state.lock();
        if state.lock == LOCK_NONE && level > LOCK_NONE {
            let snapshot = self.take_snapshot()?;
            if state.read_set_lsn != Some(snapshot.lsn) {
                state.read_pages.clear();
                state.interior_pages.clear();
                state.read_set_lsn = Some(snapshot.lsn);
            }
            state.size_pages = snapshot.db_pages;
            state.low_water = snapshot.db_pages;
            state.recycle_dirty();
            state.locked_pages.clear();
            state.stale_after_merge = false;
            state.fetch_paused = false;
            if state.locking_reads {
                // Pages SQLite still caches are not read through the file again: lock them all.
                let read: Vec<PageNo> = state.read_pages.iter().copied().collect();
                state.locked_pages.extend(read);
            }
            state.snapshot = Some(snapshot);
        }
        state.lock = state.lock.max(level);
        Ok(())
    }

    /// SQLite's xUnlock: dropping to NONE releases the snapshot and any private leftovers.
    pub fn unlock(&self, level: i32) {
        let mut state = self.state.lock();
        state.lock = level;
        if level == LOCK_NONE {
            state.snapshot = None;
            state.recycle_dirty();
            state.locked_pages.clear();
            state.clear_fetch_cache();
        }
    }

    /// Run `f` with the session's snapshot, or a temporary one when SQLite reads without a lock
    /// (it reads the header that way when opening).
    fn with_snapshot<T>(
        &self,
        state: &mut FileState,
        f: impl FnOnce(&Self, &mut FileState, Lsn, u32) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        if let Some(s) = &state.snapshot {
            let (lsn, db_pages) = (s.lsn, s.db_pages);
            return f(self, state, lsn, db_pages);
        }
        let temp = self.take_snapshot()?;
        state.size_pages = temp.db_pages;
        state.low_water = temp.db_pages;
        f(self, state, temp.lsn, temp.db_pages)
    }

    /// The image of `page_no` at the snapshot; `None` beyond the snapshot's size (zeros).
    fn base_image(
        &self,
        page_no: PageNo,
        lsn: Lsn,
        db_pages: u32,
    ) -> Result<Option<Arc<[u8]>>, EngineError> {
        if page_no == 0 || page_no > db_pages {
            return Ok(None);
        }
        if let Some(data) = self.core.pool.lookup(page_no, lsn) {
            return Ok(Some(data));
        }
        let version = self.core.store.read_page(page_no, lsn)?;
        if version.data.len() != self.page_size() {
            return Err(EngineError::PageSize {
                page_no,
                got: version.data.len(),
                expected: self.page_size(),
            });
        }
        self.core.pool.insert_read(page_no, &version);
        Ok(Some(version.data))
    }

    /// [`Self::base_image`] through the transaction's cache of snapshot images: a write
    /// transaction looks each page up several times (SQLite's read, its write, the commit's
    /// search for ancestors), and a pool lookup takes the pool's lock. Only at the session's
    /// own snapshot (not a temporary one of a read without a lock).
    fn snapshot_image(
        &self,
        state: &mut FileState,
        page_no: PageNo,
        lsn: Lsn,
        db_pages: u32,
    ) -> Result<Option<Arc<[u8]>>, EngineError> {
        let cacheable = state.snapshot.as_ref().is_some_and(|s| s.lsn == lsn);
        if let Some(image) = state.fetch_cache.get(&page_no).filter(|_| cacheable) {
            return Ok(Some(Arc::clone(image)));
        }
        let image = self.base_image(page_no, lsn, db_pages)?;
        if let Some(image) = image.as_ref().filter(|_| cacheable) {
            if state.fetch_cache.len() >= FETCH_CACHE_PAGES {
                state.clear_fetch_cache();
            }
            state.fetch_cache.insert(page_no, Arc::clone(image));
        }
        Ok(image)
    }

    /// The interior pages to lock for `leaves` whose rowid range the write set extends: their
    /// ancestors among the table interior pages read at the snapshot (SQLite reached each leaf
    /// from its root through them). All interior pages read if one cannot be parsed.
    fn leaf_ancestors(
        &self,
        state: &mut FileState,
        leaves: &[(PageNo, i64)],
        lsn: Lsn,
        db_pages: u32,
    ) -> Result<Vec<PageNo>, EngineError> {
        let interior: Vec<PageNo> = state.interior_pages.iter().copied().collect();
        let mut images = Vec::with_capacity(interior.len());
        for page_no in interior {
            // The leaves are table leaves (their rowid range grew): index interior pages,
            // whose children oltp_insert's index roots list by the thousand, are not searched.
            match self.snapshot_image(state, page_no, lsn, db_pages)? {
                Some(image) if btree::is_table_interior(&image) => images.push((page_no, image)),
                _ => {}
            }
        }
        let Some(found) = btree::ancestors(leaves, &images) else {
            tracing::warn!("an interior page does not parse: locking every interior page read");
            return Ok(state.interior_pages.iter().copied().collect());
        };
        tracing::debug!(?leaves, ancestors = ?found, "a leaf's rowid range grows: ancestors locked");
        Ok(found.into_iter().collect())
    }

    /// SQLite's xRead: fill `buf` from `offset`, zero-filling beyond the end of the file.
    pub fn read(&self, buf: &mut [u8], offset: u64) -> Result<ReadOutcome, EngineError> {
        let mut state = self.state.lock();
        self.with_snapshot(&mut state, |this, state, lsn, db_pages| {
            this.read_at(state, buf, offset, lsn, db_pages)
        })
    }

    fn read_at(
        &self,
        state: &mut FileState,
        buf: &mut [u8],
        offset: u64,
        lsn: Lsn,
        db_pages: u32,
    ) -> Result<ReadOutcome, EngineError> {
        let page_size = self.page_size() as u64;
        let mut outcome = ReadOutcome::Full;
        let mut done = 0usize;
        // Bounded by buf.len(): every iteration copies at least one byte.
        while done < buf.len() {
            let at = offset + done as u64;
            let page_no = PageNo::try_from(at / page_size + 1)
                .map_err(|_| EngineError::Unsupported("offset beyond 2^32 pages"))?;
            let in_page = (at % page_size) as usize;
            let n = (self.page_size() - in_page).min(buf.len() - done);
            let window = &mut buf[done..done + n];
            done += n;
            if page_no > state.size_pages {
                window.fill(0);
                outcome = ReadOutcome::Short;
                continue;
            }
            state.note_read(page_no);
            if let Some(dirty) = state.dirty.get(&page_no) {
                window.copy_from_slice(&dirty.image[in_page..in_page + n]);
                continue;
            }
            if page_no > state.low_water {
                window.fill(0);
                continue;
            }
            match self.snapshot_image(state, page_no, lsn, db_pages)? {
                Some(data) => {
                    if btree::is_interior(page_no, &data) {
                        state.interior_pages.insert(page_no);
                    }
                    window.copy_from_slice(&data[in_page..in_page + n]);
                }
                None => window.fill(0),
            }
            if page_no == 1 {
                header::virtualise(window, in_page, lsn);
            }
        }
        Ok(outcome)
    }

    /// SQLite's xFetch: the snapshot's image of the page at `offset`, for SQLite to read in
    /// place instead of copying it into its cache (16 KiB per page, and a transaction reads
    /// dozens). `None` declines, and SQLite reads the page through [`Self::read`]: for anything
    /// but a whole clean page of the snapshot (page 1, whose change counter is virtualised, a
    /// page this transaction wrote, a page past the snapshot's end), without a snapshot, after
    /// a commit or a lost commit under the same lock (`fetch_paused`), and with
    /// [`MAX_FETCHED`] out.
    ///
    /// The image stays alive until [`Self::unfetch`]: it is immutable (a version of the page),
    /// so SQLite's pointer into it stays valid whatever the pool evicts meanwhile.
    pub fn fetch(&self, offset: u64, len: usize) -> Result<Option<*const u8>, EngineError> {
        let page_size = self.page_size();
        let mut state = self.state.lock();
        let Some(snapshot) = &state.snapshot else {
            return Ok(None);
        };
        let (lsn, db_pages) = (snapshot.lsn, snapshot.db_pages);
        let page_no = match PageNo::try_from(offset / page_size as u64 + 1) {
            Ok(page_no) if offset.is_multiple_of(page_size as u64) && len == page_size => page_no,
            _ => return Ok(None),
        };
        let servable = page_no > 1
            && page_no <= state.low_water
            && page_no <= state.size_pages
            && !state.fetch_paused
            && state.fetched.len() < MAX_FETCHED
            && !state.dirty.contains_key(&page_no);
        if !servable {
            return Ok(None);
        }
        let Some(image) = self.snapshot_image(&mut state, page_no, lsn, db_pages)? else {
            return Ok(None);
        };
        if btree::is_interior(page_no, &image) {
            state.interior_pages.insert(page_no);
        }
        assert_eq!(image.len(), page_size, "a fetched page is a whole page");
        state.note_read(page_no);
        let at = image.as_ptr();
        state.fetched.push(image);
        state.fetches += 1;
        Ok(Some(at))
    }

    /// SQLite's xUnfetch: SQLite no longer reads the image it fetched at `at`. A null `at`
    /// (SQLite dropping every mapping, which it does only with none out) releases nothing.
    pub fn unfetch(&self, at: *const u8) {
        if at.is_null() {
            return;
        }
        let mut state = self.state.lock();
        // Bounded by MAX_FETCHED. The most recent fetch is usually the first released.
        let found = state.fetched.iter().rposition(|image| image.as_ptr() == at);
        match found {
            Some(i) => spare_images::give(state.fetched.swap_remove(i)),
            None => tracing::warn!("xUnfetch of a page that was not fetched"),
        }
    }

    /// How many pages SQLite reads in place right now (fetched, not yet released), and how
    /// many it was handed since the session opened.
    pub fn pages_read_in_place(&self) -> (usize, u64) {
        let state = self.state.lock();
        (state.fetched.len(), state.fetches)
    }

    /// SQLite's xWrite: copy-on-write into the private dirty pages.
    pub fn write(&self, buf: &[u8], offset: u64) -> Result<(), EngineError> {
        let mut state = self.state.lock();
        if state.stale_after_merge {
            return Err(EngineError::Unsupported(
                "a write under the SQLite lock of an earlier commit (retry the statement)",
            ));
        }
        self.with_snapshot(&mut state, |this, state, lsn, db_pages| {
            this.write_at(state, buf, offset, lsn, db_pages)
        })
    }

    fn write_at(
        &self,
        state: &mut FileState,
        buf: &[u8],
        offset: u64,
        lsn: Lsn,
        db_pages: u32,
    ) -> Result<(), EngineError> {
        if state.snapshot.is_none() {
            return Err(EngineError::Unsupported("write without a lock"));
        }
        let page_size = self.page_size() as u64;
        let mut done = 0usize;
        // Bounded by buf.len(): every iteration copies at least one byte.
        while done < buf.len() {
            let at = offset + done as u64;
            let page_no = PageNo::try_from(at / page_size + 1)
                .map_err(|_| EngineError::Unsupported("offset beyond 2^32 pages"))?;
            let in_page = (at % page_size) as usize;
            let n = (self.page_size() - in_page).min(buf.len() - done);
            let bytes = &buf[done..done + n];
            if let Some(dirty) = state.dirty.get_mut(&page_no) {
                dirty.image_mut()[in_page..in_page + n].copy_from_slice(bytes);
            } else {
                let base = self.snapshot_image(state, page_no, lsn, db_pages)?;
                let whole_page = n == self.page_size();
                // A page of SQLite's own: one copy, not the base or zeros first.
                let shared = if whole_page {
                    spare_images::copy_of(bytes)
                } else {
                    let mut shared = match &base {
                        Some(data) if page_no <= state.low_water => spare_images::copy_of(data),
                        _ => spare_images::zeroed(self.page_size()),
                    };
                    let image = Arc::get_mut(&mut shared).expect("a new image is unshared");
                    image[in_page..in_page + n].copy_from_slice(bytes);
                    shared
                };
                state.dirty.insert(
                    page_no,
                    DirtyPage {
                        base,
                        image: shared,
                    },
                );
            }
            state.size_pages = state.size_pages.max(page_no);
            done += n;
        }
        Ok(())
    }

    /// SQLite's xTruncate.
    pub fn truncate(&self, size: u64) -> Result<(), EngineError> {
        let page_size = self.page_size() as u64;
        let pages = u32::try_from(size.div_ceil(page_size))
            .map_err(|_| EngineError::Unsupported("file beyond 2^32 pages"))?;
        let mut state = self.state.lock();
        if state.snapshot.is_none() {
            return Err(EngineError::Unsupported("truncate without a lock"));
        }
        drop(state.dirty.split_off(&(pages + 1)));
        state.size_pages = pages;
        state.low_water = state.low_water.min(pages);
        Ok(())
    }

    /// SQLite's xFileSize, in bytes.
    pub fn file_size(&self) -> Result<u64, EngineError> {
        let mut state = self.state.lock();
        let pages = self.with_snapshot(&mut state, |_, state, _, _| Ok(state.size_pages))?;
        Ok(u64::from(pages) * self.page_size() as u64)
    }

    /// Publish the private pages (SQLITE_FCNTL_COMMIT_PHASETWO).
    pub fn commit(&self) -> Result<CommitOutcome, EngineError> {
        let mut state = self.state.lock();
        let result = self.commit_locked(&mut state);
        if !matches!(result, Ok(CommitOutcome::Nothing)) {
            state.fetch_paused = true;
        }
        state.recycle_dirty();
        state.locked_pages.clear();
        result
    }

    fn commit_locked(&self, state: &mut FileState) -> Result<CommitOutcome, EngineError> {
        let Some(snapshot) = &state.snapshot else {
            return Err(EngineError::Unsupported("commit without a snapshot"));
        };
        let (snap_lsn, snap_pages) = (snapshot.lsn, snapshot.db_pages);
        if let Some(page1) = state.dirty.get(&1) {
            if !header::is_rollback_format(&page1.image) {
                return Err(EngineError::Unsupported(
                    "WAL format (journal_mode=WAL) on a Borealis database",
                ));
            }
        }
        let mut deltas = Vec::new();
        // Our new image of each delta's page, for a store that keeps it as the new version.
        let mut shared: Vec<Option<Arc<[u8]>>> = Vec::new();
        let mut images: HashMap<PageNo, Arc<[u8]>> = HashMap::new();
        let mut schema_changed = false;
        for (&page_no, dirty) in &state.dirty {
            if page_no > state.size_pages {
                continue;
            }
            let base: &[u8] = dirty.base.as_deref().unwrap_or(&self.core.zero_page);
            let Some(delta) = page_delta(page_no, base, &dirty.image) else {
                continue;
            };
            if page_no == 1 {
                schema_changed = header::schema_changed(base, &dirty.image);
            }
            deltas.push(delta);
            // Page 1's image holds our virtualised counter, not the committed one.
            shared.push((page_no != 1).then(|| Arc::clone(&dirty.image)));
            // A store that hands durable commits to the engine brings their images itself.
            if self.core.store_applies {
                continue;
            }
            let image = if page_no == 1 {
                // One allocation and copy: changed in place while it has no other owner.
                let mut image: Arc<[u8]> = spare_images::copy_of(&dirty.image);
                let unique = Arc::get_mut(&mut image).expect("a new Arc has no other owner");
                header::restore_virtual(unique, base);
                image
            } else {
                Arc::clone(&dirty.image)
            };
            images.insert(page_no, image);
        }
        if deltas.is_empty() && state.size_pages == snap_pages {
            return Ok(CommitOutcome::Nothing);
        }
        let mut locked = state.locked_pages.clone();
        let extended = extended_leaves(state);
        if !extended.is_empty() {
            locked.extend(self.leaf_ancestors(state, &extended, snap_lsn, snap_pages)?);
        }
        if schema_changed {
            // A schema change must not miss rows committed after its snapshot into the pages it
            // read (a concurrent INSERT while CREATE INDEX scans the table).
            locked.extend(state.read_pages.iter().copied());
        }
        // For the verdict on a lost commit, once the deltas have moved into the write set.
        let written: Vec<PageNo> = deltas.iter().map(|d| d.page_no).collect();
        let ws = WriteSet {
            snapshot: snap_lsn,
            db_pages: state.size_pages,
            deltas,
            locked_pages: locked.into_iter().collect(),
            // Lets the store merge a row this transaction adds at a leaf's end (see WriteSet).
            guard_pages: state.interior_pages.iter().copied().collect(),
            origin: self.core.cfg.origin,
        };
        match self.core.store.commit_merging_with_images(ws, shared) {
            Ok(receipt) => {
                // Pages the store merged with a newer commit: our images of them are stale;
                // the committed deltas (relative to the page before this commit) are applied.
                // Any commit: if SQLite keeps its lock, its cache is as of the old snapshot plus
                // our writes, while the snapshot moves to `lsn` (and merged pages differ too).
                state.stale_after_merge = true;
                for page_no in &receipt.merged {
                    images.remove(page_no);
                }
                // The receipt carries the size at `lsn`: for a write set that kept its
                // snapshot's size that is the *current* size (a concurrent commit may have grown
                // the file since); applying our own stale size would shrink the pool's size, and
                // every later snapshot would cut off pages page 1's header still counts.
                let change = receipt.committed_change(self.core.cfg.origin);
                let (lsn, db_pages, deltas) = (change.lsn, change.db_pages, &change.deltas);
                debug_assert!(state.size_pages == snap_pages || db_pages == state.size_pages);
                self.core.commits.fetch_add(1, Ordering::Relaxed);
                self.core
                    .pages_written
                    .fetch_add(deltas.len() as u64, Ordering::Relaxed);
                state.last_commit_lsn = Some(lsn);
                // From here on the commit is durable: nothing may turn it into an error the
                // client could retry (and so apply twice). The buffer pool catches up from the
                // store later if applying fails now.
                if let Err(e) = self.core.apply(&change, &images) {
                    tracing::warn!(lsn, error = %e, "committed change not applied yet");
                }
                // SQLite may keep its lock (an active statement): read on at the new state, or
                // at the old snapshot if the new one cannot be pinned (writes are refused under
                // that lock anyway: `stale_after_merge`).
                match self.core.store.pin(lsn) {
                    Ok(pin) => {
                        // The cached images are of the old snapshot.
                        state.clear_fetch_cache();
                        state.snapshot = Some(Snapshot {
                            lsn,
                            db_pages,
                            _pin: pin,
                        });
                        state.size_pages = db_pages;
                        state.low_water = db_pages;
                    }
                    Err(e) => tracing::warn!(lsn, error = %e, "cannot pin the committed LSN"),
                }
                Ok(CommitOutcome::Committed(lsn))
            }
            Err(CommitError::Conflict(conflict)) => {
                self.core.conflicts.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    page = conflict.page_no,
                    winner = conflict.winner_lsn,
                    "commit lost a conflict"
                );
                let page = conflict.page_no;
                let locked_only = conflict.reason == ConflictReason::PageChanged
                    && !written.contains(&page)
                    && (state.locked_pages.contains(&page)
                        || state.interior_pages.contains(&page)
                        || (schema_changed && state.read_pages.contains(&page)));
                state.conflict = Some(LostCommit {
                    conflict,
                    locked_only,
                });
                state.size_pages = snap_pages;
                state.low_water = snap_pages;
                Ok(CommitOutcome::Conflict)
            }
            Err(e) => {
                state.size_pages = snap_pages;
                state.low_water = snap_pages;
                Err(e.into())
            }
        }
    }

    /// Details of the last lost commit, taken once.
    pub fn take_lost_commit(&self) -> Option<LostCommit> {
        self.state.lock().conflict.take()
    }

    /// Turn locking reads on or off. Turning them on locks every page read since SQLite's cache
    /// was last dropped, because cached pages are not read through the file again.
    pub fn set_locking_reads(&self, on: bool) {
        let mut state = self.state.lock();
        state.locking_reads = on;
        if on {
            let read: Vec<PageNo> = state.read_pages.iter().copied().collect();
            state.locked_pages.extend(read);
        }
    }

    /// The pinned snapshot, if a lock is held.
    pub fn snapshot_lsn(&self) -> Option<Lsn> {
        self.state.lock().snapshot.as_ref().map(|s| s.lsn)
    }

    /// LSN of the last successful commit of this session.
    pub fn last_commit_lsn(&self) -> Option<Lsn> {
        self.state.lock().last_commit_lsn
    }
}

/// The table leaves the write set puts a row past either end of (a new largest or smallest
/// rowid). Such a row belongs on that leaf only while its ancestors' dividers are as read: a
/// concurrent split that moves the range without touching the leaf (SQLite's `balance_quick`)
/// must conflict, so the transaction then locks the leaf's ancestors. Index b-trees keep their
/// dividers as cells of the leaves, so a split there changes the leaf. Each leaf comes with a
/// rowid it held at the snapshot, which leads to it from its root.
fn extended_leaves(state: &FileState) -> Vec<(PageNo, i64)> {
    let range = borealis_pagestore::leaf_merge::table_leaf_rowid_range;
    let extends = |(&page_no, dirty): (&PageNo, &DirtyPage)| {
        let base = dirty.base.as_deref()?;
        let ((base_min, base_max), (min, max)) = (range(base)?, range(&dirty.image)?);
        (page_no != 1 && (min < base_min || max > base_max)).then_some((page_no, base_max))
    };
    state.dirty.iter().filter_map(extends).collect()
}
