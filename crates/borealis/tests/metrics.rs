//! Monitoring through real clients: the Prometheus endpoint (`--metrics-port`) read over raw
//! TCP, its agreement with SHOW GLOBAL STATUS, its behaviour on garbage requests, the error log
//! (`--log-error`) and switching the general and slow query logs at run time.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{code_of, Server};
use mysql_async::prelude::*;

/// Sends `request` to the metrics port and returns (status code, headers, body).
fn http(port: u16, request: &[u8]) -> (u16, String, String) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(request).expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap_or_else(|e| {
        panic!(
            "read after {:?}: {e}",
            String::from_utf8_lossy(&request[..request.len().min(40)])
        )
    });
    let text = String::from_utf8(raw).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    (status, head.to_string(), body.to_string())
}

fn scrape(port: u16) -> HashMap<String, f64> {
    let (status, head, body) = http(port, b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_eq!(status, 200, "{head}");
    assert!(
        head.contains("Content-Type: text/plain; version=0.0.4"),
        "{head}"
    );
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect(l);
            (series.to_string(), value.parse().expect(l))
        })
        .collect()
}

fn metric(m: &HashMap<String, f64>, series: &str) -> f64 {
    *m.get(series)
        .unwrap_or_else(|| panic!("metric {series} missing"))
}

