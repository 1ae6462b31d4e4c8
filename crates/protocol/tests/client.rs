//! Integration tests with a real client (mysql_async) against the toy backend.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use borealis_protocol::{AuthPlugin, ServerConfig};
use mysql_async::prelude::*;
use mysql_async::{ChangeUserOpts, Conn, OptsBuilder, Row, Value};

fn opts(port: u16, user: &str, pass: &str, db: Option<&str>) -> OptsBuilder {
    OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some(user))
        .pass(Some(pass))
        .db_name(db)
        .max_allowed_packet(Some(64 << 20))
        .wait_timeout(Some(28_800))
        .prefer_socket(false)
}

fn server(
    plugin: AuthPlugin,
) -> (
    borealis_protocol::ServerHandle,
    std::sync::Arc<common::Toy>,
    u16,
) {
    let config = ServerConfig {
        auth_plugin: plugin,
        ..ServerConfig::default()
    };
    let (h, toy) = common::start(config);
    let port = h.local_addr().port();
    (h, toy, port)
}

async fn server_error(port: u16, user: &str, pass: &str, db: Option<&str>) -> (u16, String) {
    match Conn::new(opts(port, user, pass, db)).await {
        Ok(_) => panic!("connection unexpectedly succeeded"),
        Err(mysql_async::Error::Server(e)) => (e.code, e.message),
        Err(other) => panic!("unexpected error {other:?} for {user}/{pass}/{db:?}"),
    }
}

#[tokio::test]
async fn authentication_with_both_plugins() {
    for plugin in [
        AuthPlugin::CachingSha2Password,
        AuthPlugin::MysqlNativePassword,
    ] {
        let (_h, _toy, port) = server(plugin);
        let mut conn = Conn::new(opts(port, "alice", "secret", Some("shop")))
            .await
            .unwrap();
        let user: Option<String> = conn.query_first("user").await.unwrap();
        assert_eq!(user.as_deref(), Some("alice"));
        let db: Option<String> = conn.query_first("db").await.unwrap();
        assert_eq!(db.as_deref(), Some("shop"));
        conn.disconnect().await.unwrap();

        let mut conn = Conn::new(opts(port, "root", "", None)).await.unwrap();
        let db: Option<Option<String>> = conn.query_first("db").await.unwrap();
        assert_eq!(db, Some(None));
        conn.disconnect().await.unwrap();

        let (code, msg) = server_error(port, "alice", "wrong", None).await;
        assert_eq!(code, 1045, "{plugin:?}");
        assert_eq!(
            msg,
            "Access denied for user 'alice'@'127.0.0.1' (using password: YES)"
        );
        let (code, msg) = server_error(port, "nobody", "", None).await;
        assert_eq!(code, 1045);
        assert!(msg.ends_with("(using password: NO)"), "{msg}");
        let (code, _) = server_error(port, "alice", "secret", Some("missing")).await;
        assert_eq!(code, 1049);
    }
}

#[tokio::test]
async fn text_results_and_multi_results() {
    let (_h, toy, port) = server(AuthPlugin::CachingSha2Password);
    let mut conn = Conn::new(opts(port, "root", "", None)).await.unwrap();

    let rows: Vec<(i64, Option<String>, f64, String)> = conn.query("rows 4").await.unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows[0],
        (0, Some("n0".into()), 0.0, "2024-01-02 03:04:00".into())
    );
    assert_eq!(rows[2].1, None);
    assert_eq!(rows[3].2, 6.0);

    let mut res = conn.query_iter("ok 3; rows 2; ok 5").await.unwrap();
    let first: Vec<Row> = res.collect().await.unwrap();
    assert!(first.is_empty());
    assert_eq!(res.affected_rows(), 3);
    assert_eq!(res.last_insert_id(), Some(30));
    let second: Vec<Row> = res.collect().await.unwrap();
    assert_eq!(second.len(), 2);
    let third: Vec<Row> = res.collect().await.unwrap();
    assert!(third.is_empty());
    assert_eq!(res.affected_rows(), 5);
    assert!(res.is_empty());
    drop(res);

    // An error in the middle ends the sequence.
    let err = conn.query_drop("ok 1; bogus; ok 2").await.unwrap_err();
    match err {
        mysql_async::Error::Server(e) => assert_eq!(e.code, 1064),
        other => panic!("{other:?}"),
    }
    // The connection is still usable; an empty response becomes OK.
    conn.query_drop("nothing").await.unwrap();
    conn.ping().await.unwrap();

    // Status flags follow the session (IN_TRANS after begin).
    conn.query_drop("begin").await.unwrap();
    conn.query_drop("commit").await.unwrap();

    let before = toy.closed_sessions.load(Ordering::SeqCst);
    conn.disconnect().await.unwrap();
    wait_for(|| toy.closed_sessions.load(Ordering::SeqCst) == before + 1).await;
}

async fn wait_for(cond: impl Fn() -> bool) {
    for _ in 0..200 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached");
}

