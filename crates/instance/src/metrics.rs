//! The Prometheus endpoint of one instance: `GET /metrics` over a minimal HTTP/1.1 server on a
//! std `TcpListener` thread, answering in the text exposition format 0.0.4.
//!
//! What it exposes: every status variable of [`crate::status::global_status`] as
//! `borealis_<name>` (the `Borealis_` prefix dropped, lower case), the statement latency
//! histogram per class, rows affected per DML class, and the replication lag histogram.
//! docs/STATUS.md lists them.
//!
//! The HTTP side is deliberately small: one request per connection (`Connection: close`), a
//! request head of at most [`MAX_HEAD_BYTES`], read and write timeouts, and at most
//! [`MAX_CONNECTIONS`] connections served at once. Malformed requests get 400, other paths
//! 404, other methods 405; nothing a client sends can panic the server.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::histogram::HistogramSnapshot;
use crate::server::Shared;
use crate::status::{StatusVar, VarKind};

/// Largest request head (request line and headers) read; a longer one gets 431.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;
/// Connections served at once; more get 503 at once (scrapers are few, and a bound keeps a
/// flood of connections from creating unbounded threads).
pub const MAX_CONNECTIONS: usize = 8;
/// How long a client may take to send its request or read the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Content type of the Prometheus text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A running metrics endpoint; `shutdown` stops it.
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Binds `addr` and serves `/metrics` for `shared` on a background thread.
    pub fn start(addr: SocketAddr, shared: Arc<Shared>) -> std::io::Result<MetricsServer> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("metrics-accept".into())
            .spawn({
                let stop = stop.clone();
                move || accept_loop(&listener, &stop, &shared)
            })?;
        Ok(MetricsServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The bound address (the real port when started on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections and waits for the accept thread to end.
    pub fn shutdown(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept with a connection of our own.
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, stop: &AtomicBool, shared: &Arc<Shared>) {
    let active = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let stream = match conn {
            Ok(s) => s,
            Err(e) => {
                // E.g. out of file descriptors: do not spin.
                tracing::warn!(error = %e, "metrics endpoint: accept failed");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::SeqCst);
            refuse_busy(stream);
            continue;
        }
        let shared = shared.clone();
        let active_conn = active.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-conn".into())
            .spawn(move || {
                serve_connection(stream, &shared);
                active_conn.fetch_sub(1, Ordering::SeqCst);
            });
        if let Err(e) = spawned {
            active.fetch_sub(1, Ordering::SeqCst);
            tracing::warn!(error = %e, "metrics endpoint: cannot start a connection thread");
        }
    }
}

/// How long the accept thread waits for a refused client's request, so that closing does not
/// reset the connection before the 503 is read (kept short: it delays the next accept).
const REFUSE_WAIT: Duration = Duration::from_millis(20);

/// Answers 503 on the accept thread when every connection slot is taken.
fn refuse_busy(mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(REFUSE_WAIT));
    let _ = stream.set_write_timeout(Some(REFUSE_WAIT));
    let mut buf = [0u8; 4096];
    let _ = stream.read(&mut buf);
    let resp = Response::text(503, "Service Unavailable", "too many connections\n");
    let _ = resp.write_to(&mut stream, false);
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.read(&mut buf);
}

/// Reads one request, answers it and closes the connection.
fn serve_connection(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let head = match read_head(&mut stream) {
        Ok(Some(h)) => h,
        Ok(None) => return,
        Err(HeadError::TooLarge) => {
            let resp = Response::text(
                431,
                "Request Header Fields Too Large",
                "request too large\n",
            );
            let _ = resp.write_to(&mut stream, false);
            linger_close(stream);
            return;
        }
        Err(HeadError::Io) => return,
    };
    let (resp, head_only) = respond(&head, || render(shared));
    let _ = resp.write_to(&mut stream, head_only);
    linger_close(stream);
}

/// Bytes and time spent discarding what a client still sends after its answer.
const LINGER_BYTES: usize = 1 << 20;
const LINGER_TIME: Duration = Duration::from_secs(1);

/// Ends the connection without losing the answer: closing a socket with unread input makes
/// the kernel send a reset, which can discard the response before the client reads it. So
/// send FIN first, then read and drop the client's remaining bytes (bounded) until it closes.
fn linger_close(mut stream: TcpStream) {
    let _ = stream.flush();
    if stream.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let _ = stream.set_read_timeout(Some(LINGER_TIME));
    let started = std::time::Instant::now();
    let mut buf = [0u8; 4096];
    let mut drained = 0;
    while drained < LINGER_BYTES && started.elapsed() < LINGER_TIME {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => drained += n,
        }
    }
}

