//! The page store's interface: the contract between compute (instances) and storage.
//!
//! It is shaped for what comes next — instances and replicated storage nodes talking over the
//! network — so every call carries plain data (no references into the store) and every call
//! names the LSN it is about.
//!
//! Nouns (see docs/GLOSSARY.md): an *LSN* numbers commits, 1, 2, 3, … with no gaps; LSN 0 is
//! the empty database before any commit. A *snapshot* is an LSN a transaction reads at: it sees
//! exactly the commits with LSN ≤ snapshot. A *page delta* is the changed byte ranges of one
//! page; a *write set* is all page deltas of one transaction plus what it needs validated.

use std::sync::Arc;

/// Log sequence number: the position of a commit in the commit log. 0 = nothing committed yet.
pub type Lsn = u64;

/// A SQLite page number, 1-based (page 1 holds the database header).
pub type PageNo = u32;

/// The slot of the instance that made a commit (1..=16); 0 = the store itself / unknown.
pub type Origin = u16;

/// The default page size: the conflict unit users of this product expect (16 KiB).
pub const DEFAULT_PAGE_SIZE: usize = 16384;

/// One changed byte range inside a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByteRange {
    /// Offset of the first changed byte within the page.
    pub offset: u32,
    /// The new bytes; `offset + bytes.len() <= page_size`.
    pub bytes: Vec<u8>,
}

/// The changed byte ranges of one page, relative to the page's image at the writer's snapshot.
/// A page that did not exist at the snapshot (beyond the old database size) starts as zeros.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageDelta {
    pub page_no: PageNo,
    /// Non-overlapping, sorted by offset.
    pub ranges: Vec<ByteRange>,
}

/// What a transaction asks the store to commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteSet {
    /// The LSN the transaction read at.
    pub snapshot: Lsn,
    /// Database size in pages after this commit (SQLite may grow or truncate the file). Equal
    /// to the size at `snapshot` means "not resized": the commit then keeps the size current
    /// when it is applied, which a concurrent commit may have changed; `db_pages(lsn)` tells
    /// the size it committed.
    pub db_pages: u32,
    /// Page deltas, sorted by page number, at most one per page. Page 1 is included only when
    /// something other than the virtualised change counter changed (see the engine).
    pub deltas: Vec<PageDelta>,
    /// Pages read under a locking read (`SELECT … FOR UPDATE` / `LOCK IN SHARE MODE`): the
    /// commit conflicts if any of them was changed by a commit after `snapshot`.
    pub locked_pages: Vec<PageNo>,
    /// The b-tree interior pages the transaction read. Not a conflict by themselves: a leaf
    /// merge may keep a row the write set adds at an end of a leaf page only if none of them
    /// changed after `snapshot` (the page's key range, set by its parent's divider keys, is
    /// then still the one the transaction placed the row in).
    pub guard_pages: Vec<PageNo>,
    /// The instance making the commit, for diagnostics.
    pub origin: Origin,
}

/// A commit as it is stored in the log and shipped to subscribers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedChange {
    pub lsn: Lsn,
    pub origin: Origin,
    pub db_pages: u32,
    pub deltas: Arc<Vec<PageDelta>>,
}

/// What a successful commit reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitReceipt {
    pub lsn: Lsn,
    /// Database size in pages at `lsn` (the current size for a write set that kept its
    /// snapshot's size).
    pub db_pages: u32,
    /// The committed deltas: the write set's, with those of the pages in `merged` replaced by
    /// the merged ones (what every reader applies). Shared with the store's own record of the
    /// change, so a receipt copies no page bytes. Empty when the commit changed no page (it
    /// committed nothing, or only the database size).
    pub deltas: Arc<Vec<PageDelta>>,
    /// Pages the store merged instead of reporting a conflict (a leaf page on which this write
    /// set and a newer commit changed different rows): their deltas in `deltas` are relative to
    /// the page just before this commit, and the writer's own images of them are stale.
    pub merged: Vec<PageNo>,
}

