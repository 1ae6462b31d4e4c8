//! Engine scenarios against the real `LocalPageStore` on a temporary directory.

mod scenarios;

use borealis_engine::{Engine, EngineConfig};
use borealis_pagestore::{
    CommitError, CommitReceipt, LocalPageStore, Lsn, PageNo, PageStore, PageVersion, ReadError,
    SnapshotPin, StoreOptions, StoreStats, SubscribeError, Subscription, WriteSet,
};
use std::sync::Arc;
use tempfile::TempDir;

fn store() -> (TempDir, Arc<dyn PageStore>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = StoreOptions {
        fsync: false,
        ..StoreOptions::default()
    };
    let store = LocalPageStore::open(dir.path(), opts).expect("open store");
    (dir, store)
}

#[test]
fn disjoint_tables_both_commit() {
    let (_dir, s) = store();
    scenarios::disjoint_tables_both_commit(s);
}

#[test]
fn same_row_second_commit_conflicts() {
    let (_dir, s) = store();
    scenarios::same_row_second_commit_conflicts(s);
}

#[test]
fn autocommit_races_open_transaction() {
    let (_dir, s) = store();
    scenarios::autocommit_races_open_transaction(s);
}

#[test]
fn pages_read_in_place() {
    let (_dir, s) = store();
    scenarios::pages_read_in_place(s);
}

#[test]
fn snapshot_isolation() {
    let (_dir, s) = store();
    scenarios::snapshot_isolation(s);
}

#[test]
fn create_index_then_insert_conflicts() {
    let (_dir, s) = store();
    scenarios::create_index_vs_insert(s, true);
}

#[test]
fn insert_then_create_index_conflicts() {
    let (_dir, s) = store();
    scenarios::create_index_vs_insert(s, false);
}

#[test]
fn bounded_pool() {
    let (_dir, s) = store();
    scenarios::bounded_pool(s);
}

#[test]
fn reopen_engine() {
    let (_dir, s) = store();
    scenarios::reopen(s);
}

#[test]
fn reopen_store_from_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = StoreOptions {
        fsync: false,
        ..StoreOptions::default()
    };
    {
        let store = LocalPageStore::open(dir.path(), opts.clone()).expect("open store");
        let e = Engine::new(store, EngineConfig::default()).unwrap();
        let s = e.open_session().unwrap();
        s.conn()
            .execute_batch("CREATE TABLE k(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO k VALUES (1, 'durable');")
            .unwrap();
    }
    let store = LocalPageStore::open(dir.path(), opts).expect("reopen store");
    let e = Engine::new(store, EngineConfig::default()).unwrap();
    let s = e.open_session().unwrap();
    let v: String = s
        .conn()
        .query_row("SELECT v FROM k WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, "durable");
}

#[test]
fn locking_reads_conflict() {
    let (_dir, s) = store();
    scenarios::locking_reads(s, true);
}

#[test]
fn rollbacks_keep_data() {
    let (_dir, s) = store();
    scenarios::rollbacks_keep_data(s);
}

#[test]
fn threads_insert_all_rows() {
    let (_dir, s) = store();
    scenarios::threads_insert_all_rows(s);
}

#[test]
fn spilled_transactions_discarded() {
    let (_dir, s) = store();
    scenarios::spilled_transactions_discarded(s);
}

#[test]
fn vacuum_shrinks() {
    let (_dir, s) = store();
    scenarios::vacuum_shrinks(s);
}

#[test]
fn second_engine_applies_changes() {
    let (_dir, s) = store();
    scenarios::second_engine_applies_changes(s, true);
}

#[test]
fn autocommit_statement_loses() {
    let (_dir, s) = store();
    scenarios::autocommit_statement_loses(s);
}

#[test]
fn bank_transfers_keep_total() {
    let (_dir, s) = store();
    scenarios::bank_transfers_keep_total(s);
}

#[test]
fn concurrent_growing_inserts() {
    let (_dir, s) = store();
    scenarios::concurrent_growing_inserts(s, 4, 300);
}

#[test]
fn commit_after_concurrent_growth() {
    let (_dir, s) = store();
    scenarios::commit_after_concurrent_growth(s);
}

#[test]
fn merged_row_changes_stay_consistent() {
    let (_dir, store) = store();
    scenarios::merged_row_changes_stay_consistent(store);
}

#[test]
fn append_races_a_quick_split() {
    let (_dir, store) = store();
    scenarios::append_races_a_quick_split(store, 0);
}

#[test]
fn append_after_appends_races_a_quick_split() {
    let (_dir, store) = store();
    scenarios::append_races_a_quick_split(store, 2);
}

#[test]
fn append_ignores_a_split_in_another_table() {
    let (_dir, store) = store();
    scenarios::append_ignores_a_split_in_another_table(store);
}