enum HeadError {
    TooLarge,
    Io,
}

/// Reads up to the blank line that ends a request head (bounded by [`MAX_HEAD_BYTES`]).
/// `None` when the client closed without sending anything.
fn read_head(stream: &mut impl Read) -> Result<Option<Vec<u8>>, HeadError> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(HeadError::Io),
        };
        if n == 0 {
            // Closed early: answer what arrived (a 400 if it is not a request line).
            return Ok((!head.is_empty()).then_some(head));
        }
        head.extend_from_slice(&buf[..n]);
        if find_end_of_head(&head).is_some() {
            return Ok(Some(head));
        }
        if head.len() > MAX_HEAD_BYTES {
            return Err(HeadError::TooLarge);
        }
    }
}

fn find_end_of_head(b: &[u8]) -> Option<usize> {
    let crlf = b.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = b.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// An HTTP response with a small text body.
#[derive(Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: &'static str,
    pub content_type: &'static str,
    pub body: String,
}

impl Response {
    fn text(status: u16, reason: &'static str, body: &str) -> Response {
        Response {
            status,
            reason,
            content_type: "text/plain; charset=utf-8",
            body: body.to_string(),
        }
    }

    fn write_to(&self, w: &mut impl Write, head_only: bool) -> std::io::Result<()> {
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.status,
            self.reason,
            self.content_type,
            self.body.len()
        );
        if self.status == 405 {
            out.push_str("Allow: GET, HEAD\r\n");
        }
        out.push_str("\r\n");
        w.write_all(out.as_bytes())?;
        if !head_only {
            w.write_all(self.body.as_bytes())?;
        }
        w.flush()
    }
}

/// The answer to a request head: 200 with `render()` for `GET`/`HEAD /metrics`, else an error.
/// The flag says whether only the head is to be sent (HEAD).
pub fn respond(head: &[u8], render: impl FnOnce() -> String) -> (Response, bool) {
    let Some((method, target)) = parse_request_line(head) else {
        return (Response::text(400, "Bad Request", "bad request\n"), false);
    };
    let path = target.split(['?', '#']).next().unwrap_or(target);
    if path != "/metrics" {
        return (
            Response::text(404, "Not Found", "not found; try /metrics\n"),
            false,
        );
    }
    if method != "GET" && method != "HEAD" {
        return (
            Response::text(405, "Method Not Allowed", "method not allowed\n"),
            false,
        );
    }
    let resp = Response {
        status: 200,
        reason: "OK",
        content_type: CONTENT_TYPE,
        body: render(),
    };
    (resp, method == "HEAD")
}

/// `(method, target)` of a well-formed HTTP/1.x request line, else `None`.
fn parse_request_line(head: &[u8]) -> Option<(&str, &str)> {
    let end = head.iter().position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&head[..end]).ok()?;
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    let method_ok = !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase());
    let target_ok = target.starts_with('/') && target.bytes().all(|b| b.is_ascii_graphic());
    let version_ok = matches!(version, "HTTP/1.0" | "HTTP/1.1");
    (parts.next().is_none() && method_ok && target_ok && version_ok).then_some((method, target))
}

/// The exposition text for the instance's current state.
pub fn render(shared: &Shared) -> String {
    let status = &shared.status;
    let exposition = Exposition {
        vars: crate::status::global_status(shared),
        latency: status
            .latency_snapshots()
            .into_iter()
            .map(|(c, h)| (c.name(), h))
            .collect(),
        dml_rows: status
            .dml_rows()
            .into_iter()
            .map(|(c, n)| (c.name(), n))
            .collect(),
        replication_lag: status.replication_lag.snapshot(),
        version: &shared.server_version,
        slot: shared.cfg.slot,
    };
    exposition.render()
}

