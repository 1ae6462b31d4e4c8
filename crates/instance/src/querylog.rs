//! General and slow query logs (as MySQL's `general_log` / `slow_query_log`).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

/// One append-only log file that can be switched on and off at run time.
pub struct QueryLog {
    enabled: AtomicBool,
    path: PathBuf,
    file: Mutex<Option<BufWriter<File>>>,
}

impl QueryLog {
    pub fn new(path: PathBuf, enabled: bool) -> Self {
        QueryLog {
            enabled: AtomicBool::new(enabled),
            path,
            file: Mutex::new(None),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
        if !on {
            if let Some(mut f) = self.file.lock().take() {
                let _ = f.flush();
            }
        }
    }

    /// Appends one line; a log that cannot be written is reported once through tracing and
    /// otherwise ignored (logging must never fail a statement).
    pub fn write(&self, connection_id: u32, elapsed: Option<Duration>, text: &str) {
        if !self.is_enabled() {
            return;
        }
        let mut guard = self.file.lock();
        if guard.is_none() {
            match OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
            {
                Ok(f) => *guard = Some(BufWriter::new(f)),
                Err(e) => {
                    tracing::warn!(path = %self.path.display(), error = %e, "cannot open query log; disabling it");
                    self.enabled.store(false, Ordering::Relaxed);
                    return;
                }
            }
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        if let Some(f) = guard.as_mut() {
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
}