/// An engine whose pool trails the store's latest LSN (another engine committed; no change
/// reached this one) keeps the store's floor at its applied LSN with its pool's own pin, even
/// through a checkpoint with no session open; it catches up from the store's feed.
#[test]
fn the_pool_pin_holds_the_floor_at_the_applied_lsn() {
    let (_dir, local, store) = no_handover_store(PinsBelowLatest::Kept);
    let cfg = EngineConfig::default();
    let writer = Engine::new(Arc::clone(&store), cfg.clone()).unwrap();
    let reader = Engine::new(Arc::clone(&store), cfg).unwrap();
    let behind = reader.applied_lsn();
    create_and_insert(&writer);
    local.checkpoint_now().unwrap();
    assert!(
        store.pin(behind).is_ok(),
        "the floor passed the reader's pool"
    );
    reader
        .catch_up_with_store(std::time::Duration::ZERO)
        .unwrap();
    assert_eq!(read_moved_on(&reader), "moved on");
}

/// An engine whose pool trails the store's oldest retained LSN (its pin was lost, as a remote
/// lease is when an instance stalls for longer than the lease) still takes snapshots: it waits
/// for the pool, then resynchronises it, and reads the other engine's rows.
#[test]
fn snapshot_after_the_floor_passed_the_pool() {
    let (_dir, _local, store) = no_handover_store(PinsBelowLatest::Lost);
    let cfg = EngineConfig {
        apply_wait: std::time::Duration::from_millis(50),
        ..EngineConfig::default()
    };
    let writer = Engine::new(Arc::clone(&store), cfg.clone()).unwrap();
    let reader = Engine::new(Arc::clone(&store), cfg).unwrap();
    let behind = reader.applied_lsn();
    create_and_insert(&writer);
    assert!(
        store.pin(behind).is_err(),
        "the floor passed the reader's pool"
    );
    assert_eq!(read_moved_on(&reader), "moved on");
}

fn create_and_insert(engine: &Arc<Engine>) {
    engine
        .open_session()
        .unwrap()
        .conn()
        .execute_batch(
            "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'moved on');",
        )
        .unwrap();
}

fn read_moved_on(engine: &Arc<Engine>) -> String {
    engine
        .open_session()
        .unwrap()
        .conn()
        .query_row("SELECT v FROM t WHERE id = 1", [], |r| r.get(0))
        .unwrap()
}

/// A store as an instance of a cluster sees it: commits of others arrive only by replication
/// (here: never), not from the store's flusher.
fn no_handover_store(
    pins: PinsBelowLatest,
) -> (tempfile::TempDir, Arc<LocalPageStore>, Arc<dyn PageStore>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = StoreOptions {
        fsync: false,
        ..StoreOptions::default()
    };
    let local = LocalPageStore::open(dir.path(), opts).expect("open store");
    let store: Arc<dyn PageStore> = Arc::new(NoHandover(local.clone(), pins));
    (dir, local, store)
}

/// Whether [`NoHandover`] serves pins below the latest LSN.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PinsBelowLatest {
    Kept,
    /// Refused as not retained: the store behaves as if every older version were reclaimed.
    Lost,
}

/// A local store that does not hand durable commits to engines (the trait's default).
struct NoHandover(Arc<LocalPageStore>, PinsBelowLatest);

impl PageStore for NoHandover {
    fn page_size(&self) -> usize {
        self.0.page_size()
    }
    fn latest_lsn(&self) -> Lsn {
        self.0.latest_lsn()
    }
    fn db_pages(&self, at: Lsn) -> Result<u32, ReadError> {
        self.0.db_pages(at)
    }
    fn read_page(&self, page_no: PageNo, at: Lsn) -> Result<PageVersion, ReadError> {
        self.0.read_page(page_no, at)
    }
    fn commit(&self, ws: WriteSet) -> Result<Lsn, CommitError> {
        self.0.commit(ws)
    }
    fn commit_merging(&self, ws: WriteSet) -> Result<CommitReceipt, CommitError> {
        self.0.commit_merging(ws)
    }
    fn pin(&self, at: Lsn) -> Result<SnapshotPin, ReadError> {
        let latest = self.0.latest_lsn();
        if self.1 == PinsBelowLatest::Lost && at < latest {
            return Err(ReadError::NotRetained {
                requested: at,
                oldest: latest,
                latest,
            });
        }
        self.0.pin(at)
    }
    fn pin_latest(&self) -> SnapshotPin {
        self.0.pin_latest()
    }
    fn subscribe(&self, after: Lsn) -> Result<Box<dyn Subscription>, SubscribeError> {
        self.0.subscribe(after)
    }
    fn stats(&self) -> StoreStats {
        self.0.stats()
    }
}
