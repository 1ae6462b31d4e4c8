//! Page-level optimistic conflicts between sessions of one instance (issue: "the conflict rule").

mod common;

use common::{code_of, server_error, Server};
use mysql_async::prelude::*;

const DEADLOCK: &str = "Deadlock found when trying to get lock; try restarting transaction";

/// `x` and `y` each run one statement in a transaction of their own, both begun before either
/// commits; `x` commits first. Returns `y`'s COMMIT.
async fn race(
    x: &mut mysql_async::Conn,
    y: &mut mysql_async::Conn,
    sql_x: &str,
    sql_y: &str,
) -> Result<(), mysql_async::Error> {
    x.query_drop("BEGIN").await.unwrap();
    y.query_drop("BEGIN").await.unwrap();
    x.query_drop(sql_x).await.unwrap();
    y.query_drop(sql_y).await.unwrap();
    x.query_drop("COMMIT").await.unwrap();
    y.query_drop("COMMIT").await
}

/// Lost commits of `c` get 1213 instead of a replay.
async fn no_replays(c: &mut mysql_async::Conn) {
    c.query_drop("SET SESSION borealis_conflict_retries = 0")
        .await
        .unwrap();
}

async fn status(c: &mut mysql_async::Conn, name: &str) -> u64 {
    let row: Option<(String, u64)> = c
        .query_first(format!("SHOW GLOBAL STATUS LIKE '{name}'"))
        .await
        .unwrap();
    row.map(|r| r.1).unwrap_or(0)
}

