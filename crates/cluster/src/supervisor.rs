//! `borealis up --instances N`: the page service and N instances as child processes of this
//! one, the endpoints in this process, and a watch that restarts a child that dies (killed or
//! crashed). A child that exits cleanly — `kill PID` sends SIGTERM, and an instance then leaves
//! the cluster — stays stopped: that is how an instance is removed from a running cluster.
//!
//! Children write their logs (the error log) to `<data>/logs/<name>.log` and announce
//! themselves on stdout with one "ready" line, which the supervisor parses for their addresses.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How long a child may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How often children are checked, and the pause before a dead one is restarted.
const WATCH_EVERY: Duration = Duration::from_millis(200);
const RESTART_PAUSE: Duration = Duration::from_secs(1);

/// How long children get to stop after SIGTERM before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error("cannot start {name}: {reason}")]
    Spawn { name: String, reason: String },
    #[error("{name} did not become ready: {reason} (see {log})")]
    NotReady {
        name: String,
        reason: String,
        log: String,
    },
}

/// One child process: how to start it and what it announced.
pub struct ChildSpec {
    /// `storage` or `instance-K`.
    pub name: String,
    pub args: Vec<String>,
}

/// The `key value` fields of a ready line.
pub type ReadyFields = Vec<(String, String)>;

/// A started child and the fields of its ready line (`key value` pairs after the prefix).
struct Running {
    spec: ChildSpec,
    child: Child,
    ready: Vec<(String, String)>,
}

/// The children of `borealis up`.
pub struct Supervisor {
    exe: PathBuf,
    log_dir: PathBuf,
    children: Arc<Mutex<Vec<Running>>>,
    stopping: Arc<AtomicBool>,
}

