//! Status counters of one instance (`SHOW [GLOBAL] STATUS`); docs/STATUS.md lists them.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

/// Statement classes counted as `Com_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Com {
    Select,
    Insert,
    Update,
    Delete,
    Replace,
    Begin,
    Commit,
    Rollback,
    Set,
    Show,
    Ddl,
    Other,
}

const COM_NAMES: [&str; 12] = [
    "Com_select",
    "Com_insert",
    "Com_update",
    "Com_delete",
    "Com_replace",
    "Com_begin",
    "Com_commit",
    "Com_rollback",
    "Com_set_option",
    "Com_show",
    "Com_ddl",
    "Com_other",
];

/// Global counters, updated lock-free by sessions.
pub struct Status {
    started: Instant,
    pub questions: AtomicU64,
    pub connections: AtomicU64,
    pub threads_connected: AtomicU64,
    pub aborted_connects: AtomicU64,
    pub slow_queries: AtomicU64,
    pub conflicts: AtomicU64,
    /// Single-statement transactions retried after a conflict.
    pub retries: AtomicU64,
    pub rows_sent: AtomicU64,
    pub rows_affected: AtomicU64,
    com: [AtomicU64; 12],
}

impl Default for Status {
    fn default() -> Self {
        Status {
            started: Instant::now(),
            questions: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            threads_connected: AtomicU64::new(0),
            aborted_connects: AtomicU64::new(0),
            slow_queries: AtomicU64::new(0),
            conflicts: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            rows_sent: AtomicU64::new(0),
            rows_affected: AtomicU64::new(0),
            com: Default::default(),
        }
    }
}

impl Status {
    pub fn count(&self, com: Com) {
        self.com[com as usize].fetch_add(1, Relaxed);
    }

    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Name/value pairs, sorted by name; `extra` adds engine and store counters.
    pub fn rows(&self, extra: Vec<(String, String)>) -> Vec<(String, String)> {
        let mut rows: Vec<(String, String)> = vec![
            (
                "Aborted_connects".into(),
                self.aborted_connects.load(Relaxed).to_string(),
            ),
            (
                "Borealis_conflicts".into(),
                self.conflicts.load(Relaxed).to_string(),
            ),
            (
                "Borealis_conflict_retries".into(),
                self.retries.load(Relaxed).to_string(),
            ),
            (
                "Borealis_rows_affected".into(),
                self.rows_affected.load(Relaxed).to_string(),
            ),
            (
                "Borealis_rows_sent".into(),
                self.rows_sent.load(Relaxed).to_string(),
            ),
            (
                "Connections".into(),
                self.connections.load(Relaxed).to_string(),
            ),
            (
                "Innodb_deadlocks".into(),
                self.conflicts.load(Relaxed).to_string(),
            ),
            ("Queries".into(), self.questions.load(Relaxed).to_string()),
            ("Questions".into(), self.questions.load(Relaxed).to_string()),
            (
                "Slow_queries".into(),
                self.slow_queries.load(Relaxed).to_string(),
            ),
            (
                "Threads_connected".into(),
                self.threads_connected.load(Relaxed).to_string(),
            ),
            ("Uptime".into(), self.uptime_secs().to_string()),
        ];
        for (name, counter) in COM_NAMES.iter().zip(self.com.iter()) {
            rows.push((name.to_string(), counter.load(Relaxed).to_string()));
        }
        rows.extend(extra);
        rows.sort();
        rows
    }
}
