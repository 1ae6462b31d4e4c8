//! Engine scenarios, each run against any `PageStore` (the in-memory double and, where
//! available, `LocalPageStore`).
#![allow(dead_code)]

use borealis_engine::{is_conflict, Engine, EngineConfig, EngineSession};
use borealis_pagestore::{ConflictReason, PageStore};
use rusqlite::params;
use std::sync::Arc;

pub fn engine(store: Arc<dyn PageStore>) -> Arc<Engine> {
    engine_with(store, EngineConfig::default())
}

pub fn engine_with(store: Arc<dyn PageStore>, cfg: EngineConfig) -> Arc<Engine> {
    Engine::new(store, cfg).expect("engine")
}

fn exec(s: &EngineSession, sql: &str) {
    s.conn()
        .execute_batch(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn count(s: &EngineSession, sql: &str) -> i64 {
    s.conn()
        .query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn text(s: &EngineSession, sql: &str) -> String {
    s.conn()
        .query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn root_page(s: &EngineSession, name: &str) -> u32 {
    s.conn()
        .query_row(
            "SELECT rootpage FROM sqlite_master WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .expect("rootpage")
}

/// Two tables `a` and `b`, each with a few rows (so later single-row inserts do not grow the
/// database).
fn setup(e: &Arc<Engine>) {
    let s = e.open_session().expect("session");
    exec(
        &s,
        "CREATE TABLE a(id INTEGER PRIMARY KEY, v TEXT);
         CREATE TABLE b(id INTEGER PRIMARY KEY, v TEXT);
         INSERT INTO a VALUES (1, 'a1'), (2, 'a2');
         INSERT INTO b VALUES (1, 'b1'), (2, 'b2');",
    );
}

pub fn disjoint_tables_both_commit(store: Arc<dyn PageStore>) {
    let e = engine(store);
    setup(&e);
    let s1 = e.open_session().unwrap();
    let s2 = e.open_session().unwrap();
    exec(&s1, "BEGIN; INSERT INTO a VALUES (10, 'x');");
    exec(&s2, "BEGIN; INSERT INTO b VALUES (10, 'y');");
    exec(&s1, "COMMIT");
    exec(&s2, "COMMIT");
    let s3 = e.open_session().unwrap();
    assert_eq!(count(&s3, "SELECT count(*) FROM a"), 3);
    assert_eq!(count(&s3, "SELECT count(*) FROM b"), 3);
    assert!(s1.last_commit_lsn().is_some() && s2.last_commit_lsn() > s1.last_commit_lsn());
    assert!(e.applied_lsn() >= s2.last_commit_lsn().unwrap());
    assert_eq!(e.stats().conflicts, 0);
}

pub fn same_row_second_commit_conflicts(store: Arc<dyn PageStore>) {
    let e = engine(store);
    setup(&e);
    let s1 = e.open_session().unwrap();
    let s2 = e.open_session().unwrap();
    let a_root = root_page(&s1, "a");
    exec(&s1, "BEGIN; UPDATE a SET v = 'first' WHERE id = 1;");
    exec(
        &s2,
        "BEGIN; INSERT INTO b VALUES (20, 'lost'); UPDATE a SET v = 'second' WHERE id = 1;",
    );
    exec(&s1, "COMMIT");
    let err = s2
        .conn()
        .execute_batch("COMMIT")
        .expect_err("second committer must lose");
    assert!(is_conflict(&err), "not a conflict: {err:?}");
    assert!(s2.conn().is_autocommit(), "transaction must be rolled back");
    let lost = s2.take_lost_commit().expect("conflict details");
    assert!(!lost.locked_only, "the page was written: {lost:?}");
    let c = lost.conflict;
    assert_eq!(c.reason, ConflictReason::PageChanged);
    assert_eq!(c.page_no, a_root);
    assert_eq!(Some(c.winner_lsn), s1.last_commit_lsn());
    assert!(s2.take_conflict().is_none(), "taken once");
    // The whole transaction is gone, the winner's data is visible, the session is usable.
    assert_eq!(count(&s2, "SELECT count(*) FROM b WHERE id = 20"), 0);
    assert_eq!(text(&s2, "SELECT v FROM a WHERE id = 1"), "first");
    exec(&s2, "UPDATE a SET v = 'retried' WHERE id = 1");
    assert_eq!(text(&s1, "SELECT v FROM a WHERE id = 1"), "retried");
    assert_eq!(e.stats().conflicts, 1);
}

pub fn autocommit_races_open_transaction(store: Arc<dyn PageStore>) {
    let e = engine(store);
    setup(&e);
    let s1 = e.open_session().unwrap();
    let s2 = e.open_session().unwrap();
    exec(&s1, "BEGIN; UPDATE a SET v = 'txn' WHERE id = 2;");
    exec(&s2, "UPDATE a SET v = 'auto' WHERE id = 2");
    let err = s1
        .conn()
        .execute_batch("COMMIT")
        .expect_err("later commit loses");
    assert!(is_conflict(&err), "{err:?}");
    assert!(s1.take_conflict().is_some());
    assert_eq!(text(&s1, "SELECT v FROM a WHERE id = 2"), "auto");
}

pub fn snapshot_isolation(store: Arc<dyn PageStore>) {
    let e = engine(store);
    setup(&e);
    let s1 = e.open_session().unwrap();
    let s2 = e.open_session().unwrap();
    assert_eq!(s1.snapshot_lsn(), None);
    exec(&s1, "BEGIN");
    assert_eq!(count(&s1, "SELECT count(*) FROM a"), 2);
    let snap = s1.snapshot_lsn().expect("pinned inside the transaction");
    exec(
        &s2,
        "INSERT INTO a VALUES (3, 'new'); UPDATE a SET v = 'changed' WHERE id = 1;",
    );
    assert!(e.applied_lsn() > snap);
    assert_eq!(count(&s1, "SELECT count(*) FROM a"), 2);
    assert_eq!(text(&s1, "SELECT v FROM a WHERE id = 1"), "a1");
    assert_eq!(s1.snapshot_lsn(), Some(snap));
    exec(&s1, "COMMIT");
    assert_eq!(s1.snapshot_lsn(), None);
    assert_eq!(count(&s1, "SELECT count(*) FROM a"), 3);
    assert_eq!(text(&s1, "SELECT v FROM a WHERE id = 1"), "changed");
}

/// Clean pages are read in place (xFetch) while a cursor needs them and released after; a
/// reader in place keeps its snapshot while another session commits, and a session's reads
/// after its own commit see that commit.
pub fn pages_read_in_place(store: Arc<dyn PageStore>) {
    let e = engine(store);
    setup(&e);
    let s1 = e.open_session().unwrap();
    let s2 = e.open_session().unwrap();
    fill(&s1, "a", 100, 2000); // a few pages: the scan crosses leaves
    assert_eq!(s1.pages_read_in_place().0, 0);
    exec(&s1, "BEGIN");
    {
        let mut stmt = s1
            .conn()
            .prepare("SELECT id, v FROM a ORDER BY id")
            .unwrap();
        let mut rows = stmt.query([]).unwrap();
        let first = rows.next().unwrap().expect("a row");
        assert_eq!(first.get::<_, i64>(0).unwrap(), 1);
        assert!(
            s1.pages_read_in_place().0 > 0,
            "an open cursor reads its leaf in place"
        );
        // Another session rewrites every row while the cursor is open.
        exec(&s2, "UPDATE a SET v = 'changed'");
        let mut seen = 1;
        while let Some(row) = rows.next().unwrap() {
            assert_ne!(row.get::<_, String>(1).unwrap(), "changed");
            seen += 1;
        }
        assert_eq!(seen, 2002);
    }
    assert_eq!(
        s1.pages_read_in_place().0,
        0,
        "released once the statement is done"
    );
    exec(&s1, "COMMIT");
    // A commit while a cursor of the same connection holds SQLite's lock: SQLite's cache then
    // holds the committed pages as clean, so nothing more is read in place until it unlocks.
    {
        let mut stmt = s1.conn().prepare("SELECT v FROM a ORDER BY id").unwrap();
        let mut rows = stmt.query([]).unwrap();
        rows.next().unwrap().expect("a row");
        exec(&s1, "UPDATE b SET v = 'during a scan' WHERE id = 1");
        let (_, fetched) = s1.pages_read_in_place();
        let mut seen = 1;
        while rows.next().unwrap().is_some() {
            seen += 1;
        }
        assert_eq!(seen, 2002);
        assert_eq!(
            s1.pages_read_in_place().1,
            fetched,
            "no page read in place after the commit under the same lock"
        );
    }
    assert_eq!(text(&s1, "SELECT v FROM b WHERE id = 1"), "during a scan");
    exec(&s1, "UPDATE a SET v = 'mine' WHERE id = 1500");
    assert_eq!(text(&s1, "SELECT v FROM a WHERE id = 1500"), "mine");
    assert_eq!(
        count(&s1, "SELECT count(*) FROM a WHERE v = 'changed'"),
        2001
    );
    assert_eq!(s1.pages_read_in_place().0, 0);
    assert_eq!(s2.pages_read_in_place().0, 0);
}

fn fill(s: &EngineSession, table: &str, from: i64, n: i64) {
    let tx = s.conn().unchecked_transaction().unwrap();
    for i in from..from + n {
        tx.execute(
            &format!("INSERT INTO {table} VALUES (?1, ?2)"),
            params![i, format!("value-{i:06}")],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

pub fn create_index_vs_insert(store: Arc<dyn PageStore>, ddl_first: bool) {
    let e = engine(store);
    setup(&e);
    let s1 = e.open_session().unwrap();
    fill(&s1, "a", 100, 500);
    let ddl = e.open_session().unwrap();
    let dml = e.open_session().unwrap();
    exec(&ddl, "BEGIN; CREATE INDEX a_v ON a(v);");
    exec(&dml, "BEGIN; INSERT INTO a VALUES (5000, 'zzz-inserted');");
    let (winner, loser) = if ddl_first {
        (&ddl, &dml)
    } else {
        (&dml, &ddl)
    };
    exec(winner, "COMMIT");
    let err = loser
        .conn()
        .execute_batch("COMMIT")
        .expect_err("later committer conflicts");
    assert!(is_conflict(&err), "{err:?}");
    let c = loser.take_conflict().expect("details");
    if ddl_first {
        assert_eq!(c.reason, ConflictReason::SchemaChanged, "{c:?}");
    }
    // Retry the loser; the index must be complete.
    if ddl_first {
        exec(&dml, "INSERT INTO a VALUES (5000, 'zzz-inserted')");
    } else {
        exec(&ddl, "CREATE INDEX a_v ON a(v)");
    }
    let check = e.open_session().unwrap();
    assert_eq!(text(&check, "PRAGMA integrity_check"), "ok");
    assert_eq!(
        count(
            &check,
            "SELECT count(*) FROM a INDEXED BY a_v WHERE v = 'zzz-inserted'"
        ),
        1
    );
}

pub fn bounded_pool(store: Arc<dyn PageStore>) {
    let cfg = EngineConfig {
        buffer_pool_bytes: 1024 * 1024,
        ..EngineConfig::default()
    };
    let e = engine_with(store, cfg);
    let s = e.open_session().unwrap();
    exec(&s, "CREATE TABLE big(id INTEGER PRIMARY KEY, data BLOB)");
    let row = |i: i64| -> Vec<u8> { (0..10_000).map(|j| ((i * 7 + j) % 251) as u8).collect() };
    for chunk in 0..4 {
        let tx = s.conn().unchecked_transaction().unwrap();
        for i in chunk * 100..(chunk + 1) * 100 {
            tx.execute("INSERT INTO big VALUES (?1, ?2)", params![i, row(i)])
                .unwrap();
        }
        tx.commit().unwrap();
    }
    let reader = e.open_session().unwrap();
    let mut stmt = reader
        .conn()
        .prepare("SELECT id, data FROM big ORDER BY id")
        .unwrap();
    let rows: Vec<(i64, Vec<u8>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 400);
    for (i, data) in rows {
        assert_eq!(data, row(i), "row {i}");
    }
    let stats = e.stats();
    assert!(stats.pool_bytes <= stats.pool_capacity_bytes, "{stats:?}");
    assert!(stats.pool_capacity_bytes <= 1024 * 1024);
    assert!(stats.pool_evictions > 0, "{stats:?}");
    assert!(
        stats.pool_misses > 0 && stats.pages_written > 200,
        "{stats:?}"
    );
}

pub fn reopen(store: Arc<dyn PageStore>) {
    {
        let e = engine(store.clone());
        setup(&e);
        let s = e.open_session().unwrap();
        fill(&s, "b", 100, 300);
    }
    let e = engine(store);
    let s = e.open_session().unwrap();
    assert_eq!(count(&s, "SELECT count(*) FROM b"), 302);
    assert_eq!(text(&s, "SELECT v FROM b WHERE id = 250"), "value-000250");
    assert_eq!(text(&s, "PRAGMA integrity_check"), "ok");
}

pub fn locking_reads(store: Arc<dyn PageStore>, locking: bool) {
    let e = engine(store);
    setup(&e);
    let a = e.open_session().unwrap();
    let b = e.open_session().unwrap();
    a.set_locking_reads(locking);
    exec(&a, "BEGIN");
    assert_eq!(text(&a, "SELECT v FROM a WHERE id = 1"), "a1");
    a.set_locking_reads(false);
    exec(&b, "UPDATE a SET v = 'b-wins' WHERE id = 1");
    exec(&a, "UPDATE b SET v = 'from-a' WHERE id = 1");
    let result = a.conn().execute_batch("COMMIT");
    if locking {
        let err = result.expect_err("a locked page changed");
        assert!(is_conflict(&err), "{err:?}");
        let lost = a.take_lost_commit().expect("conflict details");
        assert!(
            lost.locked_only,
            "the page was read FOR UPDATE, not written: {lost:?}"
        );
        assert_eq!(text(&a, "SELECT v FROM b WHERE id = 1"), "b1");
    } else {
        result.expect("without locking reads there is no conflict");
        assert_eq!(text(&a, "SELECT v FROM b WHERE id = 1"), "from-a");
    }
}

pub fn rollbacks_keep_data(store: Arc<dyn PageStore>) {
    let e = engine(store);
    setup(&e);
    let s = e.open_session().unwrap();
    exec(&s, "CREATE TABLE u(id INTEGER PRIMARY KEY, k TEXT UNIQUE)");
    exec(
        &s,
        "BEGIN; INSERT INTO a VALUES (30, 'gone'); UPDATE b SET v = 'gone' WHERE id = 1; ROLLBACK;",
    );
    assert_eq!(count(&s, "SELECT count(*) FROM a"), 2);
    assert_eq!(text(&s, "SELECT v FROM b WHERE id = 1"), "b1");
    exec(&s, "BEGIN; INSERT INTO u VALUES (1, 'one');");
    let err = s
        .conn()
        .execute_batch("INSERT INTO u VALUES (2, 'two'), (3, 'three'), (4, 'one')");
    assert!(err.is_err(), "unique violation");
    assert!(
        !s.conn().is_autocommit(),
        "statement rollback keeps the transaction"
    );
    exec(&s, "COMMIT");
    let other = e.open_session().unwrap();
    assert_eq!(count(&other, "SELECT count(*) FROM u"), 1);
    assert_eq!(text(&other, "SELECT k FROM u"), "one");
    assert_eq!(text(&other, "PRAGMA integrity_check"), "ok");
}

pub fn threads_insert_all_rows(store: Arc<dyn PageStore>) {
    const THREADS: usize = 8;
    const ROWS: i64 = 200;
    let e = engine(store);
    let s = e.open_session().unwrap();
    for t in 0..THREADS {
        exec(
            &s,
            &format!("CREATE TABLE t{t}(id INTEGER PRIMARY KEY, v TEXT)"),
        );
    }
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let e = e.clone();
            std::thread::spawn(move || {
                let s = e.open_session().unwrap();
                let mut conflicts = 0;
                for i in 0..ROWS {
                    // Bounded retries: a conflict storm must fail the test, not hang it.
                    let mut attempts = 0;
                    loop {
                        match s.conn().execute(
                            &format!("INSERT INTO t{t} VALUES (?1, ?2)"),
                            params![i, format!("row {i} of {t}")],
                        ) {
                            Ok(_) => break,
                            Err(err) if is_conflict(&err) && attempts < 10_000 => {
                                attempts += 1;
                                conflicts += 1;
                                assert!(s.conn().is_autocommit());
                            }
                            Err(err) => panic!("thread {t} row {i}: {err}"),
                        }
                    }
                }
                conflicts
            })
        })
        .collect();
    let conflicts: usize = handles.into_iter().map(|h| h.join().expect("thread")).sum();
    let check = e.open_session().unwrap();
    for t in 0..THREADS {
        assert_eq!(
            count(&check, &format!("SELECT count(*) FROM t{t}")),
            ROWS,
            "table t{t}"
        );
        assert_eq!(
            count(&check, &format!("SELECT sum(id) FROM t{t}")),
            ROWS * (ROWS - 1) / 2
        );
    }
    assert_eq!(text(&check, "PRAGMA integrity_check"), "ok");
    assert_eq!(e.stats().conflicts as usize, conflicts);
}

/// A transaction large enough to spill SQLite's page cache into the file, then rolled back or
/// beaten by a concurrent commit: nothing of it may remain.
pub fn spilled_transactions_discarded(store: Arc<dyn PageStore>) {
    let e = engine(store);
    setup(&e);
    let s = e.open_session().unwrap();
    let other = e.open_session().unwrap();
    let blob = vec![7u8; 8000];
    exec(&s, "BEGIN");
    for i in 0..300 {
        s.conn()
            .execute("INSERT INTO a VALUES (?1, ?2)", params![1000 + i, blob])
            .unwrap();
    }
    exec(&s, "ROLLBACK");
    assert_eq!(count(&s, "SELECT count(*) FROM a"), 2);
    assert_eq!(count(&other, "SELECT count(*) FROM a"), 2);

    exec(&s, "BEGIN; UPDATE a SET v = 'loser' WHERE id = 1;");
    for i in 0..300 {
        s.conn()
            .execute("INSERT INTO b VALUES (?1, ?2)", params![1000 + i, blob])
            .unwrap();
    }
    exec(&other, "UPDATE a SET v = 'winner' WHERE id = 1");
    let err = s.conn().execute_batch("COMMIT").expect_err("conflict");
    assert!(is_conflict(&err), "{err:?}");
    assert!(s.conn().is_autocommit());
    assert_eq!(count(&s, "SELECT count(*) FROM b"), 2);
    assert_eq!(text(&s, "SELECT v FROM a WHERE id = 1"), "winner");
    assert_eq!(text(&s, "PRAGMA integrity_check"), "ok");
}

/// VACUUM rebuilds through a temporary database and truncates the file.
pub fn vacuum_shrinks(store: Arc<dyn PageStore>) {
    let e = engine(store.clone());
    setup(&e);
    let s = e.open_session().unwrap();
    fill(&s, "b", 100, 2000);
    exec(&s, "DELETE FROM b WHERE id >= 100");
    let before = count(&s, "PRAGMA page_count");
    exec(&s, "VACUUM");
    let after = count(&s, "PRAGMA page_count");
    assert!(after < before, "{after} < {before}");
    assert_eq!(store.db_pages(e.applied_lsn()).unwrap() as i64, after);
    let other = e.open_session().unwrap();
    assert_eq!(count(&other, "SELECT count(*) FROM b"), 2);
    assert_eq!(text(&other, "PRAGMA integrity_check"), "ok");
    fill(&other, "b", 100, 100);
    assert_eq!(count(&s, "SELECT count(*) FROM b"), 102);
}

/// Two engines on one store, as two instances: the second sees the first's commits once they
/// are applied (replication), and its own commit catches up from the change feed. A store
/// that hands durable commits to its engines (`hands_commits`, the in-process one) applies
/// them to both at once.
pub fn second_engine_applies_changes(store: Arc<dyn PageStore>, hands_commits: bool) {
    let e1 = engine(store.clone());
    let e2 = engine(store.clone());
    setup(&e1);
    let s2 = e2.open_session().unwrap();
    let has_a = |s: &EngineSession| count(s, "SELECT count(*) FROM sqlite_master WHERE name = 'a'");
    assert_eq!(
        has_a(&s2),
        i64::from(hands_commits),
        "applied only if handed over"
    );
    let mut feed = store.subscribe(e2.applied_lsn()).unwrap();
    while let Some(change) = feed
        .next_change(std::time::Duration::from_millis(10))
        .unwrap()
    {
        e2.apply_change(&change).unwrap();
        e2.apply_change(&change).unwrap(); // duplicates are ignored
    }
    assert_eq!(e2.applied_lsn(), store.latest_lsn());
    assert_eq!(has_a(&s2), 1);
    assert_eq!(text(&s2, "SELECT v FROM a WHERE id = 2"), "a2");
    // e1 commits again; e2 commits without having applied it: its commit catches up.
    let s1 = e1.open_session().unwrap();
    exec(&s1, "UPDATE a SET v = 'from-e1' WHERE id = 1");
    exec(&s2, "UPDATE b SET v = 'from-e2' WHERE id = 1");
    assert_eq!(e2.applied_lsn(), store.latest_lsn());
    assert_eq!(text(&s2, "SELECT v FROM a WHERE id = 1"), "from-e1");
    assert_eq!(text(&s2, "SELECT v FROM b WHERE id = 1"), "from-e2");
}

/// An autocommit statement that loses: another session commits to the same page while the
/// statement runs (from inside a SQL function), so the statement's implicit commit conflicts.
pub fn autocommit_statement_loses(store: Arc<dyn PageStore>) {
    use rusqlite::functions::FunctionFlags;
    use std::sync::Mutex;
    let e = engine(store);
    setup(&e);
    let s = e.open_session().unwrap();
    let sneaky = Mutex::new(Some(e.open_session().unwrap()));
    s.conn()
        .create_scalar_function("sneak", 0, FunctionFlags::SQLITE_UTF8, move |_ctx| {
            if let Some(other) = sneaky.lock().unwrap().take() {
                other
                    .conn()
                    .execute_batch("UPDATE a SET v = 'sneaked' WHERE id = 1")
                    .unwrap();
            }
            Ok("mine".to_string())
        })
        .unwrap();
    let err = s
        .conn()
        .execute("UPDATE a SET v = sneak() WHERE id = 1", [])
        .expect_err("conflict");
    assert!(is_conflict(&err), "{err:?}");
    assert!(s.conn().is_autocommit());
    assert!(s.take_conflict().is_some());
    // The same row: no merge can save it (a different row of the page would be merged).
    assert_eq!(text(&s, "SELECT v FROM a WHERE id = 1"), "sneaked");
    // The retry wins.
    s.conn()
        .execute("UPDATE a SET v = sneak() WHERE id = 1", [])
        .unwrap();
    assert_eq!(text(&s, "SELECT v FROM a WHERE id = 1"), "mine");
}

/// Bank transfers from several threads, each in an explicit transaction retried on conflict:
/// the total never changes and every acknowledged transfer is counted exactly once.
pub fn bank_transfers_keep_total(store: Arc<dyn PageStore>) {
    const THREADS: i64 = 4;
    const TRANSFERS: i64 = 60;
    const ACCOUNTS: i64 = 10;
    let e = engine(store);
    let s = e.open_session().unwrap();
    exec(&s, "CREATE TABLE acct(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL); CREATE TABLE done(n INTEGER);");
    for i in 0..ACCOUNTS {
        s.conn()
            .execute("INSERT INTO acct VALUES (?1, 1000)", [i])
            .unwrap();
    }
    s.conn().execute("INSERT INTO done VALUES (0)", []).unwrap();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let e = e.clone();
            std::thread::spawn(move || {
                let s = e.open_session().unwrap();
                for k in 0..TRANSFERS {
                    let from = (t * 7 + k) % ACCOUNTS;
                    let to = (from + 1 + k % 3) % ACCOUNTS;
                    // Bounded retries: a livelock must fail the test, not hang it.
                    for attempt in 0.. {
                        assert!(attempt < 10_000, "transfer never committed");
                        let r = s.conn().execute_batch(&format!(
                            "BEGIN;
                             UPDATE acct SET balance = balance - 5 WHERE id = {from};
                             UPDATE acct SET balance = balance + 5 WHERE id = {to};
                             UPDATE done SET n = n + 1;
                             COMMIT;"
                        ));
                        match r {
                            Ok(()) => break,
                            Err(err) if is_conflict(&err) => assert!(s.conn().is_autocommit()),
                            Err(err) => panic!("transfer: {err}"),
                        }
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    let check = e.open_session().unwrap();
    assert_eq!(
        count(&check, "SELECT sum(balance) FROM acct"),
        ACCOUNTS * 1000
    );
    assert_eq!(count(&check, "SELECT n FROM done"), THREADS * TRANSFERS);
}

/// A commit that does not resize the file lands after a concurrent commit grew it: the
/// database keeps the grown size (the store's rule), and so must the engine's buffer pool, or
/// later snapshots cut off the new pages that page 1's header still counts.
pub fn commit_after_concurrent_growth(store: Arc<dyn PageStore>) {
    let e = engine(store);
    setup(&e);
    let a = e.open_session().unwrap();
    let b = e.open_session().unwrap();
    exec(&a, "BEGIN");
    assert_eq!(count(&a, "SELECT count(*) FROM a"), 2);
    let before = e
        .store()
        .db_pages(a.snapshot_lsn().expect("snapshot"))
        .unwrap();
    exec(
        &b,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
         INSERT INTO b SELECT i + 10, printf('%.2000c', 'g') FROM n",
    );
    let grown = e.store().db_pages(e.applied_lsn()).unwrap();
    assert!(grown > before, "b's insert must grow the file");
    exec(&a, "UPDATE a SET v = 'a1 again' WHERE id = 1; COMMIT");
    let lsn = a.last_commit_lsn().expect("a committed");
    assert_eq!(e.store().db_pages(lsn).unwrap(), grown);
    for s in [&e.open_session().unwrap(), &a] {
        assert_eq!(text(s, "PRAGMA integrity_check"), "ok");
        assert_eq!(count(s, "SELECT count(*) FROM b"), 42);
        assert_eq!(text(s, "SELECT v FROM a WHERE id = 1"), "a1 again");
    }
}

/// Several sessions insert rows large enough to allocate pages into two shared tables, each
/// insert in its own transaction (as sysbench `oltp_insert` does), retrying lost commits a
/// bounded number of times. Growing the database conflicts on page 1 by design; every
/// acknowledged row must be there afterwards and the file must stay consistent.
pub fn concurrent_growing_inserts(store: Arc<dyn PageStore>, threads: usize, rows: usize) {
    const MAX_ATTEMPTS: usize = 1_000;
    let e = engine(store);
    let s = e.open_session().unwrap();
    exec(
        &s,
        "CREATE TABLE g0(id INTEGER PRIMARY KEY, k INTEGER, c TEXT);
         CREATE INDEX g0_k ON g0(k);
         CREATE TABLE g1(id INTEGER PRIMARY KEY, k INTEGER, c TEXT);
         CREATE INDEX g1_k ON g1(k);",
    );
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let e = e.clone();
            std::thread::spawn(move || {
                let s = e.open_session().unwrap();
                let mut acked = [0i64; 2];
                for i in 0..rows {
                    let table = (i + t) % 2;
                    // Ids interleave across threads so that sessions write the same leaves.
                    let id = (i * threads + t) as i64;
                    let sql = format!("INSERT INTO g{table} VALUES (?1, ?2, ?3)");
                    let mut attempts = 0;
                    loop {
                        attempts += 1;
                        let result = s.conn().execute_batch("BEGIN").and_then(|()| {
                            s.conn()
                                .execute(&sql, params![id, id * 7 % 1000, "x".repeat(300)])?;
                            s.conn().execute_batch("COMMIT")
                        });
                        match result {
                            Ok(()) => {
                                acked[table] += 1;
                                break;
                            }
                            Err(err) if is_conflict(&err) && attempts < MAX_ATTEMPTS => {
                                assert!(s.conn().is_autocommit(), "a lost commit rolls back");
                                // Back off as a client does (the instance waits for the
                                // winner and adds jitter): retrying at once, a thread that
                                // runs slower than the others (a loaded machine) lost 1,000
                                // times in a row to them growing the same pages.
                                let micros = 10 * (attempts.min(100) + t) as u64;
                                std::thread::sleep(std::time::Duration::from_micros(micros));
                            }
                            Err(err) => panic!("thread {t} row {i} attempt {attempts}: {err}"),
                        }
                    }
                }
                acked
            })
        })
        .collect();
    let mut acked = [0i64; 2];
    for h in handles {
        let a = h.join().expect("inserting thread");
        acked[0] += a[0];
        acked[1] += a[1];
    }
    let check = e.open_session().unwrap();
    assert_eq!(text(&check, "PRAGMA integrity_check"), "ok");
    for (table, want) in acked.iter().enumerate() {
        assert_eq!(
            count(&check, &format!("SELECT count(*) FROM g{table}")),
            *want,
            "table g{table}"
        );
    }
}

/// Sessions updating, deleting and re-inserting random rows of a small table (a few leaf pages,
/// with a secondary index) at once: with leaf merges most of them commit, and the database
/// stays consistent: integrity_check passes, and the table and its index hold every row once.
pub fn merged_row_changes_stay_consistent(store: Arc<dyn PageStore>) {
    const THREADS: i64 = 4;
    const OPS: i64 = 150;
    const ROWS: i64 = 400;
    let e = engine(store);
    let s = e.open_session().unwrap();
    exec(
        &s,
        "CREATE TABLE r(id INTEGER PRIMARY KEY, k INTEGER NOT NULL, ver INTEGER NOT NULL, pad TEXT);
         CREATE INDEX r_k ON r(k);",
    );
    for i in 0..ROWS {
        s.conn()
            .execute("INSERT INTO r VALUES (?1, ?1, 0, 'pad')", [i])
            .unwrap();
    }
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let e = e.clone();
            std::thread::spawn(move || {
                let s = e.open_session().unwrap();
                let (mut committed, mut lost) = (0i64, 0i64);
                let mut x = (t as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                for _ in 0..OPS {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let id = (x % ROWS as u64) as i64;
                    let sql = match x % 4 {
                        // Update in place (the index entry moves to the index's end).
                        0 => format!("UPDATE r SET k = k + {ROWS}, ver = ver + 1 WHERE id = {id}"),
                        // oltp_update_index's move: the entry passes its neighbours of equal k
                        // (merged as an edit of the current index leaf).
                        3 => format!("UPDATE r SET k = k + 1, ver = ver + 1 WHERE id = {id}"),
                        // Delete and re-insert the same row in one transaction.
                        1 => format!(
                            "DELETE FROM r WHERE id = {id}; \
                             INSERT INTO r VALUES ({id}, {id}, 1, 'again')"
                        ),
                        _ => format!("UPDATE r SET pad = 'p{x}', ver = ver + 1 WHERE id = {id}"),
                    };
                    let r = s.conn().execute_batch(&format!("BEGIN; {sql}; COMMIT;"));
                    match r {
                        Ok(()) => committed += 1,
                        Err(err) if is_conflict(&err) => lost += 1,
                        Err(err) => panic!("{sql}: {err}"),
                    }
                }
                (committed, lost)
            })
        })
        .collect();
    let (mut committed, mut lost) = (0, 0);
    for h in handles {
        let (c, l) = h.join().expect("thread");
        committed += c;
        lost += l;
    }
    let check = e.open_session().unwrap();
    assert_eq!(text(&check, "PRAGMA integrity_check"), "ok");
    assert_eq!(
        count(&check, "SELECT count(*) FROM r"),
        ROWS,
        "every row is still there once"
    );
    assert_eq!(
        count(&check, "SELECT count(*) FROM r INDEXED BY r_k WHERE k >= 0"),
        ROWS,
        "the index holds every row"
    );
    assert!(
        committed > lost,
        "merges let most commit: {committed} committed, {lost} lost"
    );
    let merges = e.store().stats().merges;
    assert!(
        merges > 0,
        "no page was merged ({committed} committed, {lost} lost)"
    );
}

/// A split that leaves the last leaf unchanged (SQLite's balance_quick: a row too big for the
/// last leaf goes to a new page, and only the parent changes) must conflict with a concurrent
/// append to that leaf: the append's row would otherwise sit past the parent's new divider.
/// An append that extends a leaf's range locks that leaf's ancestors only: a split in another
/// table the transaction read does not make it conflict.
pub fn append_ignores_a_split_in_another_table(store: Arc<dyn PageStore>) {
    let e = engine(store);
    let s = e.open_session().unwrap();
    for table in ["t", "u"] {
        exec(
            &s,
            &format!("CREATE TABLE {table}(id INTEGER PRIMARY KEY, v TEXT)"),
        );
        exec(
            &s,
            &format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
                 INSERT INTO {table} SELECT i, printf('%0200d', i) FROM n"
            ),
        );
    }
    let a = e.open_session().unwrap();
    let b = e.open_session().unwrap();
    // a reads both tables' interior pages.
    exec(&a, "BEGIN; SELECT count(*) FROM t; SELECT count(*) FROM u;");
    // b splits u's last leaf: u's interior root changes.
    exec(&b, "INSERT INTO u VALUES (2001, printf('%09000d', 1))");
    // a appends to t: t's ancestors are unchanged, so the commit goes through.
    a.conn()
        .execute_batch("INSERT INTO t VALUES (2001, 'small'); COMMIT;")
        .expect("no conflict with a split in another table");
    let check = e.open_session().unwrap();
    assert_eq!(text(&check, "PRAGMA integrity_check"), "ok");
    assert_eq!(count(&check, "SELECT count(*) FROM t"), 2001);
    assert_eq!(count(&check, "SELECT count(*) FROM u"), 2001);
}

/// A split that leaves the last leaf unchanged races an append onto that leaf (see above).
/// With `earlier_appends` > 0 the appending session first commits that many appends of its own
/// through the same root: the ancestors of its racing append must still be found in the root as
/// that transaction read it, so the split that changed the root since makes it conflict.
pub fn append_races_a_quick_split(store: Arc<dyn PageStore>, earlier_appends: i64) {
    let e = engine(store);
    let s = e.open_session().unwrap();
    exec(&s, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
    // Enough rows for an interior root above the leaves.
    exec(
        &s,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
         INSERT INTO t SELECT i, printf('%0200d', i) FROM n",
    );
    let a = e.open_session().unwrap();
    let b = e.open_session().unwrap();
    for id in 2001..2001 + earlier_appends {
        exec(&a, &format!("INSERT INTO t VALUES ({id}, 'small')"));
    }
    let (big, racing) = (2001 + earlier_appends, 2002 + earlier_appends);
    exec(&a, "BEGIN; SELECT count(*) FROM t;");
    // b appends a row too big for the last leaf: a new leaf, a new divider in the parent.
    exec(
        &b,
        &format!("INSERT INTO t VALUES ({big}, printf('%09000d', 1))"),
    );
    // a appends a small row after it, onto the last leaf it knows.
    let insert = format!("INSERT INTO t VALUES ({racing}, 'small')");
    match a.conn().execute_batch(&format!("{insert}; COMMIT;")) {
        Ok(()) => {}
        Err(err) if is_conflict(&err) => exec(&a, &insert),
        Err(err) => panic!("{err}"),
    }
    let check = e.open_session().unwrap();
    assert_eq!(text(&check, "PRAGMA integrity_check"), "ok");
    assert_eq!(
        count(&check, "SELECT count(*) FROM t WHERE id > 2000"),
        earlier_appends + 2
    );
    assert_eq!(
        text(&check, &format!("SELECT v FROM t WHERE id = {racing}")),
        "small"
    );
}
