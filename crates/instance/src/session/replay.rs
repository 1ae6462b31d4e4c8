//! Replaying a multi-statement transaction whose commit lost a conflict.
//!
//! A transaction's snapshot is taken at its first read, so under first-committer-wins it loses
//! whenever another commit changed a page it writes while it ran. InnoDB would instead have
//! made its UPDATE wait for the row lock and then update the newest row version (a "current
//! read"), while its plain SELECTs kept reading the snapshot (REPEATABLE READ).
//!
//! The replay gives a lost commit those semantics. The session records the statements of the
//! open transaction (translation, parameters) with a digest of the result the client was sent
//! (`ResultSink::record_digest`: rows, affected rows, insert ids, warning counts). When COMMIT
//! loses, the statements are run again in a new transaction, at a snapshot that includes the
//! winner, and committed if every result is the same as before; if any differs, the client
//! gets the 1213 it would have got anyway. Recorded and compared are:
//!
//! - every INSERT, UPDATE, DELETE and REPLACE (their writes are the current reads);
//! - every locking read (`FOR UPDATE`, `LOCK IN SHARE MODE`): the rows it returned must still
//!   be the newest, as a lock would have kept them;
//! - every query after the transaction's first write (it may read the transaction's own
//!   writes, which now sit on newer rows).
//!
//! Plain SELECTs before the first write are consistent reads at the snapshot, as in InnoDB:
//! they are neither run again nor compared, and like InnoDB they do not protect a value read
//! and then written back by the client (use `FOR UPDATE` for that). Values the client never
//! saw (NOW(), RAND() written into a row) may differ, as if the transaction had run later.
//! An INSERT takes the same AUTO_INCREMENT ids again (the client was told them).
//!
//! Only transactions whose recorded statements all succeeded are replayed; any statement other
//! than a query or DML (SET, SAVEPOINT, DDL, SHOW, …) or a failed one stops the recording for
//! the rest of the transaction. The record is bounded (`MAX_STATEMENTS`, `MAX_PARAM_BYTES`); a
//! longer transaction is not replayed. `borealis_conflict_retries = 0` turns replays off.

use std::sync::Arc;

use borealis_protocol::{ResultSink, Value};
use borealis_sql::{StatementKind, Translated};

use super::{exec, Session};
use crate::errors::{ExecError, ExecResult};

/// Statements recorded per transaction at most: a longer one is not replayed.
const MAX_STATEMENTS: usize = 256;
/// Bytes of recorded parameter values per transaction at most.
const MAX_PARAM_BYTES: usize = 1 << 20;

/// One statement of the open transaction, as the client ran it.
pub(super) struct Recorded {
    statements: Arc<Vec<Translated>>,
    index: usize,
    params: Vec<Value>,
    /// Rows were sent in the binary protocol (COM_STMT_EXECUTE).
    binary: bool,
    digest: u128,
    /// The auto-increment ids the statement generated: the replay takes the same ones (the
    /// client was told them).
    ids: Option<borealis_functions::SavedIds>,
}

/// What the session records about its open transaction.
#[derive(Default)]
pub(super) enum ReplayLog {
    /// No transaction is open.
    #[default]
    Idle,
    /// The statements recorded so far.
    Recording(Record),
    /// The open transaction cannot be replayed.
    Off,
}

/// The recorded part of an open transaction.
#[derive(Default)]
pub(super) struct Record {
    entries: Vec<Recorded>,
    /// Bytes of the recorded parameters.
    param_bytes: usize,
    /// A DML statement has run: later queries may read its writes and are recorded.
    wrote: bool,
}

/// A statement about to run, as the log sees it.
pub(super) struct Statement<'a> {
    pub statements: &'a Arc<Vec<Translated>>,
    pub index: usize,
    pub params: &'a [Value],
    pub binary: bool,
    /// The ids it generated, for a statement that can generate them.
    pub ids: Option<borealis_functions::SavedIds>,
}

impl ReplayLog {
    /// Whether the statement about to run should have its result digested: it may become part
    /// of a recorded transaction.
    pub(super) fn wants_digest(&self, kind: &StatementKind, autocommit: bool) -> bool {
        let wrote = match self {
            ReplayLog::Recording(r) => r.wrote,
            // The first statement of an implicit transaction (autocommit off).
            ReplayLog::Idle if !autocommit => false,
            ReplayLog::Idle | ReplayLog::Off => return false,
        };
        match kind {
            StatementKind::Dml { .. } => true,
            StatementKind::Query { locking, .. } => *locking || wrote,
            _ => false,
        }
    }

    /// Whether `stmt` would start a record (it begins a transaction, or is the first
    /// statement of an implicit one).
    pub(super) fn may_start(&self, stmt: &Statement<'_>) -> bool {
        matches!(self, ReplayLog::Idle)
            || matches!(
                stmt.statements[stmt.index].kind,
                StatementKind::Begin { .. }
            )
    }

