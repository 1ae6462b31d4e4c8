//! Conflict diagnostics (issue 3 §2): after a lost commit, SHOW ENGINE BOREALIS STATUS,
//! information_schema.BOREALIS_CONFLICTS and SHOW WARNINGS name the table or index, the page
//! and the winning instance; the 1213 message itself stays MySQL's.

mod common;

use common::{code_of, server_error, Server};
use mysql_async::prelude::*;
use mysql_async::Conn;

const DEADLOCK: &str = "Deadlock found when trying to get lock; try restarting transaction";

async fn setup(s: &Server) {
    let mut c = s.conn_db("dg").await;
    c.query_drop("CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)")
        .await
        .unwrap();
    c.query_drop("CREATE TABLE other (id INT PRIMARY KEY, v INT NOT NULL)")
        .await
        .unwrap();
    c.query_drop("INSERT INTO t VALUES (1, 0), (2, 0), (3, 0)")
        .await
        .unwrap();
    c.query_drop("INSERT INTO other VALUES (1, 0)")
        .await
        .unwrap();
}

/// Lost commits of `c` get 1213 instead of a replay (blind writes would replay and commit).
async fn no_replays(c: &mut Conn) {
    c.query_drop("SET SESSION borealis_conflict_retries = 0")
        .await
        .unwrap();
}

