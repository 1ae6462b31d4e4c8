//! General and slow query logs (as MySQL's `general_log` / `slow_query_log`), switchable at
//! run time with `SET GLOBAL general_log = ON|OFF` and `SET GLOBAL general_log_file = '…'`
//! (likewise `slow_query_log`, `slow_query_log_file`).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

/// One append-only log file that can be switched on and off at run time.
pub struct QueryLog {
    /// Checked without the lock on every statement.
    enabled: AtomicBool,
    inner: Mutex<Inner>,
}

struct Inner {
    path: PathBuf,
    /// Open while the log is on.
    file: Option<BufWriter<File>>,
}

fn open(path: &Path) -> std::io::Result<BufWriter<File>> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(BufWriter::new)
}

impl QueryLog {
    /// A log writing to `path`; when `enabled` the file is opened now, and a file that cannot
    /// be opened leaves the log off (reported through tracing, as MySQL does at start).
    pub fn new(path: PathBuf, enabled: bool) -> Self {
        let log = QueryLog {
            enabled: AtomicBool::new(false),
            inner: Mutex::new(Inner { path, file: None }),
        };
        if enabled {
            if let Err(e) = log.set_enabled(true) {
                let path = log.path();
                tracing::warn!(path = %path.display(), error = %e, "cannot open query log; it stays off");
            }
        }
        log
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    pub fn path(&self) -> PathBuf {
        self.inner.lock().path.clone()
    }

    /// Switches the log on (opening its file, which must succeed) or off (closing it).
    pub fn set_enabled(&self, on: bool) -> std::io::Result<()> {
        let mut inner = self.inner.lock();
        if on {
            if inner.file.is_none() {
                inner.file = Some(open(&inner.path)?);
            }
        } else if let Some(mut f) = inner.file.take() {
            let _ = f.flush();
        }
        self.enabled.store(on, Ordering::Relaxed);
        Ok(())
    }

    /// Writes to `path` from now on. The file must be writable (checked by opening it, as
    /// MySQL checks `general_log_file`); on failure nothing changes.
    pub fn set_path(&self, path: PathBuf) -> std::io::Result<()> {
        let file = open(&path)?;
        let mut inner = self.inner.lock();
        if let Some(mut old) = inner.file.take() {
            let _ = old.flush();
        }
        inner.file = self.is_enabled().then_some(file);
        inner.path = path;
        Ok(())
    }

    /// Appends one line; a write error is ignored (logging must never fail a statement).
    pub fn write(&self, connection_id: u32, elapsed: Option<Duration>, text: &str) {
        if !self.is_enabled() {
            return;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut inner = self.inner.lock();
        let Some(f) = inner.file.as_mut() else {
            return;
        };
        let _ = match elapsed {
            Some(d) => writeln!(
                f,
                "{}.{:06}\t{}\tQuery_time: {:.6}\t{}",
                now.as_secs(),
                now.subsec_micros(),
                connection_id,
                d.as_secs_f64(),
                text
            ),
            None => writeln!(
                f,
                "{}.{:06}\t{}\tQuery\t{}",
                now.as_secs(),
                now.subsec_micros(),
                connection_id,
                text
            ),
        };
        let _ = f.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switch_on_off_and_move() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a.log");
        let b = dir.path().join("b.log");
        let log = QueryLog::new(a.clone(), false);
        log.write(1, None, "not logged");
        assert!(!a.exists(), "an off log creates no file");
        log.set_enabled(true).expect("on");
        log.write(1, None, "first");
        log.set_path(b.clone()).expect("move");
        log.write(1, None, "second");
        log.set_enabled(false).expect("off");
        log.write(1, None, "third");
        let a_text = std::fs::read_to_string(&a).expect("a");
        let b_text = std::fs::read_to_string(&b).expect("b");
        assert!(a_text.contains("first") && !a_text.contains("second"));
        assert!(b_text.contains("second") && !b_text.contains("third"));
    }

    #[test]
    fn unwritable_paths_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = QueryLog::new(dir.path().join("missing-dir/x.log"), true);
        assert!(!log.is_enabled(), "a log that cannot open stays off");
        assert!(log.set_enabled(true).is_err());
        assert!(
            log.set_path(dir.path().to_path_buf()).is_err(),
            "a directory"
        );
        let ok = dir.path().join("ok.log");
        log.set_path(ok.clone()).expect("writable");
        log.set_enabled(true).expect("on");
        assert!(log.is_enabled());
        assert_eq!(log.path(), ok);
    }
}