    /// Updates the log after a statement ran. `in_transaction`: a transaction is open after
    /// it; `digest`: its result's digest when one was recorded and it succeeded; `enabled`:
    /// replays are on (read only when [`may_start`](Self::may_start)).
    pub(super) fn after(
        &mut self,
        stmt: Statement<'_>,
        in_transaction: bool,
        digest: Option<u128>,
        enabled: bool,
    ) {
        if !in_transaction {
            *self = ReplayLog::Idle;
            return;
        }
        let kind = &stmt.statements[stmt.index].kind;
        if matches!(kind, StatementKind::Begin { .. }) {
            *self = ReplayLog::start(enabled);
            return;
        }
        // The first statement of an implicit transaction (autocommit off) starts a record.
        if matches!(self, ReplayLog::Idle) {
            *self = ReplayLog::start(enabled);
        }
        let ReplayLog::Recording(r) = self else {
            return;
        };
        let (dml, plain_read) = match kind {
            StatementKind::Dml { .. } => (true, false),
            StatementKind::Query { locking, .. } => (false, !*locking),
            _ => (false, false),
        };
        if plain_read && !r.wrote {
            // A consistent read at the snapshot: not part of the replay.
            return;
        }
        let Some(digest) = digest else {
            *self = ReplayLog::Off;
            return;
        };
        let param_bytes: usize = stmt.params.iter().map(value_bytes).sum();
        if r.entries.len() >= MAX_STATEMENTS || r.param_bytes + param_bytes > MAX_PARAM_BYTES {
            *self = ReplayLog::Off;
            return;
        }
        r.param_bytes += param_bytes;
        r.wrote |= dml;
        r.entries.push(Recorded {
            statements: Arc::clone(stmt.statements),
            index: stmt.index,
            params: stmt.params.to_vec(),
            binary: stmt.binary,
            digest,
            ids: stmt.ids,
        });
    }

    /// The record of the transaction COMMIT is about to end, if it can be replayed; the log
    /// is idle afterwards.
    pub(super) fn take(&mut self) -> Option<Vec<Recorded>> {
        match std::mem::take(self) {
            ReplayLog::Recording(r) if !r.entries.is_empty() => Some(r.entries),
            _ => None,
        }
    }

    fn start(enabled: bool) -> ReplayLog {
        if enabled {
            ReplayLog::Recording(Record::default())
        } else {
            ReplayLog::Off
        }
    }
}

/// Approximate size of a parameter value (for the log's bound).
fn value_bytes(v: &Value) -> usize {
    match v {
        Value::Bytes(b) => b.len() + 8,
        _ => 16,
    }
}

