//! Durability: kill -9 the server during a write load, restart, and find every acknowledged
//! commit — and no half of any transaction.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::Server;
use mysql_async::prelude::*;
use tokio::sync::Mutex;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_writes_loses_no_acknowledged_commit() {
    let mut s = Server::start(&[]);
    {
        let mut c = s.conn_db("dur").await;
        c.query_drop("CREATE TABLE pairs (k BIGINT NOT NULL, half INT NOT NULL, pad VARCHAR(200), PRIMARY KEY (k, half))")
            .await
            .unwrap();
    }
    let acked: Arc<Mutex<Vec<i64>>> = Arc::new(Mutex::new(Vec::new()));
    let mut writers = Vec::new();
    for w in 0..4i64 {
        let opts = s.opts();
        let acked = acked.clone();
        writers.push(tokio::spawn(async move {
            let Ok(mut c) = mysql_async::Conn::new(opts).await else { return };
            if c.query_drop("USE dur").await.is_err() {
                return;
            }
            // Bounded: the server is killed long before this many transactions.
            for i in 0..100_000i64 {
                let k = w * 1_000_000 + i;
                let sql = format!(
                    "BEGIN; INSERT INTO pairs VALUES ({k}, 1, REPEAT('x', 150)); INSERT INTO pairs VALUES ({k}, 2, REPEAT('y', 150)); COMMIT"
                );
                match c.query_drop(sql).await {
                    Ok(()) => acked.lock().await.push(k),
                    Err(mysql_async::Error::Server(e)) if e.code == 1213 => {
                        let _ = c.query_drop("ROLLBACK").await;
                    }
                    Err(_) => return, // the server is gone
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    s.kill9();
    for w in writers {
        let _ = tokio::time::timeout(Duration::from_secs(30), w).await;
    }
    let acked = acked.lock().await.clone();
    assert!(
        acked.len() > 10,
        "the load made progress before the kill ({} commits)",
        acked.len()
    );

    s.restart();
    let mut c = s.conn_db("dur").await;
    let rows: Vec<(i64, i64)> = c
        .query("SELECT k, count(*) FROM pairs GROUP BY k")
        .await
        .unwrap();
    let present: std::collections::HashMap<i64, i64> = rows.into_iter().collect();
    for k in &acked {
        assert_eq!(
            present.get(k),
            Some(&2),
            "acknowledged transaction {k} is missing after kill -9"
        );
    }
    for (k, n) in &present {
        assert_eq!(*n, 2, "transaction {k} is half there after kill -9");
    }
    // The volume is writable after recovery.
    c.query_drop("INSERT INTO pairs VALUES (-1, 1, 'after'), (-1, 2, 'after')")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_restart_keeps_schema_and_data() {
    let mut s = Server::start(&[]);
    {
        let mut c = s.conn_db("keep").await;
        c.query_drop("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50), KEY by_name (name))")
            .await
            .unwrap();
        c.query_drop("INSERT INTO t (name) VALUES ('a'), ('b'), ('c')")
            .await
            .unwrap();
    }
    s.stop();
    s.restart();
    let mut c = s.conn().await;
    let names: Vec<String> = c
        .query("SELECT name FROM keep.t ORDER BY id")
        .await
        .unwrap();
    assert_eq!(names, vec!["a", "b", "c"]);
    let dbs: Vec<String> = c.query("SHOW DATABASES").await.unwrap();
    assert!(dbs.iter().any(|d| d == "keep"), "{dbs:?}");
    c.query_drop("INSERT INTO keep.t (name) VALUES ('d')")
        .await
        .unwrap();
    let id: i64 = c
        .query_first("SELECT LAST_INSERT_ID()")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(id, 4);
}