/// Everything `/metrics` shows, gathered first so rendering is a pure function.
pub struct Exposition<'a> {
    pub vars: Vec<StatusVar>,
    pub latency: Vec<(&'static str, HistogramSnapshot)>,
    pub dml_rows: Vec<(&'static str, u64)>,
    pub replication_lag: HistogramSnapshot,
    pub version: &'a str,
    pub slot: u16,
}

impl Exposition<'_> {
    /// Prometheus text format 0.0.4: `# HELP` and `# TYPE` before each metric family.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        family(
            &mut out,
            "borealis_instance_info",
            "gauge",
            "Version and slot of this instance.",
        );
        let _ = writeln!(
            out,
            "borealis_instance_info{{version=\"{}\",slot=\"{}\"}} 1",
            escape_label(self.version),
            self.slot
        );
        for v in &self.vars {
            let name = metric_name(v.name);
            let kind = match v.kind {
                VarKind::Counter => "counter",
                VarKind::Gauge => "gauge",
            };
            family(
                &mut out,
                &name,
                kind,
                &format!(
                    "{} (status variable {}).",
                    v.help.trim_end_matches('.'),
                    v.name
                ),
            );
            let _ = writeln!(out, "{name} {}", v.value);
        }
        family(
            &mut out,
            "borealis_statement_latency_seconds",
            "histogram",
            "Statement execution time, by statement class.",
        );
        for (class, h) in &self.latency {
            histogram(
                &mut out,
                "borealis_statement_latency_seconds",
                Some(("class", class)),
                h,
            );
        }
        family(
            &mut out,
            "borealis_dml_rows_total",
            "counter",
            "Rows affected by DML, by statement class (rate() is DML throughput).",
        );
        for (class, n) in &self.dml_rows {
            let _ = writeln!(out, "borealis_dml_rows_total{{class=\"{class}\"}} {n}");
        }
        family(
            &mut out,
            "borealis_replication_lag_seconds",
            "histogram",
            "Time from a commit acknowledged on its instance to its being applied here.",
        );
        histogram(
            &mut out,
            "borealis_replication_lag_seconds",
            None,
            &self.replication_lag,
        );
        out
    }
}