impl CommitReceipt {
    /// The change the write set of `origin` became.
    pub fn committed_change(&self, origin: Origin) -> CommittedChange {
        CommittedChange {
            lsn: self.lsn,
            origin,
            db_pages: self.db_pages,
            deltas: Arc::clone(&self.deltas),
        }
    }
}

/// Why a commit lost first-committer-wins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConflictReason {
    /// A page the transaction wrote (or locked) was committed by someone else after its snapshot.
    PageChanged,
    /// The schema cookie changed after the snapshot (a concurrent DDL).
    SchemaChanged,
}

/// Details of a lost conflict, enough to tell the user which page and which commit won.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub reason: ConflictReason,
    pub page_no: PageNo,
    pub snapshot: Lsn,
    /// The LSN of the commit that won.
    pub winner_lsn: Lsn,
    /// The instance whose commit won.
    pub winner_origin: Origin,
}

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("write conflict on page {} (winner LSN {})", .0.page_no, .0.winner_lsn)]
    Conflict(Conflict),
    #[error("invalid write set: {0}")]
    Invalid(String),
    #[error("snapshot LSN {snapshot} is older than the oldest retained LSN {oldest}")]
    SnapshotTooOld { snapshot: Lsn, oldest: Lsn },
    /// The log could not be written or synced (disk full, I/O error). The store refuses all
    /// further commits until restarted; reads keep working.
    #[error("commit log write failed: {0}")]
    LogFailed(String),
    /// The page store could not be reached (a networked store). The commit may or may not have
    /// been made; the client is told so and must not assume either.
    #[error("page store unreachable, commit outcome unknown: {0}")]
    Unavailable(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("LSN {requested} is not retained (oldest retained {oldest}, latest {latest})")]
    NotRetained {
        requested: Lsn,
        oldest: Lsn,
        latest: Lsn,
    },
    #[error("page {page_no} is beyond the database size ({db_pages} pages) at LSN {at}")]
    BeyondEnd {
        page_no: PageNo,
        db_pages: u32,
        at: Lsn,
    },
    #[error("corrupt data: {0}")]
    Corrupt(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// One version of one page.
#[derive(Clone, Debug)]
pub struct PageVersion {
    /// The LSN of the commit that wrote this version (0 = never written: all zeros).
    pub lsn: Lsn,
    /// The next commit that changed this page, if it is ≤ the store's latest LSN at the time of
    /// the read; `None` means this version is still current as of `as_of`.
    pub next_lsn: Option<Lsn>,
    /// The store's latest LSN when the read was served.
    pub as_of: Lsn,
    /// The full page image (`page_size` bytes).
    pub data: Arc<[u8]>,
}

/// Keeps one snapshot's page versions from being reclaimed while it is alive.
/// Dropping it releases the pin.
pub struct SnapshotPin {
    lsn: Lsn,
    release: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl SnapshotPin {
    pub fn new(lsn: Lsn, release: Box<dyn FnOnce() + Send + Sync>) -> Self {
        SnapshotPin {
            lsn,
            release: Some(release),
        }
    }
    pub fn lsn(&self) -> Lsn {
        self.lsn
    }
}

impl Drop for SnapshotPin {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            release();
        }
    }
}

impl std::fmt::Debug for SnapshotPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotPin")
            .field("lsn", &self.lsn)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    /// The subscriber asked for (or fell behind to) an LSN the store no longer keeps in its
    /// change feed; it must resynchronise by reading pages at a newer snapshot.
    #[error("change feed no longer holds LSN {requested} (oldest {oldest})")]
    Lagged { requested: Lsn, oldest: Lsn },
    #[error("page store closed")]
    Closed,
}

/// A cursor over committed changes in LSN order.
pub trait Subscription: Send {
    /// The next committed change, waiting up to `timeout`; `Ok(None)` on timeout.
    fn next_change(
        &mut self,
        timeout: std::time::Duration,
    ) -> Result<Option<CommittedChange>, SubscribeError>;
}

