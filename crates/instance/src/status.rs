//! Status counters of one instance (`SHOW [GLOBAL] STATUS` and the Prometheus endpoint);
//! docs/STATUS.md lists them.
//!
//! [`Status`] holds the instance's own counters and histograms, updated lock-free by sessions.
//! [`global_status`] is the one list of status variables: it adds the engine's and the page
//! store's counters, and both `SHOW STATUS` and `/metrics` read it, so they never disagree.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use borealis_pagestore::leaf_merge::Refusal;
use borealis_pagestore::StoreStats;

use crate::histogram::{Histogram, HistogramSnapshot, LAG_BOUNDS_US, LATENCY_BOUNDS_US};
use crate::server::Shared;

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

/// Statement classes of the latency histogram (label `class` in `/metrics`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StmtClass {
    Select,
    Insert,
    Replace,
    Update,
    Delete,
    Commit,
    Ddl,
    Other,
}

impl StmtClass {
    pub const ALL: [StmtClass; 8] = [
        StmtClass::Select,
        StmtClass::Insert,
        StmtClass::Replace,
        StmtClass::Update,
        StmtClass::Delete,
        StmtClass::Commit,
        StmtClass::Ddl,
        StmtClass::Other,
    ];

    /// The label value.
    pub fn name(self) -> &'static str {
        match self {
            StmtClass::Select => "select",
            StmtClass::Insert => "insert",
            StmtClass::Replace => "replace",
            StmtClass::Update => "update",
            StmtClass::Delete => "delete",
            StmtClass::Commit => "commit",
            StmtClass::Ddl => "ddl",
            StmtClass::Other => "other",
        }
    }
}

/// DML classes whose affected rows are counted (label `class` of `borealis_dml_rows_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmlClass {
    Insert,
    Replace,
    Update,
    Delete,
}

impl DmlClass {
    pub const ALL: [DmlClass; 4] = [
        DmlClass::Insert,
        DmlClass::Replace,
        DmlClass::Update,
        DmlClass::Delete,
    ];

    /// The label value.
    pub fn name(self) -> &'static str {
        match self {
            DmlClass::Insert => "insert",
            DmlClass::Replace => "replace",
            DmlClass::Update => "update",
            DmlClass::Delete => "delete",
        }
    }

    fn status_name(self) -> &'static str {
        match self {
            DmlClass::Insert => "Borealis_rows_affected_insert",
            DmlClass::Replace => "Borealis_rows_affected_replace",
            DmlClass::Update => "Borealis_rows_affected_update",
            DmlClass::Delete => "Borealis_rows_affected_delete",
        }
    }
}

/// Global counters and histograms, updated lock-free by sessions.
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
    /// Multi-statement transactions whose lost commit was replayed and then committed.
    pub replays: AtomicU64,
    /// Replays abandoned (the transaction got its 1213) because a statement's result differed.
    pub replay_mismatches: AtomicU64,
    /// INSERT texts run as a shape with bound values (`borealis_sql::parameterize_insert`).
    pub parameterized_inserts: AtomicU64,
    pub rows_sent: AtomicU64,
    pub rows_affected: AtomicU64,
    com: [AtomicU64; 12],
    /// Statement execution time, one histogram per [`StmtClass`].
    latency: [Histogram; StmtClass::ALL.len()],
    /// Rows affected, per [`DmlClass`].
    dml_rows: [AtomicU64; DmlClass::ALL.len()],
    /// The replication lag (commit acknowledged on its instance → applied here) observed last,
    /// in microseconds; 0 until a change from another instance has been applied.
    pub replication_lag_us_last: AtomicU64,
    /// Every replication lag observed, in microseconds.
    pub replication_lag: Histogram,
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
            replays: AtomicU64::new(0),
            replay_mismatches: AtomicU64::new(0),
            parameterized_inserts: AtomicU64::new(0),
            rows_sent: AtomicU64::new(0),
            rows_affected: AtomicU64::new(0),
            com: Default::default(),
            latency: std::array::from_fn(|_| Histogram::new(LATENCY_BOUNDS_US)),
            dml_rows: Default::default(),
            replication_lag_us_last: AtomicU64::new(0),
            replication_lag: Histogram::new(LAG_BOUNDS_US),
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

    /// Records how long one statement of `class` took to execute.
    pub fn record_latency(&self, class: StmtClass, elapsed: Duration) {
        self.latency[class as usize].record(elapsed);
    }

    /// Adds the rows one DML statement affected.
    pub fn add_dml_rows(&self, class: DmlClass, rows: u64) {
        self.dml_rows[class as usize].fetch_add(rows, Relaxed);
    }

    /// Records one replication lag observation: the time from a commit being acknowledged on
    /// the instance that made it to its being applied on this one. Called by replication.
    pub fn record_replication_lag(&self, micros: u64) {
        self.replication_lag_us_last.store(micros, Relaxed);
        self.replication_lag.record_us(micros);
    }

    /// The latency histograms, one per statement class.
    pub fn latency_snapshots(&self) -> Vec<(StmtClass, HistogramSnapshot)> {
        StmtClass::ALL
            .iter()
            .map(|&c| (c, self.latency[c as usize].snapshot()))
            .collect()
    }

    /// Rows affected per DML class.
    pub fn dml_rows(&self) -> Vec<(DmlClass, u64)> {
        DmlClass::ALL
            .iter()
            .map(|&c| (c, self.dml_rows[c as usize].load(Relaxed)))
            .collect()
    }
}