/// `borealis_` + the status variable's name in lower case, without its `Borealis_` prefix.
pub fn metric_name(status_name: &str) -> String {
    let bare = status_name.strip_prefix("Borealis_").unwrap_or(status_name);
    format!("borealis_{}", bare.to_ascii_lowercase())
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// One histogram's `_bucket` (cumulative), `_sum` and `_count` lines, in seconds.
fn histogram(out: &mut String, name: &str, label: Option<(&str, &str)>, h: &HistogramSnapshot) {
    let prefix = label
        .map(|(k, v)| format!("{k}=\"{}\",", escape_label(v)))
        .unwrap_or_default();
    let mut cumulative = 0u64;
    for (i, n) in h.counts.iter().enumerate() {
        cumulative += n;
        let le = h
            .bounds_us
            .get(i)
            .map(|&us| seconds(us))
            .unwrap_or_else(|| "+Inf".to_string());
        let _ = writeln!(out, "{name}_bucket{{{prefix}le=\"{le}\"}} {cumulative}");
    }
    let labels = label
        .map(|(k, v)| format!("{{{k}=\"{}\"}}", escape_label(v)))
        .unwrap_or_default();
    let _ = writeln!(out, "{name}_sum{labels} {}", seconds(h.sum_us));
    let _ = writeln!(out, "{name}_count{labels} {cumulative}");
}

/// Microseconds as decimal seconds (`50` → `0.00005`), exact and without exponent.
fn seconds(us: u64) -> String {
    let (s, frac) = (us / 1_000_000, us % 1_000_000);
    if frac == 0 {
        return s.to_string();
    }
    let digits = format!("{frac:06}");
    format!("{s}.{}", digits.trim_end_matches('0'))
}

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::histogram::{Histogram, LAG_BOUNDS_US, LATENCY_BOUNDS_US};

    fn sample() -> String {
        let lat = Histogram::new(LATENCY_BOUNDS_US);
        lat.record_us(40);
        lat.record_us(60);
        lat.record_us(20_000_000);
        Exposition {
            vars: vec![
                StatusVar {
                    name: "Questions",
                    value: 7,
                    kind: VarKind::Counter,
                    help: "Statements received.",
                },
                StatusVar {
                    name: "Borealis_buffer_pool_bytes",
                    value: 4096,
                    kind: VarKind::Gauge,
                    help: "Bytes.",
                },
            ],
            latency: vec![("select", lat.snapshot())],
            dml_rows: vec![("insert", 3)],
            replication_lag: Histogram::new(LAG_BOUNDS_US).snapshot(),
            version: "8.0.36-\"x\"",
            slot: 2,
        }
        .render()
    }

    #[test]
    fn status_variables_become_typed_metrics() {
        let text = sample();
        assert!(text.contains("# TYPE borealis_questions counter\nborealis_questions 7\n"));
        assert!(text.contains(
            "# TYPE borealis_buffer_pool_bytes gauge\nborealis_buffer_pool_bytes 4096\n"
        ));
        assert!(text.contains(
            "# HELP borealis_questions Statements received (status variable Questions).\n"
        ));
        assert!(
            text.contains("borealis_instance_info{version=\"8.0.36-\\\"x\\\"\",slot=\"2\"} 1\n")
        );
        assert!(text.contains("borealis_dml_rows_total{class=\"insert\"} 3\n"));
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_end_with_inf() {
        let text = sample();
        let n = "borealis_statement_latency_seconds";
        assert!(text.contains(&format!(
            "{n}_bucket{{class=\"select\",le=\"0.00005\"}} 1\n"
        )));
        assert!(text.contains(&format!("{n}_bucket{{class=\"select\",le=\"0.0001\"}} 2\n")));
        assert!(text.contains(&format!("{n}_bucket{{class=\"select\",le=\"10\"}} 2\n")));
        assert!(text.contains(&format!("{n}_bucket{{class=\"select\",le=\"+Inf\"}} 3\n")));
        assert!(text.contains(&format!("{n}_sum{{class=\"select\"}} 20.0001\n")));
        assert!(text.contains(&format!("{n}_count{{class=\"select\"}} 3\n")));
        assert!(text.contains("borealis_replication_lag_seconds_bucket{le=\"+Inf\"} 0\n"));
        assert!(text.contains("borealis_replication_lag_seconds_count 0\n"));
    }

    /// Every line is a comment or `name{labels} value` with a valid name and a number.
    #[test]
    fn every_sample_line_is_well_formed() {
        for line in sample().lines() {
            if let Some(rest) = line.strip_prefix("# ") {
                assert!(
                    rest.starts_with("HELP ") || rest.starts_with("TYPE "),
                    "{line}"
                );
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect(line);
            let name = series.split('{').next().expect(line);
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{line}"
            );
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }

    #[test]
    fn metric_names() {
        assert_eq!(metric_name("Com_select"), "borealis_com_select");
        assert_eq!(
            metric_name("Borealis_buffer_pool_hits"),
            "borealis_buffer_pool_hits"
        );
        assert_eq!(metric_name("Innodb_deadlocks"), "borealis_innodb_deadlocks");
    }

    #[test]
    fn seconds_are_exact_decimals() {
        assert_eq!(seconds(50), "0.00005");
        assert_eq!(seconds(2_500_000), "2.5");
        assert_eq!(seconds(10_000_000), "10");
        assert_eq!(seconds(0), "0");
        assert_eq!(seconds(1_000_001), "1.000001");
    }

    fn status_of(head: &[u8]) -> u16 {
        respond(head, || "body".into()).0.status
    }

    #[test]
    fn routing_and_garbage() {
        assert_eq!(status_of(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
        assert_eq!(status_of(b"GET /metrics?x=1 HTTP/1.0\n\n"), 200);
        let (r, head_only) = respond(b"HEAD /metrics HTTP/1.1\r\n\r\n", || "b".into());
        assert_eq!((r.status, head_only), (200, true));
        assert_eq!(r.content_type, CONTENT_TYPE);
        assert_eq!(status_of(b"GET / HTTP/1.1\r\n\r\n"), 404);
        assert_eq!(status_of(b"GET /metricsx HTTP/1.1\r\n\r\n"), 404);
        assert_eq!(status_of(b"POST /metrics HTTP/1.1\r\n\r\n"), 405);
        for garbage in [
            &b""[..],
            b"\r\n\r\n",
            b"GET /metrics\r\n\r\n",
            b"GET /metrics HTTP/2.0\r\n\r\n",
            b"GET metrics HTTP/1.1\r\n\r\n",
            b"get /metrics HTTP/1.1\r\n\r\n",
            b"GET /metrics HTTP/1.1 extra\r\n\r\n",
            b"GET /met\xffrics HTTP/1.1\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n\n",
        ] {
            assert_eq!(status_of(garbage), 400, "{garbage:?}");
        }
    }

    #[test]
    fn head_reading_is_bounded() {
        let mut big = std::io::Cursor::new(vec![b'a'; MAX_HEAD_BYTES * 4]);
        assert!(matches!(read_head(&mut big), Err(HeadError::TooLarge)));
        let mut empty = std::io::Cursor::new(Vec::new());
        assert!(matches!(read_head(&mut empty), Ok(None)));
        let mut ok = std::io::Cursor::new(b"GET /metrics HTTP/1.1\r\n\r\nrest".to_vec());
        assert!(matches!(read_head(&mut ok), Ok(Some(_))));
    }

    #[test]
    fn response_has_length_and_closes() {
        let mut buf = Vec::new();
        let (r, _) = respond(b"GET /metrics HTTP/1.1\r\n\r\n", || "abc\n".into());
        r.write_to(&mut buf, false).expect("write to a Vec");
        let text = String::from_utf8(buf).expect("utf-8");
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(text.contains("Content-Length: 4\r\n"));
        assert!(text.contains("Connection: close\r\n"));
        assert!(text.ends_with("\r\n\r\nabc\n"));
    }
}