/// Counters a store exposes for `SHOW STATUS` and metrics.
#[derive(Clone, Debug, Default)]
pub struct StoreStats {
    pub latest_lsn: Lsn,
    /// Oldest LSN still readable (the reclaim horizon).
    pub oldest_lsn: Lsn,
    pub commits: u64,
    pub conflicts: u64,
    pub fsyncs: u64,
    pub log_bytes: u64,
    pub checkpoints: u64,
    /// Page versions kept in memory (not yet checkpointed or still pinned).
    pub retained_versions: u64,
    pub db_pages: u32,
    /// Leaf pages merged at commit instead of a conflict (different rows of one page).
    pub merges: u64,
    /// Merges refused, by reason (indexed by `leaf_merge::Refusal::index`): each made its
    /// commit a conflict.
    pub merge_refusals: [u64; crate::leaf_merge::Refusal::COUNT],
}

/// The page store as compute sees it.
pub trait PageStore: Send + Sync {
    /// Page size in bytes, fixed when the store was created.
    fn page_size(&self) -> usize;

    /// The latest durable LSN: every commit ≤ it is on disk and readable.
    fn latest_lsn(&self) -> Lsn;

    /// Database size in pages at `at`.
    fn db_pages(&self, at: Lsn) -> Result<u32, ReadError>;

    /// The newest version of `page_no` with LSN ≤ `at`. `at` must be retained (pinned or ≥ the
    /// reclaim horizon) and ≤ `latest_lsn()`.
    fn read_page(&self, page_no: PageNo, at: Lsn) -> Result<PageVersion, ReadError>;

    /// Validate the write set first-committer-wins against its snapshot and, if valid, assign
    /// the next LSN and return once the commit is durable (group commit shares one fsync).
    fn commit(&self, ws: WriteSet) -> Result<Lsn, CommitError>;

    /// [`PageStore::commit`], also reporting the pages the store merged. A store that never
    /// merges reports none.
    fn commit_merging(&self, ws: WriteSet) -> Result<CommitReceipt, CommitError> {
        let deltas = Arc::new(ws.deltas.clone());
        let lsn = self.commit(ws)?;
        // Our pin of the snapshot (≤ lsn) keeps `lsn` retained; should the size still be
        // unreadable, the commit stands: report 0 and let the caller read it again.
        let db_pages = self.db_pages(lsn).unwrap_or(0);
        Ok(CommitReceipt {
            lsn,
            db_pages,
            deltas,
            merged: Vec::new(),
        })
    }

    /// [`PageStore::commit_merging`], with the committer's new image of each delta's page:
    /// `images[i]` is `ws.deltas[i]` applied to the page at the snapshot, `None` where the
    /// committer has no such image (page 1, whose change counter it virtualises). A store in
    /// the committer's process may keep an image as the page's new version instead of
    /// building it (a page-sized copy per page written); others ignore them.
    fn commit_merging_with_images(
        &self,
        ws: WriteSet,
        images: Vec<Option<Arc<[u8]>>>,
    ) -> Result<CommitReceipt, CommitError> {
        drop(images);
        self.commit_merging(ws)
    }

    /// Pin `at` so its page versions are not reclaimed while the returned guard lives.
    fn pin(&self, at: Lsn) -> Result<SnapshotPin, ReadError>;

    /// Pin the latest durable LSN atomically (no window in which it could be reclaimed).
    fn pin_latest(&self) -> SnapshotPin;

    /// Committed changes with LSN > `after`, in order.
    fn subscribe(&self, after: Lsn) -> Result<Box<dyn Subscription>, SubscribeError>;

    fn stats(&self) -> StoreStats;

    /// Call `listener` with every commit once it is durable, in LSN order, before its
    /// committer is woken. Returns false if this store cannot (a remote one: its changes
    /// arrive by replication). See [`DurableListener`].
    fn add_durable_listener(&self, listener: DurableListener) -> bool {
        let _ = listener;
        false
    }
}

/// Called by the page store's flusher with a durable commit and the full page image after it
/// of each of its deltas (same order). It runs on the flusher's thread, which every later
/// commit waits for: it must be quick and must not block. It returns false once its receiver
/// is gone (a dropped engine), and is then removed.
pub type DurableListener = Box<dyn Fn(&CommittedChange, &[Arc<[u8]>]) -> bool + Send + Sync>;
