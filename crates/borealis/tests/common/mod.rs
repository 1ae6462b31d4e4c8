//! Test harness: starts the real `borealis` binary on a free loopback port with a temporary
//! data directory, and stops it when the test ends (even when the test fails).

#![allow(dead_code)]

pub mod cluster;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mysql_async::prelude::*;
use mysql_async::{Conn, Opts, OptsBuilder};

/// A running `borealis up` process.
pub struct Server {
    pub port: u16,
    /// Port of the Prometheus endpoint, from the "Borealis metrics:" line (`--metrics-port`).
    pub metrics_port: Option<u16>,
    pub data: PathBuf,
    _dir: Option<tempfile::TempDir>,
    extra: Vec<String>,
    child: Option<Child>,
}

impl Server {
    /// Starts a server on a new, empty data directory.
    pub fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let mut s = Server {
            port: 0,
            metrics_port: None,
            data,
            _dir: Some(dir),
            extra: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
        };
        s.spawn();
        s
    }

    /// Starts a server on an existing data directory (e.g. after a crash).
    pub fn start_on(data: &Path, extra: &[&str]) -> Server {
        let mut s = Server {
            port: 0,
            metrics_port: None,
            data: data.to_path_buf(),
            _dir: None,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
        };
        s.spawn();
        s
    }

    /// Starts the server on port 0 and learns the port it bound from its "ready" line: a port
    /// picked in advance can be taken by another test's client socket before the server binds it.
    fn spawn(&mut self) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_borealis"));
        cmd.arg("up")
            .arg("--embedded")
            .arg("--data")
            .arg(&self.data)
            .arg("--port")
            .arg("0")
            .args(&self.extra)
            .env(
                "BOREALIS_LOG",
                std::env::var("BOREALIS_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("spawn borealis");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        // Read the ready line (the metrics line comes before it), then keep draining stdout so
        // the child never blocks on a pipe.
        std::thread::spawn(move || {
            let mut metrics = None;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                metrics = metrics.or_else(|| metrics_port(&line));
                if let Some(port) = ready_port(&line) {
                    let _ = tx.send((port, metrics));
                }
            }
        });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok((port, metrics)) = rx.recv_timeout(Duration::from_millis(100)) {
                self.port = port;
                self.metrics_port = metrics;
                break;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("borealis exited during start: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "borealis did not become ready within 60 s"
            );
        }
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("borealis exited during start: {status}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("borealis did not listen on {addr} within 60 s");
    }

    pub fn opts(&self) -> Opts {
        self.opts_with("root", "")
    }

    pub fn opts_with(&self, user: &str, pass: &str) -> Opts {
        OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.port)
            .user(Some(user))
            .pass(Some(pass))
            .prefer_socket(false)
            .into()
    }

    pub async fn conn(&self) -> Conn {
        Conn::new(self.opts()).await.expect("connect")
    }

    /// Connects with a database selected (created if missing).
    pub async fn conn_db(&self, db: &str) -> Conn {
        let mut c = self.conn().await;
        c.query_drop(format!("CREATE DATABASE IF NOT EXISTS {db}"))
            .await
            .expect("create db");
        c.query_drop(format!("USE {db}")).await.expect("use db");
        c
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: plain kill(2) on our own child's pid.
            unsafe {
                libc_kill(c.id() as i32, 15);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Restarts on the same data directory (after `kill9` or `stop`).
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }
}

/// The port in "Borealis ready: instance endpoint 127.0.0.1:PORT …".
fn ready_port(line: &str) -> Option<u16> {
    let rest = line.strip_prefix("Borealis ready: instance endpoint ")?;
    let addr = rest.split_whitespace().next()?;
    addr.rsplit(':').next()?.parse().ok()
}

/// The port in "Borealis metrics: http://127.0.0.1:PORT/metrics".
fn metrics_port(line: &str) -> Option<u16> {
    let rest = line.strip_prefix("Borealis metrics: http://")?;
    let addr = rest.strip_suffix("/metrics")?;
    addr.rsplit(':').next()?.parse().ok()
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(status) = self
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
        {
            eprintln!(
                "borealis on port {} had exited by itself: {status}",
                self.port
            );
        }
        self.kill9();
    }
}

/// The MySQL error code of a failed call, if it was a server error.
pub fn code_of<T: std::fmt::Debug>(r: Result<T, mysql_async::Error>) -> u16 {
    match r {
        Err(mysql_async::Error::Server(e)) => e.code,
        other => panic!("expected a server error, got {other:?}"),
    }
}

pub fn server_error<T: std::fmt::Debug>(
    r: Result<T, mysql_async::Error>,
) -> mysql_async::ServerError {
    match r {
        Err(mysql_async::Error::Server(e)) => e,
        other => panic!("expected a server error, got {other:?}"),
    }
}