#[tokio::test]
async fn prepared_statements_every_type() {
    let (_h, _toy, port) = server(AuthPlugin::CachingSha2Password);
    let mut conn = Conn::new(opts(port, "alice", "secret", None))
        .await
        .unwrap();
    let params = vec![
        Value::Int(-5),
        Value::UInt(u64::MAX),
        Value::Double(2.5),
        Value::Float(1.25),
        Value::Bytes(b"hello".to_vec()),
        Value::Date(2024, 2, 29, 13, 14, 15, 123_456),
        Value::Date(2024, 3, 1, 0, 0, 0, 0),
        Value::Time(true, 1, 2, 3, 4, 5),
        Value::NULL,
        Value::Bytes(Vec::new()),
    ];
    let sql = format!("echo {}", vec!["?"; params.len()].join(","));
    let row: Row = conn
        .exec_first(sql.as_str(), params.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.unwrap(), params);

    // Re-execute the cached statement with different types (re-bound parameters).
    let params2 = vec![
        Value::Bytes(b"x".to_vec()),
        Value::NULL,
        Value::Int(7),
        Value::Double(-0.5),
        Value::Time(false, 0, 0, 0, 0, 0),
        Value::Int(i64::MIN),
        Value::UInt(1 << 63),
        Value::Float(-3.5),
        Value::Date(1, 1, 1, 0, 0, 0, 0),
        Value::Bytes(vec![0, 255, 1]),
    ];
    let row: Row = conn
        .exec_first(sql.as_str(), params2.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.unwrap(), params2);

    // Binary rows with conversion to the declared column types.
    let rows: Vec<Row> = conn.exec("rows ?", (3,)).await.unwrap();
    assert_eq!(rows.len(), 3);
    let r = rows[2].clone().unwrap();
    assert_eq!(r[0], Value::Int(2));
    assert_eq!(r[1], Value::NULL);
    assert_eq!(r[2], Value::Double(4.0));
    assert_eq!(r[3], Value::Date(2024, 1, 2, 3, 4, 2, 0));

    // OK results through the binary protocol.
    conn.exec_drop("ok ?", (4,)).await.unwrap();
    assert_eq!(conn.affected_rows(), 4);
    assert_eq!(conn.last_insert_id(), Some(40));

    // Prepare errors reach the client.
    let err = conn.prep("bad statement").await.unwrap_err();
    assert!(
        matches!(err, mysql_async::Error::Server(ref e) if e.code == 1064),
        "{err:?}"
    );

    let stmt = conn.prep("echo ?").await.unwrap();
    conn.close(stmt).await.unwrap();
    conn.disconnect().await.unwrap();
}

#[tokio::test]
async fn large_payloads_split_both_ways() {
    let (_h, _toy, port) = server(AuthPlugin::CachingSha2Password);
    let mut conn = Conn::new(opts(port, "root", "", None)).await.unwrap();
    // Result row larger than 16 MiB: split on write.
    let n = 0xFF_FFFF + 10;
    let blob: Option<Vec<u8>> = conn.query_first(format!("big {n}")).await.unwrap();
    let blob = blob.unwrap();
    assert_eq!(blob.len(), n);
    assert!(blob.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
    // Parameter larger than 16 MiB: mysql_async sends it with COM_STMT_SEND_LONG_DATA.
    let big = vec![7u8; 0xFF_FFFF + 100];
    let len: Option<i64> = conn.exec_first("len ?", (big,)).await.unwrap();
    assert_eq!(len, Some(0xFF_FFFF + 100));
    // A query longer than 16 MiB: split on read.
    let sql = format!("ok 1{}", " ".repeat(0xFF_FFFF));
    conn.query_drop(sql).await.unwrap();
    assert_eq!(conn.affected_rows(), 1);
    conn.disconnect().await.unwrap();
}

#[tokio::test]
async fn reset_change_user_and_ping() {
    let (_h, toy, port) = server(AuthPlugin::CachingSha2Password);
    let mut conn = Conn::new(opts(port, "alice", "secret", Some("a")))
        .await
        .unwrap();
    let stmt = conn.prep("echo ?").await.unwrap();
    assert!(conn.reset().await.unwrap());
    assert_eq!(toy.resets.load(Ordering::SeqCst), 1);
    // The statement was dropped by the reset on the server side.
    let err = conn.exec_drop(&stmt, (1,)).await.unwrap_err();
    assert!(
        matches!(err, mysql_async::Error::Server(ref e) if e.code == 1243),
        "{err:?}"
    );
    conn.ping().await.unwrap();

    conn.change_user(
        ChangeUserOpts::default()
            .with_user(Some("root".into()))
            .with_pass(Some(String::new()))
            .with_db_name(Some("b".into())),
    )
    .await
    .unwrap();
    let user: Option<String> = conn.query_first("user").await.unwrap();
    assert_eq!(user.as_deref(), Some("root"));
    let db: Option<String> = conn.query_first("db").await.unwrap();
    assert_eq!(db.as_deref(), Some("b"));

    conn.change_user(
        ChangeUserOpts::default()
            .with_user(Some("alice".into()))
            .with_pass(Some("secret".into())),
    )
    .await
    .unwrap();
    let user: Option<String> = conn.query_first("user").await.unwrap();
    assert_eq!(user.as_deref(), Some("alice"));
    conn.disconnect().await.unwrap();
}