/// How a status variable behaves over time (the Prometheus metric type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarKind {
    /// Only grows while the instance runs.
    Counter,
    /// Goes up and down.
    Gauge,
}

/// One status variable: its MySQL name, value, kind and a one-line description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusVar {
    pub name: &'static str,
    pub value: u64,
    pub kind: VarKind,
    pub help: &'static str,
}

pub fn counter(name: &'static str, value: u64, help: &'static str) -> StatusVar {
    StatusVar {
        name,
        value,
        kind: VarKind::Counter,
        help,
    }
}

pub fn gauge(name: &'static str, value: u64, help: &'static str) -> StatusVar {
    StatusVar {
        name,
        value,
        kind: VarKind::Gauge,
        help,
    }
}

/// Every status variable of the instance, sorted by name.
pub fn global_status(shared: &Shared) -> Vec<StatusVar> {
    let mut vars = session_counters(&shared.status);
    vars.extend(engine_counters(shared));
    vars.extend(replication_counters(&shared.status));
    if let Some(cluster) = shared.cluster.get() {
        vars.extend(cluster.status_vars());
    }
    let running = shared
        .processes
        .rows()
        .iter()
        .filter(|p| p.command != "Sleep")
        .count() as u64;
    vars.push(gauge(
        "Threads_running",
        running,
        "Sessions executing a statement now.",
    ));
    vars.sort_by(|a, b| a.name.cmp(b.name));
    vars
}

/// Counters kept by the sessions of this instance.
fn session_counters(s: &Status) -> Vec<StatusVar> {
    let questions = s.questions.load(Relaxed);
    let conflicts = s.conflicts.load(Relaxed);
    let mut v = vec![
        counter(
            "Aborted_connects",
            s.aborted_connects.load(Relaxed),
            "Connections that failed before a session opened.",
        ),
        counter(
            "Borealis_conflicts",
            conflicts,
            "Commits that lost first-committer-wins and were rolled back (including those then retried or replayed).",
        ),
        counter(
            "Borealis_conflict_retries",
            s.retries.load(Relaxed),
            "Single-statement transactions retried after a conflict.",
        ),
        counter(
            "Borealis_replays",
            s.replays.load(Relaxed),
            "Multi-statement transactions whose lost commit was replayed (every result the client saw was reproduced) and committed.",
        ),
        counter(
            "Borealis_replay_mismatches",
            s.replay_mismatches.load(Relaxed),
            "Lost commits not replayed because a statement's result differed at the newer snapshot (the client got 1213).",
        ),
        counter(
            "Borealis_parameterized_inserts",
            s.parameterized_inserts.load(Relaxed),
            "INSERT texts with inline values run as a cached shape with bound values.",
        ),
        counter(
            "Borealis_rows_affected",
            s.rows_affected.load(Relaxed),
            "Rows changed by DML.",
        ),
        counter(
            "Borealis_rows_sent",
            s.rows_sent.load(Relaxed),
            "Rows returned to clients.",
        ),
        counter(
            "Connections",
            s.connections.load(Relaxed),
            "Connections opened.",
        ),
        counter(
            "Innodb_deadlocks",
            conflicts,
            "Commits rolled back after a conflict (same as Borealis_conflicts).",
        ),
        counter("Queries", questions, "Statements received."),
        counter("Questions", questions, "Statements received."),
        counter(
            "Slow_queries",
            s.slow_queries.load(Relaxed),
            "Statements that took at least long_query_time.",
        ),
        gauge(
            "Threads_connected",
            s.threads_connected.load(Relaxed),
            "Sessions open now.",
        ),
        counter(
            "Uptime",
            s.uptime_secs(),
            "Seconds since the instance started.",
        ),
    ];
    for (name, c) in COM_NAMES.iter().zip(s.com.iter()) {
        v.push(counter(name, c.load(Relaxed), "Statements of this kind."));
    }
    for (class, rows) in s.dml_rows() {
        v.push(counter(
            class.status_name(),
            rows,
            "Rows affected by DML statements of this kind.",
        ));
    }
    v
}