/// After COMMIT lost `lost`: replays `log` at newer snapshots and commits, up to
/// `borealis_conflict_retries` times. Returns the conflict when a result differs, a replayed
/// statement fails, or every attempt loses again.
pub(super) fn replay(
    s: &mut Session,
    log: &[Recorded],
    mut lost: Option<borealis_pagestore::Conflict>,
) -> ExecResult<()> {
    let limit = exec::max_retries(s);
    // Bounded by borealis_conflict_retries (at most 1000).
    for attempt in 1..=limit {
        exec::pause_before_retry(s, attempt, lost.as_ref());
        let same = run_again(s, log);
        let outcome = match same {
            Ok(true) => exec::commit(s),
            Ok(false) => {
                s.shared
                    .status
                    .replay_mismatches
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                abandon(s);
                return Err(ExecError::Conflict(lost));
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => {
                s.shared
                    .status
                    .replays
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Ok(());
            }
            Err(ExecError::Conflict(c)) => lost = c,
            Err(e) => {
                tracing::debug!(error = ?e, "a replayed statement failed");
                abandon(s);
                return Err(ExecError::Conflict(lost));
            }
        }
    }
    Err(ExecError::Conflict(lost))
}

/// Runs the recorded statements in a new transaction; true when every result matches.
fn run_again(s: &mut Session, log: &[Recorded]) -> ExecResult<bool> {
    exec::begin_for_replay(s)?;
    s.replaying = true;
    let same = run_each(s, log);
    s.replaying = false;
    s.warnings.clear();
    same
}

fn run_each(s: &mut Session, log: &[Recorded]) -> ExecResult<bool> {
    let mut w = borealis_protocol::discarding_writer();
    let mut columns = Vec::new();
    // One iteration per recorded statement (bounded by MAX_STATEMENTS).
    for r in log {
        let mut sink = ResultSink::discarding(&mut w, &mut columns, r.binary);
        sink.record_digest();
        s.warnings.clear();
        if let Some(ids) = &r.ids {
            s.fctx.replay_statement(ids);
        }
        exec::run(s, &r.statements[r.index], &r.params, &mut sink, false)?;
        if sink.take_digest() != Some(r.digest) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn abandon(s: &mut Session) {
    s.warnings.clear();
    if exec::rollback(s).is_err() {
        tracing::warn!("rolling back an abandoned replay failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use borealis_sql::DmlVerb;

    fn translated(kind: StatementKind) -> Arc<Vec<Translated>> {
        Arc::new(vec![Translated {
            mysql: String::new(),
            kind,
            param_count: 0,
        }])
    }

    fn query(locking: bool) -> Arc<Vec<Translated>> {
        translated(StatementKind::Query {
            sql: "SELECT 1".into(),
            locking,
            found_rows_sql: None,
        })
    }

    fn dml() -> Arc<Vec<Translated>> {
        translated(StatementKind::Dml {
            sql: "UPDATE t SET v = 1".into(),
            verb: DmlVerb::Update,
            table: ("d".into(), "t".into()),
            auto_increment: None,
        })
    }

    fn begin() -> Arc<Vec<Translated>> {
        translated(StatementKind::Begin {
            read_only: false,
            consistent_snapshot: false,
        })
    }

    fn statement<'a>(stmts: &'a Arc<Vec<Translated>>, params: &'a [Value]) -> Statement<'a> {
        Statement {
            statements: stmts,
            index: 0,
            params,
            binary: false,
            ids: None,
        }
    }

    /// Feeds `stmt` to the log as the session does; `ok`: it succeeded.
    fn feed(log: &mut ReplayLog, stmts: &Arc<Vec<Translated>>, params: &[Value], ok: bool) {
        let wants = log.wants_digest(&stmts[0].kind, true);
        let digest = (wants && ok).then_some(7);
        let stmt = statement(stmts, params);
        let enabled = log.may_start(&stmt);
        log.after(stmt, true, digest, enabled);
    }

    fn recorded(log: &ReplayLog) -> Option<usize> {
        match log {
            ReplayLog::Recording(r) => Some(r.entries.len()),
            _ => None,
        }
    }

    #[test]
    fn records_writes_locking_reads_and_reads_after_the_first_write() {
        let mut log = ReplayLog::Idle;
        feed(&mut log, &begin(), &[], true);
        feed(&mut log, &query(false), &[], true);
        assert_eq!(
            recorded(&log),
            Some(0),
            "a plain read before any write is not recorded"
        );
        feed(&mut log, &query(true), &[], true);
        assert_eq!(recorded(&log), Some(1), "a locking read is");
        feed(&mut log, &dml(), &[Value::Int(1)], true);
        feed(&mut log, &query(false), &[], true);
        assert_eq!(
            recorded(&log),
            Some(3),
            "so is a read after the first write"
        );
        assert_eq!(log.take().map(|e| e.len()), Some(3));
        assert!(matches!(log, ReplayLog::Idle));
    }

    #[test]
    fn a_failed_or_unrecordable_statement_stops_the_record() {
        let mut log = ReplayLog::Idle;
        feed(&mut log, &begin(), &[], true);
        feed(&mut log, &dml(), &[], false);
        assert!(matches!(log, ReplayLog::Off));
        assert!(log.take().is_none());

        feed(&mut log, &begin(), &[], true);
        feed(&mut log, &dml(), &[], true);
        feed(&mut log, &translated(StatementKind::Noop), &[], true);
        assert!(
            matches!(log, ReplayLog::Off),
            "a statement that is not a query or DML"
        );
        // A failed plain read before the first write changes nothing: it is not replayed.
        feed(&mut log, &begin(), &[], true);
        feed(&mut log, &query(false), &[], false);
        assert_eq!(recorded(&log), Some(0));
    }

    #[test]
    fn the_record_is_bounded() {
        let mut log = ReplayLog::Idle;
        feed(&mut log, &begin(), &[], true);
        for _ in 0..MAX_STATEMENTS {
            feed(&mut log, &dml(), &[], true);
        }
        assert_eq!(recorded(&log), Some(MAX_STATEMENTS));
        feed(&mut log, &dml(), &[], true);
        assert!(matches!(log, ReplayLog::Off));

        feed(&mut log, &begin(), &[], true);
        let big = vec![Value::Bytes(vec![0; MAX_PARAM_BYTES])];
        feed(&mut log, &dml(), &big, true);
        assert!(
            matches!(log, ReplayLog::Off),
            "parameters over the byte bound"
        );
    }

    #[test]
    fn disabled_or_ended_transactions_record_nothing() {
        let mut log = ReplayLog::Idle;
        log.after(statement(&begin(), &[]), true, None, false);
        assert!(matches!(log, ReplayLog::Off));
        assert!(!log.wants_digest(&dml()[0].kind, true));
        log.after(statement(&dml(), &[]), false, Some(1), true);
        assert!(
            matches!(log, ReplayLog::Idle),
            "no transaction open any more"
        );
        // autocommit off: the first DML opens a transaction, and is recorded.
        assert!(log.wants_digest(&dml()[0].kind, false));
        assert!(!log.wants_digest(&dml()[0].kind, true));
    }
}
