//! Engine scenarios against the in-memory page store double.

mod scenarios;
mod support;

use borealis_engine::{Engine, EngineConfig};
use borealis_pagestore::PageStore;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use support::MemStore;

fn store() -> Arc<dyn PageStore> {
    MemStore::new(16384)
}

#[test]
fn disjoint_tables_both_commit() {
    scenarios::disjoint_tables_both_commit(store());
}

#[test]
fn same_row_second_commit_conflicts() {
    scenarios::same_row_second_commit_conflicts(store());
}

#[test]
fn autocommit_races_open_transaction() {
    scenarios::autocommit_races_open_transaction(store());
}

#[test]
fn pages_read_in_place() {
    scenarios::pages_read_in_place(store());
}

#[test]
fn snapshot_isolation() {
    scenarios::snapshot_isolation(store());
}

#[test]
fn create_index_then_insert_conflicts() {
    scenarios::create_index_vs_insert(store(), true);
}

#[test]
fn insert_then_create_index_conflicts() {
    scenarios::create_index_vs_insert(store(), false);
}

#[test]
fn bounded_pool() {
    scenarios::bounded_pool(store());
}

#[test]
fn reopen() {
    scenarios::reopen(store());
}

#[test]
fn locking_reads_conflict() {
    scenarios::locking_reads(store(), true);
}

#[test]
fn plain_reads_do_not_conflict() {
    scenarios::locking_reads(store(), false);
}

#[test]
fn rollbacks_keep_data() {
    scenarios::rollbacks_keep_data(store());
}

#[test]
fn threads_insert_all_rows() {
    scenarios::threads_insert_all_rows(store());
}

#[test]
fn pins_are_released() {
    let mem = MemStore::new(16384);
    let e = Engine::new(mem.clone(), EngineConfig::default()).unwrap();
    // The buffer pool's own pin, at its applied LSN.
    assert_eq!(mem.pins.load(Ordering::SeqCst), 1);
    {
        let s = e.open_session().unwrap();
        s.conn()
            .execute_batch("CREATE TABLE x(a); INSERT INTO x VALUES (1); BEGIN; SELECT * FROM x;")
            .unwrap();
        assert!(mem.pins.load(Ordering::SeqCst) > 1);
        s.conn().execute_batch("COMMIT").unwrap();
        assert_eq!(mem.pins.load(Ordering::SeqCst), 1);
    }
    assert_eq!(mem.pins.load(Ordering::SeqCst), 1);
    drop(e);
    assert_eq!(
        mem.pins.load(Ordering::SeqCst),
        0,
        "the pool's pin goes with the engine"
    );
}

#[test]
fn page_size_mismatch_is_rejected() {
    let cfg = EngineConfig {
        page_size: 4096,
        ..EngineConfig::default()
    };
    assert!(Engine::new(store(), cfg).is_err());
}

#[test]
fn wal_cannot_be_enabled() {
    let e = Engine::new(store(), EngineConfig::default()).unwrap();
    let s = e.open_session().unwrap();
    s.conn()
        .execute_batch("CREATE TABLE x(a); INSERT INTO x VALUES (1);")
        .unwrap();
    let mode: Result<String, _> = s
        .conn()
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0));
    assert_ne!(mode.ok().as_deref(), Some("wal"));
    let n: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM x", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn spilled_transactions_discarded() {
    scenarios::spilled_transactions_discarded(store());
}

#[test]
fn vacuum_shrinks() {
    scenarios::vacuum_shrinks(store());
}

#[test]
fn second_engine_applies_changes() {
    scenarios::second_engine_applies_changes(store(), false);
}

#[test]
fn engine_and_session_are_thread_safe() {
    fn send<T: Send>() {}
    fn send_sync<T: Send + Sync>() {}
    send::<borealis_engine::EngineSession>();
    send_sync::<Engine>();
}

#[test]
fn other_journal_modes_do_not_escape_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = std::env::current_dir().unwrap();
    let before: Vec<_> = std::fs::read_dir(&cwd)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let e = Engine::new(store(), EngineConfig::default()).unwrap();
    let s = e.open_session().unwrap();
    s.conn()
        .execute_batch("CREATE TABLE x(a); INSERT INTO x VALUES (1);")
        .unwrap();
    // A rollback journal in another mode is still the VFS's buffer in memory: the write
    // commits, and no journal file appears.
    let _ = s
        .conn()
        .query_row("PRAGMA journal_mode=DELETE", [], |r| r.get::<_, String>(0));
    s.conn().execute("INSERT INTO x VALUES (2)", []).unwrap();
    // WAL under exclusive locking would need a -wal file: refused as well.
    let _ = s
        .conn()
        .execute_batch("PRAGMA journal_mode=MEMORY; PRAGMA locking_mode=EXCLUSIVE;");
    let _ = s
        .conn()
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0));
    let _ = s.conn().execute("INSERT INTO x VALUES (3)", []);
    let after: Vec<_> = std::fs::read_dir(&cwd)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        before.len(),
        after.len(),
        "no files appeared in {cwd:?}: {after:?}"
    );
    let other = e.open_session().unwrap();
    let n: i64 = other
        .conn()
        .query_row("SELECT count(*) FROM x WHERE a = 2", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);

    let ok: String = other
        .conn()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    drop(dir);
}

#[test]
fn autocommit_statement_loses() {
    scenarios::autocommit_statement_loses(store());
}

#[test]
fn bank_transfers_keep_total() {
    scenarios::bank_transfers_keep_total(store());
}

#[test]
fn malformed_change_is_rejected() {
    use borealis_pagestore::{ByteRange, CommittedChange, PageDelta};
    let e = Engine::new(store(), EngineConfig::default()).unwrap();
    let bad = CommittedChange {
        lsn: 1,
        origin: 2,
        db_pages: 1,
        deltas: Arc::new(vec![PageDelta {
            page_no: 1,
            ranges: vec![ByteRange {
                offset: 16380,
                bytes: vec![0; 8],
            }],
        }]),
    };
    assert!(e.apply_change(&bad).is_err());
    assert_eq!(e.applied_lsn(), 0);
}

#[test]
fn commit_after_concurrent_growth() {
    scenarios::commit_after_concurrent_growth(store());
}

#[test]
fn concurrent_growing_inserts() {
    scenarios::concurrent_growing_inserts(store(), 4, 300);
}

#[test]
fn append_races_a_quick_split() {
    scenarios::append_races_a_quick_split(store(), 0);
}

#[test]
fn append_after_appends_races_a_quick_split() {
    scenarios::append_races_a_quick_split(store(), 2);
}

#[test]
fn append_ignores_a_split_in_another_table() {
    scenarios::append_ignores_a_split_in_another_table(store());
}