async fn setup(s: &Server) {
    let mut c = s.conn_db("cf").await;
    // Two tables: their rows live on different pages. Pre-fill so updates do not grow the file.
    c.query_drop("CREATE TABLE a (id INT PRIMARY KEY, v INT NOT NULL)")
        .await
        .unwrap();
    c.query_drop("CREATE TABLE b (id INT PRIMARY KEY, v INT NOT NULL)")
        .await
        .unwrap();
    c.query_drop("INSERT INTO a VALUES (1, 0), (2, 0), (3, 0)")
        .await
        .unwrap();
    c.query_drop("INSERT INTO b VALUES (1, 0), (2, 0), (3, 0)")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_pages_both_commit() {
    let s = Server::start(&[]);
    setup(&s).await;
    let mut x = s.conn_db("cf").await;
    let mut y = s.conn_db("cf").await;
    let sql_x = "UPDATE a SET v = v + 1 WHERE id = 1";
    let sql_y = "UPDATE b SET v = v + 1 WHERE id = 1";
    race(&mut x, &mut y, sql_x, sql_y).await.unwrap();
    let (va, vb): (i64, i64) = x
        .query_first("SELECT (SELECT v FROM a WHERE id = 1), (SELECT v FROM b WHERE id = 1)")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((va, vb), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_page_later_committer_gets_1213_and_full_rollback() {
    let s = Server::start(&[]);
    setup(&s).await;
    let mut x = s.conn_db("cf").await;
    let mut y = s.conn_db("cf").await;
    // Blind writes would be replayed after the conflict (tested below): this test is about
    // the 1213 itself.
    no_replays(&mut y).await;
    x.query_drop("BEGIN").await.unwrap();
    y.query_drop("START TRANSACTION").await.unwrap();
    // y's first statement touches another table: it must be rolled back too.
    y.query_drop("UPDATE b SET v = 100 WHERE id = 2")
        .await
        .unwrap();
    x.query_drop("UPDATE a SET v = 10 WHERE id = 1")
        .await
        .unwrap();
    // The same row. (Different rows of one page are merged: see the test at the end.)
    y.query_drop("UPDATE a SET v = 20 WHERE id = 1")
        .await
        .unwrap();
    x.query_drop("COMMIT").await.unwrap();
    let e = server_error(y.query_drop("COMMIT").await);
    assert_eq!(e.code, 1213);
    assert_eq!(e.state, "40001");
    assert_eq!(e.message, DEADLOCK);
    // The whole transaction is gone, and the session is usable and out of the transaction.
    let rows: Vec<(i64, i64)> = y.query("SELECT id, v FROM a ORDER BY id").await.unwrap();
    assert_eq!(rows, vec![(1, 10), (2, 0), (3, 0)]);
    let vb: i64 = y
        .query_first("SELECT v FROM b WHERE id = 2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        vb, 0,
        "earlier statement of the losing transaction must be rolled back"
    );
    // Retrying succeeds.
    y.query_drop("BEGIN").await.unwrap();
    y.query_drop("UPDATE a SET v = 20 WHERE id = 1")
        .await
        .unwrap();
    y.query_drop("COMMIT").await.unwrap();
    let v1: i64 = x
        .query_first("SELECT v FROM a WHERE id = 1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v1, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocommit_and_transactions_conflict_on_same_page() {
    let s = Server::start(&[]);
    setup(&s).await;
    let mut x = s.conn_db("cf").await;
    let mut y = s.conn_db("cf").await;
    no_replays(&mut x).await;
    no_replays(&mut y).await;
    // y opens a transaction and writes a row of `a`; x commits the same row first (autocommit).
    y.query_drop("BEGIN").await.unwrap();
    y.query_drop("UPDATE a SET v = 5 WHERE id = 3")
        .await
        .unwrap();
    x.query_drop("UPDATE a SET v = 7 WHERE id = 3")
        .await
        .unwrap();
    assert_eq!(code_of(y.query_drop("COMMIT").await), 1213);
    // Now the reverse: the open transaction commits first, the autocommit statement loses.
    x.query_drop("BEGIN").await.unwrap();
    let snapshot: i64 = x
        .query_first("SELECT v FROM a WHERE id = 3")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot, 7);
    y.query_drop("UPDATE a SET v = 8 WHERE id = 2")
        .await
        .unwrap();
    x.query_drop("UPDATE a SET v = 9 WHERE id = 2")
        .await
        .unwrap();
    assert_eq!(code_of(x.query_drop("COMMIT").await), 1213);
    let status: Vec<(String, String)> = x
        .query("SHOW GLOBAL STATUS LIKE 'Borealis_conflicts'")
        .await
        .unwrap();
    assert_eq!(status[0].1, "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_isolation_repeatable_read() {
    let s = Server::start(&[]);
    setup(&s).await;
    let mut x = s.conn_db("cf").await;
    let mut y = s.conn_db("cf").await;
    x.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        .await
        .unwrap();
    y.query_drop("UPDATE b SET v = 42 WHERE id = 3")
        .await
        .unwrap();
    let inside: i64 = x
        .query_first("SELECT v FROM b WHERE id = 3")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(inside, 0, "a transaction keeps reading its snapshot");
    x.query_drop("COMMIT").await.unwrap();
    let after: i64 = x
        .query_first("SELECT v FROM b WHERE id = 3")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after, 42);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locking_read_prevents_lost_update() {
    let s = Server::start(&[]);
    setup(&s).await;
    let mut x = s.conn_db("cf").await;
    let mut y = s.conn_db("cf").await;
    x.query_drop("BEGIN").await.unwrap();
    let v: i64 = x
        .query_first("SELECT v FROM a WHERE id = 1 FOR UPDATE")
        .await
        .unwrap()
        .unwrap();
    y.query_drop("UPDATE a SET v = v + 1 WHERE id = 1")
        .await
        .unwrap();
    // x writes a different page (table b) based on what it read: must conflict.
    x.exec_drop("UPDATE b SET v = ? WHERE id = 1", (v + 1,))
        .await
        .unwrap();
    assert_eq!(code_of(x.query_drop("COMMIT").await), 1213);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_counter_with_retries_counts_every_acknowledged_increment() {
    let s = Server::start(&[]);
    let mut c = s.conn_db("cnt").await;
    c.query_drop("CREATE TABLE counter (id INT PRIMARY KEY, v BIGINT NOT NULL)")
        .await
        .unwrap();
    c.query_drop("INSERT INTO counter VALUES (1, 0)")
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let opts = s.opts();
        tasks.push(tokio::spawn(async move {
            let mut conn = mysql_async::Conn::new(opts).await.unwrap();
            conn.query_drop("USE cnt").await.unwrap();
            let mut acked = 0u64;
            for _ in 0..50 {
                // Bounded retries: conflicts are expected under contention.
                for _attempt in 0..100 {
                    match conn
                        .query_drop("UPDATE counter SET v = v + 1 WHERE id = 1")
                        .await
                    {
                        Ok(()) => {
                            acked += 1;
                            break;
                        }
                        Err(mysql_async::Error::Server(e)) if e.code == 1213 => continue,
                        Err(e) => panic!("unexpected error {e}"),
                    }
                }
            }
            acked
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    let v: u64 = c
        .query_first("SELECT v FROM counter WHERE id = 1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v, total);
    assert_eq!(total, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_takes_a_new_snapshot_per_statement() {
    let s = Server::start(&[]);
    setup(&s).await;
    let mut x = s.conn_db("cf").await;
    let mut y = s.conn_db("cf").await;
    x.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        .await
        .unwrap();
    x.query_drop("BEGIN").await.unwrap();
    let before: i64 = x
        .query_first("SELECT v FROM b WHERE id = 1")
        .await
        .unwrap()
        .unwrap();
    y.query_drop("UPDATE b SET v = 77 WHERE id = 1")
        .await
        .unwrap();
    let after: i64 = x
        .query_first("SELECT v FROM b WHERE id = 1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (before, after),
        (0, 77),
        "READ COMMITTED sees commits made between its statements"
    );
    // A write based on what it read commits: no conflict, nobody changed page `a` since.
    x.exec_drop("UPDATE a SET v = ? WHERE id = 1", (after,))
        .await
        .unwrap();
    x.query_drop("COMMIT").await.unwrap();
    let v: i64 = y
        .query_first("SELECT v FROM a WHERE id = 1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v, 77);
}

/// Different rows of one leaf page do not conflict: the page store merges the two changes
/// (updates in place, or edits that do not touch); the same row still conflicts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_rows_of_one_page_merge_and_the_same_row_conflicts() {
    let s = Server::start(&[]);
    setup(&s).await;
    let mut x = s.conn_db("cf").await;
    let mut y = s.conn_db("cf").await;
    // The same row must conflict in the page store, not be replayed.
    no_replays(&mut y).await;
    let (sql_x, sql_y) = (
        "UPDATE a SET v = 101 WHERE id = 1",
        "UPDATE a SET v = 103 WHERE id = 3",
    );
    race(&mut x, &mut y, sql_x, sql_y).await.unwrap();
    let rows: Vec<(i64, i64)> = x
        .query("SELECT id, v FROM a WHERE id IN (1, 3) ORDER BY id")
        .await
        .unwrap();
    assert_eq!(rows, vec![(1, 101), (3, 103)], "both commits are kept");
    let merges: Vec<(String, u64)> = x
        .query("SHOW GLOBAL STATUS LIKE 'Borealis_store_merges'")
        .await
        .unwrap();
    assert!(merges[0].1 >= 1, "{merges:?}");
    // Rows next to each other updated in place merge too; the same row conflicts.
    let (sql_x, sql_y) = (
        "UPDATE a SET v = 201 WHERE id = 1",
        "UPDATE a SET v = 202 WHERE id = 2",
    );
    race(&mut x, &mut y, sql_x, sql_y).await.unwrap();
    let (sql_x, sql_y) = (
        "UPDATE a SET v = 301 WHERE id = 2",
        "UPDATE a SET v = 302 WHERE id = 2",
    );
    assert_eq!(code_of(race(&mut x, &mut y, sql_x, sql_y).await), 1213);
    let rows: Vec<(i64, i64)> = x.query("SELECT id, v FROM a ORDER BY id").await.unwrap();
    assert_eq!(
        rows,
        vec![(1, 201), (2, 301), (3, 103)],
        "the loser's update is rolled back"
    );
    // The refused merge is counted under its reason, and no other reason counted anything.
    let refused: Vec<(String, u64)> = x
        .query("SHOW GLOBAL STATUS LIKE 'Borealis_store_merge_refused_%'")
        .await
        .unwrap();
    assert_eq!(refused.len(), 8, "{refused:?}");
    for (name, n) in &refused {
        let expected = u64::from(name == "Borealis_store_merge_refused_same_rows");
        assert_eq!(*n, expected, "{refused:?}");
    }
}

/// Concurrent inserts into one table take their ids from the instance's counter, not from
/// max(id) at each snapshot: both transactions commit, with different ids, and each
/// multi-row INSERT gets consecutive ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_inserts_take_different_ids_and_both_commit() {
    let s = Server::start(&[]);
    let mut x = s.conn_db("cf").await;
    x.query_drop("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL)")
        .await
        .unwrap();
    x.query_drop("INSERT INTO t (v) VALUES (0), (0)")
        .await
        .unwrap();
    let mut y = s.conn_db("cf").await;
    x.query_drop("BEGIN").await.unwrap();
    y.query_drop("BEGIN").await.unwrap();
    x.query_drop("INSERT INTO t (v) VALUES (1), (1)")
        .await
        .unwrap();
    y.query_drop("INSERT INTO t (v) VALUES (2)").await.unwrap();
    let (id_x, id_y) = (x.last_insert_id(), y.last_insert_id());
    x.query_drop("COMMIT").await.unwrap();
    y.query_drop("COMMIT").await.unwrap();
    assert_eq!((id_x, id_y), (Some(3), Some(5)));
    let rows: Vec<(i64, i64)> = x.query("SELECT id, v FROM t ORDER BY id").await.unwrap();
    assert_eq!(rows, vec![(1, 0), (2, 0), (3, 1), (4, 1), (5, 2)]);
}

/// Bulk loads into four tables at once (sysbench's prepare): the server retries the
/// statements that lose on the file's growth, and a retry takes the same ids again, so every
/// table ends with ids 1..n and no gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retried_bulk_inserts_leave_no_id_gaps() {
    let s = Server::start(&[]);
    const ROWS: usize = 3000;
    const BATCH: usize = 100;
    let mut loaders = Vec::new();
    for t in 1..=4 {
        let mut c = s.conn_db("bulk").await;
        loaders.push(tokio::spawn(async move {
            c.query_drop(format!(
                "CREATE TABLE t{t} (id INT AUTO_INCREMENT PRIMARY KEY, pad CHAR(200) NOT NULL)"
            ))
            .await
            .unwrap();
            for _ in 0..ROWS / BATCH {
                let rows = vec![format!("('{}')", "x".repeat(200)); BATCH].join(", ");
                c.query_drop(format!("INSERT INTO t{t} (pad) VALUES {rows}"))
                    .await
                    .unwrap();
            }
            c
        }));
    }
    let mut c = None;
    for l in loaders {
        c = Some(l.await.unwrap());
    }
    let mut c = c.unwrap();
    for t in 1..=4 {
        let (n, max): (u64, u64) = c
            .query_first(format!("SELECT COUNT(*), MAX(id) FROM t{t}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((n, max), (ROWS as u64, ROWS as u64), "table t{t}");
    }
}

/// A transaction of blind writes that lost its commit is replayed at the newer snapshot and
/// commits: every result it was sent repeats (InnoDB would have made it wait for the row and
/// update the newest version). Plain reads before its first write are consistent reads at the
/// snapshot, as in InnoDB, and are not compared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_commit_whose_results_repeat_is_replayed() {
    let s = Server::start(&[]);
    setup(&s).await;
    let mut x = s.conn_db("cf").await;
    let mut y = s.conn_db("cf").await;
    y.query_drop("BEGIN").await.unwrap();
    let before: i64 = y
        .query_first("SELECT v FROM a WHERE id = 1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before, 0);
    // Binary protocol (prepared) and text protocol statements, on two tables.
    y.exec_drop("UPDATE a SET v = v + ? WHERE id = ?", (10, 1))
        .await
        .unwrap();
    y.query_drop("INSERT INTO b VALUES (9, 9)").await.unwrap();
    x.query_drop("UPDATE a SET v = v + 1 WHERE id = 1")
        .await
        .unwrap();
    let inserts = status(&mut x, "Com_insert").await;
    y.query_drop("COMMIT").await.unwrap();
    let rows: Vec<(i64, i64)> = x.query("SELECT id, v FROM a ORDER BY id").await.unwrap();
    assert_eq!(rows, vec![(1, 11), (2, 0), (3, 0)], "both increments count");
    let b: Option<i64> = x.query_first("SELECT v FROM b WHERE id = 9").await.unwrap();
    assert_eq!(b, Some(9));
    assert_eq!(status(&mut x, "Borealis_replays").await, 1);
    assert_eq!(status(&mut x, "Borealis_replay_mismatches").await, 0);
    // Counted once: the replay does not count its statements again.
    assert_eq!(status(&mut x, "Com_insert").await, inserts);
}

/// A replay whose results differ from what the client was sent is abandoned with 1213: a row
/// read after the transaction's own write, a locking read, an affected-row count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_with_different_results_gets_1213() {
    let s = Server::start(&[]);
    setup(&s).await;
    let mut x = s.conn_db("cf").await;
    let mut y = s.conn_db("cf").await;
    let cases: [(&str, &str); 3] = [
        // Read after its own write: 10 at the old snapshot, 11 at the new one.
        (
            "UPDATE a SET v = v + 10 WHERE id = 1",
            "SELECT v FROM a WHERE id = 1",
        ),
        // A locking read: the row it locked changed.
        (
            "SELECT v FROM a WHERE id = 1 FOR UPDATE",
            "UPDATE b SET v = v + 1 WHERE id = 1",
        ),
        // An UPDATE that matched a row the winner has since changed.
        (
            "UPDATE b SET v = v + 1 WHERE id = 2",
            "DELETE FROM a WHERE id = 1 AND v < 250",
        ),
    ];
    for (i, (first, second)) in cases.iter().enumerate() {
        y.query_drop("BEGIN").await.unwrap();
        y.query_drop(*first).await.unwrap();
        y.query_drop(*second).await.unwrap();
        x.query_drop("UPDATE a SET v = v + 100 WHERE id = 1")
            .await
            .unwrap();
        assert_eq!(code_of(y.query_drop("COMMIT").await), 1213, "case {i}");
        assert_eq!(
            status(&mut x, "Borealis_replay_mismatches").await,
            i as u64 + 1
        );
    }
    assert_eq!(status(&mut x, "Borealis_replays").await, 0);
    let v: i64 = x
        .query_first("SELECT v FROM a WHERE id = 1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v, 300, "only the winners' writes");
}

/// `borealis_conflict_retries = 0` turns replays off: the lost commit gets 1213.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_replay_with_conflict_retries_zero() {
    let s = Server::start(&[]);
    setup(&s).await;
    let mut x = s.conn_db("cf").await;
    let mut y = s.conn_db("cf").await;
    no_replays(&mut y).await;
    y.query_drop("BEGIN").await.unwrap();
    y.query_drop("UPDATE a SET v = v + 10 WHERE id = 2")
        .await
        .unwrap();
    x.query_drop("UPDATE a SET v = v + 1 WHERE id = 2")
        .await
        .unwrap();
    assert_eq!(code_of(y.query_drop("COMMIT").await), 1213);
    assert_eq!(status(&mut x, "Borealis_replays").await, 0);
}

/// A replayed INSERT takes the AUTO_INCREMENT id the client was told again, so a transaction
/// with one still replays; LAST_INSERT_ID() after it reads the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_keeps_auto_increment_ids() {
    let s = Server::start(&[]);
    setup(&s).await;
    let mut x = s.conn_db("cf").await;
    let mut y = s.conn_db("cf").await;
    x.query_drop("CREATE TABLE ai (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
        .await
        .unwrap();
    x.query_drop("INSERT INTO ai (v) VALUES (0), (0)")
        .await
        .unwrap();
    y.query_drop("BEGIN").await.unwrap();
    y.exec_drop("INSERT INTO ai (v) VALUES (?)", (7,))
        .await
        .unwrap();
    let id = y.last_insert_id().unwrap();
    let told: u64 = y
        .query_first("SELECT LAST_INSERT_ID()")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(told, id);
    y.query_drop("UPDATE a SET v = v + 1 WHERE id = 3")
        .await
        .unwrap();
    x.query_drop("UPDATE a SET v = v + 5 WHERE id = 3")
        .await
        .unwrap();
    y.query_drop("COMMIT").await.unwrap();
    let v: Option<i64> = x
        .exec_first("SELECT v FROM ai WHERE id = ?", (id,))
        .await
        .unwrap();
    assert_eq!(v, Some(7), "the row has the id the client was told");
    let n: i64 = x
        .query_first("SELECT count(*) FROM ai")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 3);
    let a3: i64 = x
        .query_first("SELECT v FROM a WHERE id = 3")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a3, 6);
    assert_eq!(status(&mut x, "Borealis_replays").await, 1);
}

/// A replayed statement that now fails (the winner inserted the same key) abandons the replay:
/// the client gets the 1213 of the lost commit, not the replay's error, and nothing of the
/// transaction stays. The session goes on working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_whose_statement_now_fails_gets_1213() {
    let s = Server::start(&[]);
    setup(&s).await;
    let mut x = s.conn_db("cf").await;
    let mut y = s.conn_db("cf").await;
    y.query_drop("BEGIN").await.unwrap();
    y.query_drop("INSERT INTO b VALUES (5, 5)").await.unwrap();
    y.query_drop("UPDATE a SET v = v + 1 WHERE id = 1")
        .await
        .unwrap();
    x.query_drop("INSERT INTO b VALUES (5, 50)").await.unwrap();
    x.query_drop("UPDATE a SET v = v + 1 WHERE id = 1")
        .await
        .unwrap();
    assert_eq!(code_of(y.query_drop("COMMIT").await), 1213);
    let rows: Vec<(i64, i64)> = y.query("SELECT id, v FROM b WHERE id = 5").await.unwrap();
    assert_eq!(rows, vec![(5, 50)]);
    let a1: i64 = y
        .query_first("SELECT v FROM a WHERE id = 1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a1, 1, "only the winner's increment");
    assert_eq!(status(&mut y, "Borealis_replays").await, 0);
}

/// A whole transaction in one COM_QUERY text (multi-statements) is replayed like one sent
/// statement by statement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_in_one_text_is_replayed() {
    let s = Server::start(&[]);
    setup(&s).await;
    let mut x = s.conn_db("cf").await;
    let mut y = s.conn_db("cf").await;
    y.query_drop("BEGIN; UPDATE a SET v = v + 10 WHERE id = 2")
        .await
        .unwrap();
    x.query_drop("UPDATE a SET v = v + 1 WHERE id = 2")
        .await
        .unwrap();
    y.query_drop("UPDATE b SET v = 1 WHERE id = 1; COMMIT")
        .await
        .unwrap();
    let v: i64 = x
        .query_first("SELECT v FROM a WHERE id = 2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v, 11);
    assert_eq!(status(&mut x, "Borealis_replays").await, 1);
}
