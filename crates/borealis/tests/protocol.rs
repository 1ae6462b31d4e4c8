//! The MySQL protocol through real clients and raw sockets: auth, prepared statements (binary
//! protocol), multi-statements, large payloads, malformed packets.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{code_of, server_error, Server};
use mysql_async::prelude::*;
use mysql_async::{Conn, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_password_setting_and_wrong_password() {
    let s = Server::start(&["--root-password", "s3cret"]);
    let ok = Conn::new(s.opts_with("root", "s3cret")).await;
    assert!(ok.is_ok(), "{:?}", ok.err());
    let e = server_error(Conn::new(s.opts_with("root", "nope")).await);
    assert_eq!(e.code, 1045);
    assert_eq!(e.state, "28000");
    assert_eq!(code_of(Conn::new(s.opts_with("nobody", "")).await), 1045);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_statements_every_type_and_nulls() {
    let s = Server::start(&[]);
    let mut c = s.conn_db("ps").await;
    c.query_drop(
        "CREATE TABLE t (id INT PRIMARY KEY, ti TINYINT, big BIGINT UNSIGNED, f FLOAT, d DOUBLE, \
         dec DECIMAL(10,2), s VARCHAR(100), b BLOB, dt DATETIME, day DATE, tm TIME)",
    )
    .await
    .unwrap();
    let stmt = c
        .prep("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .await
        .unwrap();
    c.exec_drop(
        &stmt,
        (
            1,
            -5i8,
            18_000_000_000u64,
            1.5f32,
            2.25f64,
            "12.50",
            "héllo 🌍",
            vec![0u8, 1, 2, 255],
            Value::Date(2024, 2, 29, 13, 4, 5, 0),
            Value::Date(2024, 1, 2, 0, 0, 0, 0),
            Value::Time(false, 0, 10, 11, 12, 0),
        ),
    )
    .await
    .unwrap();
    // Re-bound parameters, NULLs.
    c.exec_drop(
        &stmt,
        (
            2,
            Value::NULL,
            Value::NULL,
            Value::NULL,
            Value::NULL,
            Value::NULL,
            Value::NULL,
            Value::NULL,
            Value::NULL,
            Value::NULL,
            Value::NULL,
        ),
    )
    .await
    .unwrap();
    let row: mysql_async::Row = c
        .exec_first("SELECT * FROM t WHERE id = ?", (1,))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.get::<i64, _>(0), Some(1));
    assert_eq!(row.get::<i64, _>(1), Some(-5));
    assert_eq!(row.get::<u64, _>(2), Some(18_000_000_000));
    assert_eq!(row.get::<f32, _>(3), Some(1.5));
    assert_eq!(row.get::<f64, _>(4), Some(2.25));
    assert_eq!(row.get::<String, _>(5).as_deref(), Some("12.50"));
    assert_eq!(row.get::<String, _>(6).as_deref(), Some("héllo 🌍"));
    assert_eq!(row.get::<Vec<u8>, _>(7), Some(vec![0u8, 1, 2, 255]));
    assert_eq!(row.as_ref(8), Some(&Value::Date(2024, 2, 29, 13, 4, 5, 0)));
    assert_eq!(row.as_ref(9), Some(&Value::Date(2024, 1, 2, 0, 0, 0, 0)));
    assert_eq!(row.as_ref(10), Some(&Value::Time(false, 0, 10, 11, 12, 0)));
    let nulls: mysql_async::Row = c
        .exec_first("SELECT * FROM t WHERE id = ?", (2,))
        .await
        .unwrap()
        .unwrap();
    for i in 1..11 {
        assert_eq!(nulls.as_ref(i), Some(&Value::NULL), "column {i}");
    }
    // Text protocol gives the same values in MySQL's text formats.
    let text: (String, String, String) = c
        .query_first("SELECT dec, dt, tm FROM t WHERE id = 1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        text,
        (
            "12.50".into(),
            "2024-02-29 13:04:05".into(),
            "10:11:12".into()
        )
    );
    // A wrong parameter count is an error (the packet does not match the statement, so the
    // server answers 1835 and closes that connection), never a crash.
    let sel = c.prep("SELECT id FROM t WHERE id = ?").await.unwrap();
    assert!(c.exec_drop(&sel, (1, 2)).await.is_err());
    let mut c = s.conn_db("ps").await;
    let n: i64 = c
        .query_first("SELECT count(*) FROM t")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_statements_and_multiple_result_sets() {
    let s = Server::start(&[]);
    let mut c = s.conn_db("ms").await;
    let mut r = c
        .query_iter("CREATE TABLE m (a INT); INSERT INTO m VALUES (1),(2); SELECT a FROM m ORDER BY a; SELECT 'x' AS y")
        .await
        .unwrap();
    let mut sets = Vec::new();
    while !r.is_empty() {
        let rows: Vec<mysql_async::Row> = r.collect().await.unwrap();
        sets.push(rows.len());
    }
    drop(r);
    assert_eq!(sets, vec![0, 0, 2, 1]);
    // An error in the third statement stops there, after the first two ran.
    let e = c.query_drop("INSERT INTO m VALUES (3); INSERT INTO m VALUES (4); SELEC oops; INSERT INTO m VALUES (5)").await;
    assert_eq!(code_of(e), 1064);
    let n: i64 = c
        .query_first("SELECT count(*) FROM m")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_over_16_mib_round_trips_and_too_large_is_refused() {
    let s = Server::start(&["--max-allowed-packet", "33554432"]);
    let mut c = s.conn_db("big").await;
    c.query_drop("CREATE TABLE blobs (id INT PRIMARY KEY, b LONGBLOB)")
        .await
        .unwrap();
    let big: Vec<u8> = (0..(17usize << 20)).map(|i| (i % 251) as u8).collect();
    c.exec_drop("INSERT INTO blobs VALUES (1, ?)", (big.clone(),))
        .await
        .unwrap();
    let back: Vec<u8> = c
        .query_first("SELECT b FROM blobs WHERE id = 1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.len(), big.len());
    assert!(back == big);
    // Over max_allowed_packet: an error, and other sessions are unaffected.
    let huge = vec![b'a'; 40 << 20];
    let r = c
        .exec_drop("INSERT INTO blobs VALUES (2, ?)", (huge,))
        .await;
    assert!(r.is_err());
    let mut other = s.conn().await;
    let one: i64 = other.query_first("SELECT 1").await.unwrap().unwrap();
    assert_eq!(one, 1);
}

fn raw(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // Read the server greeting.
    let mut head = [0u8; 4];
    let mut s2 = s.try_clone().unwrap();
    s2.read_exact(&mut head).unwrap();
    let len = usize::from(head[0]) | usize::from(head[1]) << 8 | usize::from(head[2]) << 16;
    let mut body = vec![0u8; len];
    s2.read_exact(&mut body).unwrap();
    assert_eq!(body[0], 10, "protocol version 10");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_packets_never_take_the_server_down() {
    let s = Server::start(&[]);
    let mut keep = s.conn().await;
    let garbage: Vec<Vec<u8>> = vec![
        vec![0xff, 0xff, 0xff],                    // truncated header, then EOF
        vec![0x05, 0x00, 0x00, 0x01, 0x01],        // length says 5, one byte follows, then EOF
        vec![0x02, 0x00, 0x00, 0x01, 0xde, 0xad],  // garbage handshake response
        vec![0x00, 0x00, 0x00, 0x01],              // empty packet
        (0..300).map(|i| (i * 7) as u8).collect(), // noise
    ];
    for g in garbage {
        let mut c = raw(s.port);
        let _ = c.write_all(&g);
        let _ = c.shutdown(std::net::Shutdown::Write);
        let mut sink = Vec::new();
        let _ = c.read_to_end(&mut sink);
    }
    // The server is still up and the earlier session still works.
    let v: i64 = keep.query_first("SELECT 41 + 1").await.unwrap().unwrap();
    assert_eq!(v, 42);
    let mut fresh = s.conn().await;
    let v: String = fresh.query_first("SELECT 'alive'").await.unwrap().unwrap();
    assert_eq!(v, "alive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_reset_init_db_and_kill_query() {
    let s = Server::start(&[]);
    let mut c = s.conn_db("k").await;
    c.ping().await.unwrap();
    c.query_drop("SET @x = 5").await.unwrap();
    c.reset().await.unwrap();
    let x: Option<i64> = c.query_first("SELECT @x").await.unwrap().unwrap();
    assert_eq!(x, None);
    let id: u32 = c.id();
    let mut other = s.conn().await;
    let pl: Vec<mysql_async::Row> = other.query("SHOW PROCESSLIST").await.unwrap();
    assert!(pl.iter().any(|r| r.get::<u32, _>(0) == Some(id)));
    assert_eq!(code_of(other.query_drop("KILL 999999").await), 1094);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_query_interrupts_a_running_statement_and_kill_closes_a_session() {
    let s = Server::start(&[]);
    let mut victim = s.conn().await;
    let id = victim.id();
    let long = tokio::spawn(async move {
        let r: Result<Option<i64>, _> = victim
            .query_first("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000000) SELECT count(*) FROM c")
            .await;
        (r, victim)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut killer = s.conn().await;
    killer.query_drop(format!("KILL QUERY {id}")).await.unwrap();
    let (r, mut victim) = tokio::time::timeout(Duration::from_secs(20), long)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(code_of(r), 1317);
    // The session survives KILL QUERY…
    let one: i64 = victim.query_first("SELECT 1").await.unwrap().unwrap();
    assert_eq!(one, 1);
    // …but not KILL CONNECTION.
    killer.query_drop(format!("KILL {id}")).await.unwrap();
    assert!(victim.query_drop("SELECT 1").await.is_err());
}
