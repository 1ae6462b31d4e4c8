//! Cluster harness: a `borealis storage` process and `borealis instance` processes, each on
//! port 0 (the bound ports are read from their ready lines), all stopped when the test ends.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mysql_async::{Conn, Opts, OptsBuilder};

/// A started child and the `key value` fields of its ready line.
pub struct Proc {
    pub child: Child,
    pub fields: BTreeMap<String, String>,
}

impl Proc {
    /// Spawn `borealis ARGS` and wait for a line "Borealis … ready: key value …".
    pub fn spawn(args: &[String]) -> Proc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_borealis"))
            .args(args)
            .env(
                "BOREALIS_LOG",
                std::env::var("BOREALIS_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn borealis");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        // Collect every line until the ready line, then keep draining stdout.
        std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                lines.push(line.clone());
                if line.contains(" ready: ") {
                    let _ = tx.send(lines.clone());
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Ok(lines) = rx.recv_timeout(Duration::from_millis(100)) {
                let ready = lines.last().cloned().unwrap_or_default();
                let mut fields = parse_fields(&ready);
                // `borealis up` also prints "processes storage=PID instance-1=PID …".
                for line in &lines {
                    if let Some(rest) = line.trim().strip_prefix("processes") {
                        for pair in rest.split_whitespace() {
                            if let Some((k, v)) = pair.split_once('=') {
                                fields.insert(format!("pid-{k}"), v.to_string());
                            }
                        }
                    }
                }
                return Proc { child, fields };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("borealis {args:?} exited during start: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "borealis {args:?} not ready in 90 s"
            );
        }
    }

    pub fn field(&self, key: &str) -> &str {
        self.fields
            .get(key)
            .unwrap_or_else(|| panic!("no {key} in ready line {:?}", self.fields))
    }

    pub fn port_of(&self, key: &str) -> u16 {
        let addr = self.field(key);
        addr.trim_end_matches(',')
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{key} = {addr} has no port"))
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn sigterm(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            kill(self.child.id() as i32, 15);
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill9();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

/// SIGKILL a process by pid (a child of `borealis up`).
pub fn kill9_pid(pid: u32) {
    // SAFETY: kill(2); the pid was printed by a process this test started.
    unsafe {
        kill(pid as i32, 9);
    }
}

/// SIGTERM a process by pid (a clean stop).
pub fn sigterm_pid(pid: u32) {
    // SAFETY: kill(2); the pid was printed by a process this test started.
    unsafe {
        kill(pid as i32, 15);
    }
}

fn parse_fields(line: &str) -> BTreeMap<String, String> {
    let fields = line.split_once(" ready: ").map(|(_, f)| f).unwrap_or("");
    let words: Vec<&str> = fields.split_whitespace().collect();
    words
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| (c[0].to_string(), c[1].trim_end_matches(',').to_string()))
        .collect()
}

pub fn opts(port: u16) -> Opts {
    OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some("root"))
        .pass(Some(""))
        .prefer_socket(false)
        .into()
}

/// A page service and instances, each its own process.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub storage: Proc,
    pub instances: BTreeMap<u16, Proc>,
}

impl Cluster {
    /// A page service and instances 1..=n (started one after another).
    pub fn start(n: u16) -> Cluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Proc::spawn(&[
            "storage".into(),
            "--data".into(),
            dir.path().join("storage").display().to_string(),
            "--listen".into(),
            "127.0.0.1:0".into(),
        ]);
        let mut cluster = Cluster {
            dir,
            storage,
            instances: BTreeMap::new(),
        };
        for slot in 1..=n {
            cluster.start_instance(slot, &[]);
        }
        cluster
    }

    pub fn storage_addr(&self) -> String {
        self.storage.field("at").to_string()
    }

    fn instance_dir(&self, slot: u16) -> PathBuf {
        self.dir.path().join(format!("instance-{slot}"))
    }

    /// Start (or restart) the instance of `slot` on a new port.
    pub fn start_instance(&mut self, slot: u16, extra: &[&str]) {
        let mut args: Vec<String> = vec![
            "instance".into(),
            "--slot".into(),
            slot.to_string(),
            "--storage".into(),
            self.storage_addr(),
            "--port".into(),
            "0".into(),
            "--data".into(),
            self.instance_dir(slot).display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let proc = Proc::spawn(&args);
        self.instances.insert(slot, proc);
    }

    pub fn port(&self, slot: u16) -> u16 {
        self.instances[&slot].port_of("sql")
    }

    pub async fn conn(&self, slot: u16) -> Conn {
        Conn::new(opts(self.port(slot))).await.expect("connect")
    }

    pub fn kill9(&mut self, slot: u16) {
        if let Some(mut p) = self.instances.remove(&slot) {
            p.kill9();
        }
    }
}