/// Counters of the engine (buffer pool, commits) and of the page store it uses.
fn engine_counters(shared: &Shared) -> Vec<StatusVar> {
    let e = shared.engine.stats();
    let st = shared.engine.store().stats();
    let mut vars = merge_refusal_counters(&st);
    vars.extend([
        gauge(
            "Borealis_applied_lsn",
            shared.engine.applied_lsn(),
            "Newest commit applied to this instance's buffer pool.",
        ),
        gauge(
            "Borealis_buffer_pool_bytes",
            e.pool_bytes,
            "Bytes of page images in the buffer pool.",
        ),
        gauge(
            "Borealis_buffer_pool_capacity_bytes",
            e.pool_capacity_bytes,
            "The buffer pool's bound in bytes.",
        ),
        counter(
            "Borealis_buffer_pool_evictions",
            e.pool_evictions,
            "Page images evicted from the buffer pool.",
        ),
        counter(
            "Borealis_buffer_pool_hits",
            e.pool_hits,
            "Page reads served by the buffer pool.",
        ),
        counter(
            "Borealis_buffer_pool_misses",
            e.pool_misses,
            "Page reads sent to the page store.",
        ),
        counter(
            "Borealis_commits",
            e.commits,
            "Commits made by this instance's sessions.",
        ),
        counter(
            "Borealis_pages_written",
            e.pages_written,
            "Page deltas committed by this instance.",
        ),
        counter(
            "Borealis_store_checkpoints",
            st.checkpoints,
            "Page store checkpoints taken.",
        ),
        counter(
            "Borealis_store_commits",
            st.commits,
            "Commits the page store accepted.",
        ),
        counter(
            "Borealis_store_conflicts",
            st.conflicts,
            "Commits the page store rejected (first-committer-wins).",
        ),
        counter(
            "Borealis_store_merges",
            st.merges,
            "Leaf pages the page store merged at commit instead of a conflict (different rows of one page).",
        ),
        counter("Borealis_store_fsyncs", st.fsyncs, "Commit log fsyncs."),
        gauge(
            "Borealis_store_latest_lsn",
            st.latest_lsn,
            "The page store's latest durable LSN.",
        ),
        counter(
            "Borealis_store_log_bytes",
            st.log_bytes,
            "Bytes of commit log written.",
        ),
        gauge(
            "Borealis_store_oldest_lsn",
            st.oldest_lsn,
            "The page store's reclaim horizon (oldest readable LSN).",
        ),
        gauge(
            "Borealis_store_retained_versions",
            st.retained_versions,
            "Page versions held in memory above the checkpoint.",
        ),
        counter(
            "Innodb_buffer_pool_read_requests",
            e.pool_hits + e.pool_misses,
            "Buffer pool lookups (hits + misses).",
        ),
        counter(
            "Innodb_buffer_pool_reads",
            e.pool_misses,
            "Buffer pool lookups sent to the page store.",
        ),
    ]);
    vars
}

/// One status variable per reason the page store refuses a leaf merge (docs/STATUS.md).
const MERGE_REFUSALS: [(Refusal, &str, &str); Refusal::COUNT] = [
    (
        Refusal::NotALeaf,
        "Borealis_store_merge_refused_not_a_leaf",
        "Merges refused: page 1, an interior page, or pages of different types.",
    ),
    (
        Refusal::Malformed,
        "Borealis_store_merge_refused_malformed",
        "Merges refused: a page that does not parse as a leaf.",
    ),
    (
        Refusal::Overflow,
        "Borealis_store_merge_refused_overflow",
        "Merges refused: a changed row spills to overflow pages.",
    ),
    (
        Refusal::SameCell,
        "Borealis_store_merge_refused_same_rows",
        "Merges refused: both commits changed the same row or index entry.",
    ),
    (
        Refusal::Adjacent,
        "Borealis_store_merge_refused_adjacent",
        "Merges refused: the two commits changed neighbouring rows at a page end, or both added rows next to each other.",
    ),
    (
        Refusal::AtPageEnd,
        "Borealis_store_merge_refused_at_page_end",
        "Merges refused: a row added at a page end after the parent page changed.",
    ),
    (
        Refusal::Unordered,
        "Borealis_store_merge_refused_unordered",
        "Merges refused: the merged rows would be out of order.",
    ),
    (
        Refusal::DoesNotFit,
        "Borealis_store_merge_refused_does_not_fit",
        "Merges refused: the merged rows do not fit on the page.",
    ),
];

fn merge_refusal_counters(st: &StoreStats) -> Vec<StatusVar> {
    MERGE_REFUSALS
        .iter()
        .map(|&(reason, name, help)| counter(name, st.merge_refusals[reason.index()], help))
        .collect()
}

/// Replication lag: the last observation and the p99 since the instance started.
fn replication_counters(s: &Status) -> Vec<StatusVar> {
    vec![
        gauge(
            "Borealis_replication_lag_us",
            s.replication_lag_us_last.load(Relaxed),
            "Replication lag observed last, in microseconds (0 until a peer's change is applied).",
        ),
        gauge(
            "Borealis_replication_lag_p99_us",
            s.replication_lag.snapshot().quantile_us(0.99),
            "99th percentile of replication lag since start, in microseconds.",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replication_lag_hook_updates_last_and_histogram() {
        let s = Status::default();
        assert_eq!(replication_counters(&s)[0].value, 0);
        for us in [900, 1_100, 1_000] {
            s.record_replication_lag(us);
        }
        let vars = replication_counters(&s);
        assert_eq!(vars[0].value, 1_000, "last observation");
        assert!(
            (1_000..=1_100).contains(&vars[1].value),
            "p99 {}",
            vars[1].value
        );
    }

    #[test]
    fn session_counter_names_are_unique() {
        let vars = session_counters(&Status::default());
        let mut names: Vec<_> = vars.iter().map(|v| v.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), vars.len());
    }
}