/// Two transactions write the same row of `dg.t`; the second committer loses.
/// Returns the loser's connection id.
async fn lose_on_t(x: &mut Conn, y: &mut Conn) -> u32 {
    no_replays(y).await;
    x.query_drop("BEGIN").await.unwrap();
    y.query_drop("BEGIN").await.unwrap();
    x.query_drop("UPDATE t SET v = 10 WHERE id = 1")
        .await
        .unwrap();
    y.query_drop("UPDATE t SET v = 20 WHERE id = 1")
        .await
        .unwrap();
    x.query_drop("COMMIT").await.unwrap();
    let e = server_error(y.query_drop("COMMIT").await);
    assert_eq!(e.code, 1213);
    assert_eq!(e.message, DEADLOCK, "the 1213 text must stay MySQL's");
    y.id()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflict_is_named_in_status_information_schema_and_warnings() {
    let s = Server::start(&[]);
    setup(&s).await;
    let mut x = s.conn_db("dg").await;
    let mut y = s.conn_db("dg").await;
    let loser = lose_on_t(&mut x, &mut y).await;

    // SHOW WARNINGS right after the 1213: the error, then a Note naming table, page and winner.
    let warnings: Vec<(String, u32, String)> = y.query("SHOW WARNINGS").await.unwrap();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert_eq!(warnings[0], ("Error".into(), 1213, DEADLOCK.into()));
    let note = &warnings[1].2;
    assert_eq!(warnings[1].0, "Note");
    assert!(note.contains("table `dg`.`t`"), "{note}");
    assert!(note.contains("the commit of instance 1 at LSN"), "{note}");

    // information_schema.BOREALIS_CONFLICTS, filtered with WHERE.
    type Row = (
        String,
        String,
        Option<String>,
        u64,
        u32,
        String,
        u32,
        String,
        u64,
        u64,
    );
    let rows: Vec<Row> = x
        .query(
            "SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, PAGE_NUMBER, WINNER_INSTANCE, REASON, \
             SESSION_ID, STATEMENT, SNAPSHOT_LSN, WINNER_LSN \
             FROM information_schema.BOREALIS_CONFLICTS WHERE TABLE_NAME = 't'",
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (schema, table, index, page, winner, reason, session, statement, snap, win_lsn) =
        rows[0].clone();
    assert_eq!((schema.as_str(), table.as_str()), ("dg", "t"));
    assert_eq!(
        index, None,
        "a row page of a table with an integer primary key"
    );
    assert!(page > 1, "a page of table t, not the header: {page}");
    assert_eq!(winner, 1, "one instance: slot 1 won");
    assert_eq!(reason, "PAGE_CHANGED");
    assert_eq!(session, loser);
    assert_eq!(statement, "COMMIT");
    assert!(win_lsn > snap, "the winner committed after the snapshot");
    let none: Vec<u64> = x
        .query("SELECT PAGE_NUMBER FROM information_schema.borealis_conflicts WHERE TABLE_NAME = 'other'")
        .await
        .unwrap();
    assert!(none.is_empty());

    // SHOW ENGINE BOREALIS STATUS: MySQL's shape, the same facts in the text.
    let (kind, name, status): (String, String, String) = x
        .query_first("SHOW ENGINE BOREALIS STATUS")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((kind.as_str(), name.as_str()), ("Borealis", ""));
    let expected =
        format!("session {loser} lost: page changed on page {page} of table `dg`.`t` (rows)");
    assert!(status.contains(&expected), "{status}");
    assert!(
        status.contains(&format!("winner: instance 1 (slot), commit LSN {win_lsn}")),
        "{status}"
    );
    assert!(status.contains("Conflicts since start: 1 "), "{status}");
    assert!(status.contains("statement: COMMIT"), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_page_conflict_is_told_apart() {
    let s = Server::start(&[]);
    setup(&s).await;
    let mut x = s.conn_db("dg").await;
    let mut y = s.conn_db("dg").await;
    x.query_drop("BEGIN").await.unwrap();
    let v: i64 = x
        .query_first("SELECT v FROM t WHERE id = 1 FOR UPDATE")
        .await
        .unwrap()
        .unwrap();
    y.query_drop("UPDATE t SET v = v + 1 WHERE id = 1")
        .await
        .unwrap();
    x.exec_drop("UPDATE other SET v = ? WHERE id = 1", (v + 1,))
        .await
        .unwrap();
    assert_eq!(code_of(x.query_drop("COMMIT").await), 1213);
    let rows: Vec<(String, String, u32)> = y
        .query(
            "SELECT REASON, TABLE_NAME, WINNER_INSTANCE FROM information_schema.BOREALIS_CONFLICTS",
        )
        .await
        .unwrap();
    assert_eq!(rows, vec![("LOCKED_PAGE".into(), "t".into(), 1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_status_shapes() {
    let s = Server::start(&[]);
    let mut c = s.conn().await;
    let (kind, name, status): (String, String, String) = c
        .query_first("SHOW ENGINE INNODB STATUS")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((kind.as_str(), name.as_str()), ("InnoDB", ""));
    assert!(status.contains("SHOW ENGINE BOREALIS STATUS"), "{status}");
    let (_, _, status): (String, String, String) = c
        .query_first("show engine borealis status")
        .await
        .unwrap()
        .unwrap();
    assert!(status.contains("No conflicts since start."), "{status}");
    let count: u64 = c
        .query_first("SELECT COUNT(*) FROM information_schema.BOREALIS_CONFLICTS")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(count, 0);
    assert_eq!(
        code_of(c.query_drop("SHOW ENGINE NOSUCH STATUS").await),
        1286
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_page_conflict_names_the_index() {
    let s = Server::start(&[]);
    let mut c = s.conn_db("dg").await;
    // Wide rows spread over many row pages; the small index on k fits in one page.
    c.query_drop(
        "CREATE TABLE w (id INT PRIMARY KEY, k INT NOT NULL, pad VARCHAR(3000) NOT NULL, KEY by_k (k))",
    )
    .await
    .unwrap();
    for id in 1..=40 {
        c.exec_drop("INSERT INTO w VALUES (?, ?, REPEAT('p', 2000))", (id, id))
            .await
            .unwrap();
    }
    let mut x = s.conn_db("dg").await;
    let mut y = s.conn_db("dg").await;
    no_replays(&mut y).await;
    x.query_drop("BEGIN").await.unwrap();
    y.query_drop("BEGIN").await.unwrap();
    // Rows 1 and 40 are on different row pages but share the index page.
    x.query_drop("UPDATE w SET k = 101 WHERE id = 1")
        .await
        .unwrap();
    y.query_drop("UPDATE w SET k = 140 WHERE id = 40")
        .await
        .unwrap();
    x.query_drop("COMMIT").await.unwrap();
    assert_eq!(code_of(y.query_drop("COMMIT").await), 1213);
    let rows: Vec<(String, String, Option<String>, String)> = c
        .query(
            "SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, PAGE_OBJECT \
             FROM information_schema.BOREALIS_CONFLICTS",
        )
        .await
        .unwrap();
    assert_eq!(
        rows,
        vec![(
            "dg".into(),
            "w".into(),
            Some("by_k".into()),
            "table `dg`.`w`, index `by_k`".into()
        )]
    );
}