impl Supervisor {
    pub fn new(exe: PathBuf, data: &Path) -> Result<Supervisor, SupervisorError> {
        let log_dir = data.join("logs");
        std::fs::create_dir_all(&log_dir).map_err(|e| SupervisorError::Spawn {
            name: "logs".into(),
            reason: format!("{}: {e}", log_dir.display()),
        })?;
        Ok(Supervisor {
            exe,
            log_dir,
            children: Arc::new(Mutex::new(Vec::new())),
            stopping: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Start a child and wait for its ready line; returns the line's `key value` fields.
    pub fn start(&self, spec: ChildSpec) -> Result<Vec<(String, String)>, SupervisorError> {
        let running = spawn(&self.exe, &self.log_dir, spec)?;
        let ready = running.ready.clone();
        self.children.lock().push(running);
        Ok(ready)
    }

    /// Replace the arguments `name` is restarted with (e.g. to keep the port the OS chose).
    pub fn set_args(&self, name: &str, args: Vec<String>) {
        for running in self.children.lock().iter_mut() {
            if running.spec.name == name {
                running.spec.args = args.clone();
            }
        }
    }

    /// Process ids by child name (tests kill them).
    pub fn pids(&self) -> Vec<(String, u32)> {
        self.children
            .lock()
            .iter()
            .map(|r| (r.spec.name.clone(), r.child.id()))
            .collect()
    }

    /// Restart children that exit, until [`Supervisor::stop`]. A restarted child gets the
    /// arguments it was last given (see [`Supervisor::set_args`]); `on_restart` hears of it.
    pub fn watch(&self, on_restart: impl Fn(&str, &ReadyFields) + Send + 'static) {
        let children = self.children.clone();
        let stopping = self.stopping.clone();
        let exe = self.exe.clone();
        let log_dir = self.log_dir.clone();
        let spawned = std::thread::Builder::new()
            .name("supervisor".into())
            .spawn(move || {
                // Ends at stop(); each pass is bounded by the number of children.
                while !stopping.load(Ordering::Acquire) {
                    std::thread::sleep(WATCH_EVERY);
                    restart_dead(&children, &stopping, &exe, &log_dir, &on_restart);
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the supervisor watch");
        }
    }

    /// SIGTERM every child (instances first, the page service last) and wait for them.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        let mut children = self.children.lock();
        // Instances were started after the page service: stop in reverse order.
        for running in children.iter_mut().rev() {
            terminate(&mut running.child);
        }
        children.clear();
    }
}

fn restart_dead(
    children: &Mutex<Vec<Running>>,
    stopping: &AtomicBool,
    exe: &Path,
    log_dir: &Path,
    on_restart: &dyn Fn(&str, &ReadyFields),
) {
    let mut children = children.lock();
    let mut removed = Vec::new();
    for (i, running) in children.iter_mut().enumerate() {
        if stopping.load(Ordering::Acquire) {
            return;
        }
        let Ok(Some(status)) = running.child.try_wait() else {
            continue;
        };
        // A child that exited cleanly (SIGTERM: an instance leaving the cluster) stays stopped.
        if status.success() {
            tracing::info!(child = %running.spec.name, "child stopped cleanly; not restarting");
            removed.push(i);
            continue;
        }
        tracing::warn!(child = %running.spec.name, %status, "child exited; restarting");
        std::thread::sleep(RESTART_PAUSE);
        let spec = ChildSpec {
            name: running.spec.name.clone(),
            args: running.spec.args.clone(),
        };
        match spawn(exe, log_dir, spec) {
            Ok(new) => {
                on_restart(&new.spec.name, &new.ready);
                *running = new;
            }
            Err(e) => tracing::error!(error = %e, "restart failed; will retry"),
        }
    }
    for i in removed.into_iter().rev() {
        children.remove(i);
    }
}

fn spawn(exe: &Path, log_dir: &Path, spec: ChildSpec) -> Result<Running, SupervisorError> {
    let log_path = log_dir.join(format!("{}.log", spec.name));
    let log = open_log(&log_path).map_err(|e| SupervisorError::Spawn {
        name: spec.name.clone(),
        reason: format!("{}: {e}", log_path.display()),
    })?;
    let mut cmd = Command::new(exe);
    cmd.args(&spec.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log));
    // SAFETY: prctl is async-signal-safe; it only asks the kernel to SIGTERM the child when
    // this process dies, so a killed supervisor leaves no orphans serving ports.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| SupervisorError::Spawn {
        name: spec.name.clone(),
        reason: e.to_string(),
    })?;
    let not_ready = |reason: String| SupervisorError::NotReady {
        name: spec.name.clone(),
        reason,
        log: log_path.display().to_string(),
    };
    let Some(stdout) = child.stdout.take() else {
        return Err(not_ready("no stdout".into()));
    };
    let (tx, rx) = mpsc::channel();
    // Read the ready line, then keep draining stdout so the child never blocks on the pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(fields) = parse_ready(&line) {
                let _ = tx.send(fields);
            }
        }
    });
    let deadline = Instant::now() + READY_TIMEOUT;
    // Bounded by the deadline.
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(ready) => return Ok(Running { spec, child, ready }),
            Err(_) if Instant::now() >= deadline => {
                terminate(&mut child);
                return Err(not_ready("timed out".into()));
            }
            Err(_) => {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(not_ready(format!("exited with {status}")));
                }
            }
        }
    }
}

fn open_log(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// `Borealis <what> ready: key value key value …` → the pairs.
pub fn parse_ready(line: &str) -> Option<Vec<(String, String)>> {
    let rest = line.strip_prefix("Borealis ")?;
    let (_, fields) = rest.split_once(" ready: ")?;
    let words: Vec<&str> = fields.split_whitespace().collect();
    Some(
        words
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| (c[0].to_string(), c[1].trim_end_matches(',').to_string()))
            .collect(),
    )
}

fn terminate(child: &mut Child) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let deadline = Instant::now() + STOP_GRACE;
    // Bounded by the grace period, then the child is killed.
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::parse_ready;

    #[test]
    fn ready_lines_parse_into_fields() {
        let f = parse_ready(
            "Borealis instance ready: slot 2 sql 127.0.0.1:3308 replication 127.0.0.1:41000",
        )
        .unwrap();
        assert_eq!(f[0], ("slot".into(), "2".into()));
        assert_eq!(f[1], ("sql".into(), "127.0.0.1:3308".into()));
        assert_eq!(f[2].1, "127.0.0.1:41000");
        assert!(parse_ready("something else").is_none());
    }
}