async fn status_value(c: &mut mysql_async::Conn, name: &str) -> u64 {
    let row: Option<(String, String)> = c
        .query_first(format!("SHOW GLOBAL STATUS LIKE '{name}'"))
        .await
        .expect("show status");
    row.expect(name).1.parse().expect("a number")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_statements_and_agree_with_show_status() {
    let s = Server::start(&["--metrics-port", "0"]);
    let port = s.metrics_port.expect("a 'Borealis metrics:' line");
    let mut c = s.conn_db("m").await;
    c.query_drop("CREATE TABLE t (id INT PRIMARY KEY, v INT)")
        .await
        .unwrap();
    for i in 0..5 {
        c.exec_drop("INSERT INTO t VALUES (?, ?)", (i, i))
            .await
            .unwrap();
    }
    c.query_drop("UPDATE t SET v = v + 1 WHERE id < 3")
        .await
        .unwrap();
    c.query_drop("DELETE FROM t WHERE id = 4").await.unwrap();

    let before = scrape(port);
    for _ in 0..20 {
        let _: Vec<(i64, i64)> = c.query("SELECT id, v FROM t").await.unwrap();
    }
    let after = scrape(port);

    let selects = r#"borealis_statement_latency_seconds_count{class="select"}"#;
    assert!(metric(&after, selects) - metric(&before, selects) >= 20.0);
    assert!(metric(&after, "borealis_com_select") - metric(&before, "borealis_com_select") >= 20.0);
    assert!(metric(&after, "borealis_questions") - metric(&before, "borealis_questions") >= 20.0);
    assert!(
        metric(
            &after,
            r#"borealis_statement_latency_seconds_count{class="insert"}"#
        ) >= 5.0
    );
    assert!(
        metric(
            &after,
            r#"borealis_statement_latency_seconds_bucket{class="select",le="+Inf"}"#
        ) >= 20.0
    );
    assert!(
        metric(
            &after,
            r#"borealis_statement_latency_seconds_sum{class="select"}"#
        ) > 0.0
    );
    assert_eq!(
        metric(&after, r#"borealis_dml_rows_total{class="insert"}"#),
        5.0
    );
    assert_eq!(
        metric(&after, r#"borealis_dml_rows_total{class="update"}"#),
        3.0
    );
    assert_eq!(
        metric(&after, r#"borealis_dml_rows_total{class="delete"}"#),
        1.0
    );
    assert!(metric(&after, "borealis_buffer_pool_hits") > 0.0);
    assert!(metric(&after, "borealis_commits") >= 7.0);
    assert!(metric(&after, "borealis_threads_connected") >= 1.0);
    assert!(metric(&after, "borealis_store_latest_lsn") > 0.0);
    // No peers: no replication lag observed, and the endpoint says so.
    assert_eq!(metric(&after, "borealis_replication_lag_us"), 0.0);
    assert_eq!(
        metric(&after, "borealis_replication_lag_seconds_count"),
        0.0
    );

    // Counters nothing else moves agree exactly with SHOW GLOBAL STATUS.
    assert_eq!(status_value(&mut c, "Com_insert").await, 5);
    assert_eq!(metric(&after, "borealis_com_insert"), 5.0);
    assert_eq!(
        status_value(&mut c, "Borealis_rows_affected_update").await,
        3
    );
    assert_eq!(status_value(&mut c, "Borealis_replication_lag_us").await, 0);
    assert_eq!(
        status_value(&mut c, "Borealis_replication_lag_p99_us").await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_requests_get_errors_and_the_server_keeps_serving() {
    let s = Server::start(&["--metrics-port", "0"]);
    let port = s.metrics_port.expect("a 'Borealis metrics:' line");
    assert_eq!(http(port, b"garbage\r\n\r\n").0, 400);
    assert_eq!(http(port, b"\x00\xff\x16\x03\x01\r\n\r\n").0, 400);
    assert_eq!(http(port, b"GET /metrics HTTP/9.9\r\n\r\n").0, 400);
    assert_eq!(http(port, b"GET / HTTP/1.1\r\n\r\n").0, 404);
    assert_eq!(http(port, b"GET /nope HTTP/1.1\r\n\r\n").0, 404);
    assert_eq!(http(port, b"DELETE /metrics HTTP/1.1\r\n\r\n").0, 405);
    assert_eq!(http(port, &vec![b'A'; 64 * 1024]).0, 431);
    let (status, _, body) = http(port, b"HEAD /metrics HTTP/1.1\r\n\r\n");
    assert_eq!((status, body.as_str()), (200, ""));
    // Connections that send nothing, or close at once.
    for _ in 0..3 {
        drop(TcpStream::connect(("127.0.0.1", port)).expect("connect"));
    }
    let mut half = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    half.write_all(b"GET /metr").expect("send");
    drop(half);

    // Idle connections take every slot: one more is refused with 503, not queued forever.
    let idle = hold_every_slot(port, 8);
    assert_eq!(http(port, b"GET /metrics HTTP/1.1\r\n\r\n").0, 503);
    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _, _) = http(port, b"GET /metrics HTTP/1.1\r\n\r\n");
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "metrics still refused: {status}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(metric(&scrape(port), "borealis_uptime") >= 0.0);
    let mut c = s.conn().await;
    let one: Option<i64> = c.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));
}

/// Opens `slots` connections that each hold a serving slot: each sends half a request and is
/// kept only if no answer comes (a connection refused while earlier ones were still being
/// served gets a 503 at once, and is replaced).
fn hold_every_slot(port: u16, slots: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..100 {
        if held.len() == slots {
            return held;
        }
        let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        c.write_all(b"GET /metrics HTTP/1.1\r\n").expect("send");
        std::thread::sleep(Duration::from_millis(100));
        c.set_nonblocking(true).expect("nonblocking");
        let mut probe = [0u8; 1];
        match c.peek(&mut probe) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => held.push(c),
            _ => {} // answered (503) or closed: not holding a slot
        }
    }
    panic!("could not hold {slots} metrics connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_error_receives_the_tracing_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("borealis.err");
    std::fs::write(&log, "earlier line\n").expect("seed the log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_borealis"))
        .args(["up", "--embedded", "--port", "0", "--data"])
        .arg(dir.path().join("data"))
        .arg("--log-error")
        .arg(&log)
        .env("BOREALIS_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn borealis");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut port = None;
    for line in lines.by_ref() {
        let line = line.expect("stdout line");
        if let Some(rest) = line.strip_prefix("Borealis ready: instance endpoint ") {
            let addr = rest.split_whitespace().next().expect("address");
            port = addr.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
            break;
        }
    }
    let port = port.expect("a ready line");
    // Keep draining stdout: a closed pipe would make the server's next line fail.
    std::thread::spawn(move || lines.for_each(drop));
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some("root"))
        .prefer_socket(false);
    let mut c = mysql_async::Conn::new(opts).await.expect("connect");
    let shown: Option<String> = c.query_first("SELECT @@log_error").await.unwrap();
    assert_eq!(shown.as_deref(), Some(log.to_str().expect("utf-8 path")));
    drop(c);
    let _ = child.kill();
    let _ = child.wait();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    let text = std::fs::read_to_string(&log).expect("error log");
    assert!(
        text.starts_with("earlier line\n"),
        "appended, not truncated"
    );
    assert!(text.contains("instance ready"), "{text}");
    assert!(!text.contains("\x1b["), "no colour codes in a file");
    assert!(!stderr.contains("instance ready"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_error_defaults_to_stderr() {
    let s = Server::start(&[]);
    let mut c = s.conn().await;
    let shown: Option<String> = c.query_first("SELECT @@log_error").await.unwrap();
    assert_eq!(shown.as_deref(), Some("stderr"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn general_and_slow_logs_switch_at_run_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let general = dir.path().join("general.log");
    let slow = dir.path().join("slow.log");
    let s = Server::start(&[]);
    let mut c = s.conn().await;
    let on: Option<i64> = c.query_first("SELECT @@general_log").await.unwrap();
    assert_eq!(on, Some(0));

    c.query_drop(format!(
        "SET GLOBAL general_log_file = '{}'",
        general.display()
    ))
    .await
    .unwrap();
    c.query_drop("SET GLOBAL general_log = ON").await.unwrap();
    c.query_drop("SELECT 'logged-while-on'").await.unwrap();
    c.query_drop("SET GLOBAL general_log = OFF").await.unwrap();
    c.query_drop("SELECT 'not-logged-while-off'").await.unwrap();
    let text = std::fs::read_to_string(&general).expect("general log");
    assert!(text.contains("logged-while-on"), "{text}");
    assert!(!text.contains("not-logged-while-off"), "{text}");

    c.query_drop(format!(
        "SET GLOBAL slow_query_log_file = '{}'",
        slow.display()
    ))
    .await
    .unwrap();
    c.query_drop("SET GLOBAL long_query_time = 0")
        .await
        .unwrap();
    c.query_drop("SET GLOBAL slow_query_log = ON")
        .await
        .unwrap();
    c.query_drop("SELECT 'slow-marker'").await.unwrap();
    let text = std::fs::read_to_string(&slow).expect("slow log");
    assert!(text.contains("slow-marker"), "{text}");
    assert!(status_value(&mut c, "Slow_queries").await >= 1);

    // An unwritable file is refused, as MySQL refuses it, and the log keeps its old file.
    let bad = c
        .query_drop("SET GLOBAL general_log_file = '/nonexistent-dir/x/general.log'")
        .await;
    assert_eq!(code_of(bad), 1231);
    let file: Option<String> = c.query_first("SELECT @@general_log_file").await.unwrap();
    assert_eq!(file.as_deref(), general.to_str());
}

/// A session reads the settings it consults per statement once per change of a variable: a
/// SET GLOBAL from another session and its own SET SESSION must both take effect at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_statement_settings_follow_set_global_and_set_session() {
    let s = Server::start(&[]);
    let mut reader = s.conn().await;
    let mut admin = s.conn().await;
    // The reader has run statements, so it holds the settings as they were.
    reader.query_drop("SELECT 1").await.unwrap();
    let before = status_value(&mut reader, "Slow_queries").await;
    reader.query_drop("SELECT 2").await.unwrap();
    assert_eq!(status_value(&mut reader, "Slow_queries").await, before);

    admin
        .query_drop("SET GLOBAL long_query_time = 0")
        .await
        .unwrap();
    reader.query_drop("SELECT 3").await.unwrap();
    let after_global = status_value(&mut reader, "Slow_queries").await;
    assert!(
        after_global > before,
        "the new global applies to a running session"
    );

    reader
        .query_drop("SET SESSION long_query_time = 100")
        .await
        .unwrap();
    let settled = status_value(&mut reader, "Slow_queries").await;
    reader.query_drop("SELECT 4").await.unwrap();
    reader.query_drop("SELECT 5").await.unwrap();
    assert_eq!(
        status_value(&mut reader, "Slow_queries").await,
        settled,
        "the session's own value overrides the global"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn general_log_flag_turns_the_variable_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let general = dir.path().join("g.log");
    let s = Server::start(&["--general-log", general.to_str().expect("utf-8")]);
    let mut c = s.conn().await;
    let on: Option<i64> = c.query_first("SELECT @@general_log").await.unwrap();
    assert_eq!(on, Some(1));
    c.query_drop("SELECT 'from-the-start'").await.unwrap();
    let text = std::fs::read_to_string(&general).expect("general log");
    assert!(text.contains("from-the-start"), "{text}");
}
