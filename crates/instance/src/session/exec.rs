//! Executing one translated statement: dispatch on its kind, transactions, DML, DDL, databases.

use borealis_protocol::{OkInfo, ResultSink, Value};
use borealis_sql::{DmlVerb, StatementKind, Translated};

use super::{rows, set, show, Session};
use crate::errors::{err, ExecError, ExecResult};
use crate::status::{Com, DmlClass};
use borealis_sql::Catalog as _;

/// Runs `t` and writes its result to `out` (errors are returned for the caller to write).
pub fn run(
    s: &mut Session,
    t: &Translated,
    params: &[Value],
    out: &mut ResultSink<'_>,
    more: bool,
) -> ExecResult<()> {
    match &t.kind {
        StatementKind::Query {
            sql,
            locking,
            found_rows_sql,
        } => {
            count(s, Com::Select);
            begin_implicit_if_needed(s)?;
            refresh_read_committed_snapshot(s)?;
            regional_before_execution(s)?;
            s.engine.set_locking_reads(*locking);
            let r = rows::query(s, sql, params, out, more, found_rows_sql.as_deref());
            s.engine.set_locking_reads(false);
            r
        }
        StatementKind::Dml {
            sql,
            verb,
            auto_increment,
            ..
        } => {
            let (com, class) = match verb {
                DmlVerb::Insert => (Com::Insert, DmlClass::Insert),
                DmlVerb::Replace => (Com::Replace, DmlClass::Replace),
                DmlVerb::Update => (Com::Update, DmlClass::Update),
                DmlVerb::Delete => (Com::Delete, DmlClass::Delete),
            };
            count(s, com);
            check_writable(s)?;
            begin_implicit_if_needed(s)?;
            refresh_read_committed_snapshot(s)?;
            regional_before_execution(s)?;
            let autocommit_statement = !s.in_transaction();
            with_retries(s, autocommit_statement, |s| {
                dml(s, sql, params, auto_increment.is_some())
            })
            .and_then(|info| {
                if !s.replaying {
                    s.shared.status.add_dml_rows(class, info.affected_rows);
                }
                out.ok(info, more)?;
                Ok(())
            })
        }
        StatementKind::Ddl {
            statements,
            skip_if,
        } => {
            s.shared.status.count(Com::Ddl);
            check_writable(s)?;
            if let Some(skip) = skip_if {
                if let Some(warning) = set::skip_applies(s, skip)? {
                    s.add_note(warning.0, warning.1);
                    return ok(s, out, 0, more);
                }
            }
            implicit_commit(s)?;
            with_retries(s, true, |s| ddl(s, statements))?;
            ok(s, out, 0, more)
        }
        StatementKind::CreateDatabase {
            name,
            if_not_exists,
            ..
        } => {
            s.shared.status.count(Com::Ddl);
            check_writable(s)?;
            create_database(s, name, *if_not_exists)?;
            ok(s, out, 1, more)
        }
        StatementKind::DropDatabase { name, if_exists } => {
            s.shared.status.count(Com::Ddl);
            check_writable(s)?;
            let n = drop_database(s, name, *if_exists)?;
            ok(s, out, n, more)
        }
        StatementKind::Use(db) => {
            s.shared.status.count(Com::Other);
            s.use_database(db)?;
            ok(s, out, 0, more)
        }
        StatementKind::Begin {
            read_only,
            consistent_snapshot,
        } => {
            s.shared.status.count(Com::Begin);
            if *consistent_snapshot {
                // The snapshot is taken by BEGIN itself: catch up first.
                implicit_commit(s)?;
                regional_before_execution(s)?;
            }
            begin(s, *read_only, *consistent_snapshot)?;
            ok(s, out, 0, more)
        }
        StatementKind::Commit => {
            s.shared.status.count(Com::Commit);
            commit_or_replay(s)?;
            ok(s, out, 0, more)
        }
        StatementKind::Rollback => {
            s.shared.status.count(Com::Rollback);
            rollback(s)?;
            ok(s, out, 0, more)
        }
        StatementKind::Savepoint(name) => {
            if s.in_transaction() {
                exec_batch(s, &format!("SAVEPOINT {}", quote_ident(name)))?;
            }
            ok(s, out, 0, more)
        }
        StatementKind::RollbackToSavepoint(name) => {
            if !s.in_transaction() {
                return Err(err(
                    1305,
                    "42000",
                    format!("SAVEPOINT {name} does not exist"),
                ));
            }
            exec_batch(s, &format!("ROLLBACK TO {}", quote_ident(name)))
                .map_err(|_| err(1305, "42000", format!("SAVEPOINT {name} does not exist")))?;
            ok(s, out, 0, more)
        }
        StatementKind::ReleaseSavepoint(name) => {
            if !s.in_transaction() {
                return Err(err(
                    1305,
                    "42000",
                    format!("SAVEPOINT {name} does not exist"),
                ));
            }
            exec_batch(s, &format!("RELEASE {}", quote_ident(name)))
                .map_err(|_| err(1305, "42000", format!("SAVEPOINT {name} does not exist")))?;
            ok(s, out, 0, more)
        }
        StatementKind::Set(items) => {
            s.shared.status.count(Com::Set);
            set::set_items(s, items, params)?;
            ok(s, out, 0, more)
        }
        StatementKind::SetNames { charset, collation } => {
            s.shared.status.count(Com::Set);
            set::set_names(s, charset, collation.as_deref())?;
            ok(s, out, 0, more)
        }
        StatementKind::SetTransaction {
            scope,
            isolation,
            read_only,
        } => {
            s.shared.status.count(Com::Set);
            set::set_transaction(s, scope.as_ref(), isolation.as_deref(), *read_only)?;
            ok(s, out, 0, more)
        }
        StatementKind::Show(show) => {
            s.shared.status.count(Com::Show);
            show::show(s, show, out, more)
        }
        StatementKind::Kill { query_only, id } => {
            s.shared.status.count(Com::Other);
            kill(s, *query_only, *id)?;
            ok(s, out, 0, more)
        }
        StatementKind::Failed(e) => {
            let (code, state) = e.mysql_code();
            Err(crate::errors::err(code, state, e.to_string()))
        }
        StatementKind::LockTables | StatementKind::UnlockTables | StatementKind::Noop => {
            s.shared.status.count(Com::Other);
            ok(s, out, 0, more)
        }
    }
}

/// Counts a statement, unless it is a replay of one already counted.
fn count(s: &Session, com: Com) {
    if !s.replaying {
        s.shared.status.count(com);
    }
}

pub fn ok(s: &mut Session, out: &mut ResultSink<'_>, affected: u64, more: bool) -> ExecResult<()> {
    let info = OkInfo {
        affected_rows: affected,
        last_insert_id: 0,
        warnings: s.warning_count(),
        info: String::new(),
    };
    out.ok(info, more)?;
    Ok(())
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn exec_batch(s: &Session, sql: &str) -> ExecResult<()> {
    s.engine
        .conn()
        .execute_batch(sql)
        .map_err(|e| s.sqlite_error(e))
}

/// Writes are refused on a read-only instance (1290) and in a READ ONLY transaction (1792).
fn check_writable(s: &Session) -> ExecResult<()> {
    if s.shared.is_read_only() {
        return Err(err(
            1290,
            "HY000",
            "The MySQL server is running with the --read-only option so it cannot execute this statement",
        ));
    }
    if s.txn_read_only && s.in_transaction() {
        return Err(err(
            1792,
            "25006",
            "Cannot execute statement in a READ ONLY transaction.",
        ));
    }
    Ok(())
}

/// With autocommit off, the first statement opens a transaction that lasts until COMMIT.
fn begin_implicit_if_needed(s: &mut Session) -> ExecResult<()> {
    if !s.autocommit && !s.in_transaction() {
        exec_batch(s, "BEGIN")?;
        s.txn_read_only = false;
    }
    Ok(())
}

/// How long REGIONAL_RAW waits for pushes of commits the store already acknowledged before it
/// fetches them from the store itself.
const REGIONAL_PUSH_WAIT: std::time::Duration = std::time::Duration::from_millis(5);

/// `aurora_mm_session_consistency_level = 'REGIONAL_RAW'`: a statement that is about to take
/// a snapshot (autocommit, or the first of a transaction) first applies every commit the page
/// store has acknowledged, from any instance, so it reads them all.
/// Returns whether it caught up.
pub fn regional_read_after_write(s: &Session) -> ExecResult<bool> {
    if s.engine.snapshot_lsn().is_some() {
        return Ok(false);
    }
    if !s.settings().regional_raw {
        return Ok(false);
    }
    s.shared
        .engine
        .catch_up_with_store(REGIONAL_PUSH_WAIT)
        .map(|_| true)
        .map_err(|e| {
            err(
                1105,
                "HY000",
                format!("REGIONAL_RAW could not catch up with the page store: {e}"),
            )
        })
}

/// REGIONAL_RAW before a statement executes, unless its translation just caught up.
fn regional_before_execution(s: &Session) -> ExecResult<()> {
    if !s.regional_fresh.replace(false) {
        regional_read_after_write(s)?;
    }
    Ok(())
}

/// READ COMMITTED: every statement reads at a new snapshot. SQLite keeps one snapshot per
/// transaction, so a transaction that has only read so far is restarted before the statement
/// (releasing its snapshot; the next read takes the newest). Once it has written, its page
/// deltas are relative to its snapshot, so it keeps that snapshot until it ends.
fn refresh_read_committed_snapshot(s: &mut Session) -> ExecResult<()> {
    if !s.in_transaction() || !s.read_committed() {
        return Ok(());
    }
    let state = s
        .engine
        .conn()
        .transaction_state(Some("main"))
        .map_err(|e| s.sqlite_error(e))?;
    if state != rusqlite::TransactionState::Read {
        return Ok(());
    }
    exec_batch(s, "COMMIT")?;
    exec_batch(s, "BEGIN")
}

/// Statements that cause an implicit commit (DDL, BEGIN, …) commit the open transaction first.
pub fn implicit_commit(s: &mut Session) -> ExecResult<()> {
    if s.in_transaction() {
        commit(s)?;
    }
    Ok(())
}

fn begin(s: &mut Session, read_only: bool, consistent_snapshot: bool) -> ExecResult<()> {
    implicit_commit(s)?;
    exec_batch(s, "BEGIN")?;
    s.txn_read_only = read_only;
    if consistent_snapshot {
        // Reading the schema table takes the snapshot now rather than at the first read.
        s.engine
            .conn()
            .query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
            .map_err(|e| s.sqlite_error(e))?;
    }
    Ok(())
}

/// COMMIT; a commit that lost a conflict is replayed when the transaction was recorded
/// (replay.rs).
fn commit_or_replay(s: &mut Session) -> ExecResult<()> {
    let log = s.replay.take();
    let lost = match commit(s) {
        Err(ExecError::Conflict(c)) => c,
        other => return other,
    };
    match log {
        Some(log) if max_retries(s) > 0 => super::replay::replay(s, &log, lost),
        _ => Err(ExecError::Conflict(lost)),
    }
}

/// BEGIN of a transaction that replays a recorded one.
pub(super) fn begin_for_replay(s: &mut Session) -> ExecResult<()> {
    exec_batch(s, "BEGIN")
}

pub fn commit(s: &mut Session) -> ExecResult<()> {
    s.txn_read_only = false;
    if !s.in_transaction() {
        return Ok(());
    }
    exec_batch(s, "COMMIT")
}

pub fn rollback(s: &mut Session) -> ExecResult<()> {
    s.txn_read_only = false;
    if !s.in_transaction() {
        return Ok(());
    }
    exec_batch(s, "ROLLBACK")
}

/// Runs a statement that is a whole transaction by itself (autocommit DML, DDL), retrying it
/// when it loses a conflict: nothing has reached the client yet, so a retry is invisible
/// except for taking effect later. Bounded by `borealis_conflict_retries`, with a short
/// randomised backoff so two retrying sessions do not collide in lockstep.
fn with_retries<T>(
    s: &mut Session,
    retry: bool,
    mut f: impl FnMut(&mut Session) -> ExecResult<T>,
) -> ExecResult<T> {
    let shared = std::sync::Arc::clone(&s.shared);
    // Held while retrying after a page-1 conflict (see GROWTH_RETRIES).
    let mut serial: Option<parking_lot::MutexGuard<'_, ()>> = None;
    let mut attempt = 0;
    loop {
        match f(s) {
            // The setting is read only after a conflict: nothing is added to the common path.
            Err(crate::errors::ExecError::Conflict(c)) if retry && attempt < retry_limit(s, &c) => {
                attempt += 1;
                shared
                    .status
                    .retries
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::debug!(attempt, conflict = ?c, "retrying a single-statement transaction");
                s.fctx.retry_statement();
                if serial.is_none() && c.as_ref().is_some_and(|c| c.page_no == 1) {
                    serial = Some(shared.growth_retry.lock());
                }
                pause_before_retry(s, attempt, c.as_ref());
            }
            other => {
                s.fctx.end_retries();
                return other;
            }
        }
    }
}

/// Retries of a single-statement transaction that lost on page 1 — the database size or
/// freelist, i.e. concurrent statements growing the file (bulk inserts) — which every growing
/// statement touches. Such a retry runs under the instance's growth lock, so retrying growers
/// queue instead of colliding again, and gets this many attempts: a bulk load must not fail
/// because four loaders grow the file at once.
const GROWTH_RETRIES: u32 = 200;

fn retry_limit(s: &Session, conflict: &Option<borealis_pagestore::Conflict>) -> u32 {
    let configured = max_retries(s);
    let growth = conflict.as_ref().is_some_and(|c| c.page_no == 1);
    if growth && configured > 0 {
        configured.max(GROWTH_RETRIES)
    } else {
        configured
    }
}

/// Before retrying after losing to `lost`: a retry at a snapshot that does not yet include the
/// winner loses again, so wait until the winning commit is applied here, then add a little
/// jitter so sessions that lost to the same winner do not collide in lockstep.
pub(super) fn pause_before_retry(
    s: &Session,
    attempt: u32,
    lost: Option<&borealis_pagestore::Conflict>,
) {
    if let Some(c) = lost {
        wait_applied(s, c.winner_lsn);
    }
    let micros = 20 * u64::from(attempt.min(50)) + u64::from(rand_jitter()) % 100;
    std::thread::sleep(std::time::Duration::from_micros(micros));
}

pub(super) fn max_retries(s: &Session) -> u32 {
    s.settings().conflict_retries
}

/// Waits (at most 10 ms) until this instance has applied `lsn`: woken by the apply itself,
/// not by polling (a 50 µs sleep loop cost two context switches a turn).
fn wait_applied(s: &Session, lsn: borealis_pagestore::Lsn) {
    s.shared
        .engine
        .wait_applied(lsn, std::time::Duration::from_millis(10));
}

fn rand_jitter() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::time::Instant::now().elapsed().as_nanos() as u64);
    h.finish() as u32
}

fn dml(s: &mut Session, sql: &str, params: &[Value], generates_ids: bool) -> ExecResult<OkInfo> {
    s.fctx.begin_statement(s.shared.epoch());
    let affected = {
        let conn = s.engine.conn();
        let mut stmt = conn.prepare_cached(sql).map_err(|e| s.sqlite_error(e))?;
        rows::bind(&mut stmt, params)?;
        stmt.raw_execute().map_err(|e| s.sqlite_error(e))? as u64
    };
    let mut last_insert_id = 0;
    if generates_ids {
        if let Some(id) = s.fctx.generated_id() {
            s.fctx.set_last_insert_id(id);
            last_insert_id = id;
        }
    }
    s.fctx.set_row_count(affected as i64);
    if !s.replaying {
        s.shared
            .status
            .rows_affected
            .fetch_add(affected, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(OkInfo {
        affected_rows: affected,
        last_insert_id,
        warnings: s.warning_count(),
        info: String::new(),
    })
}

/// DDL and its catalog maintenance run as one transaction (atomic DDL), after an implicit
/// commit of whatever was open, as in MySQL.
pub fn ddl(s: &mut Session, statements: &[String]) -> ExecResult<()> {
    implicit_commit(s)?;
    exec_batch(s, "BEGIN")?;
    for stmt in statements {
        if let Err(e) = s.engine.conn().execute_batch(stmt) {
            let mapped = s.sqlite_error(e);
            if s.in_transaction() {
                let _ = s.engine.conn().execute_batch("ROLLBACK");
            }
            return Err(mapped);
        }
    }
    let r = exec_batch(s, "COMMIT");
    s.shared.bump_epoch();
    r
}

fn create_database(s: &mut Session, name: &str, if_not_exists: bool) -> ExecResult<()> {
    if s.catalog().database_exists(name) {
        if if_not_exists {
            s.add_note(
                1007,
                format!("Can't create database '{name}'; database exists"),
            );
            return Ok(());
        }
        return Err(err(
            1007,
            "HY000",
            format!("Can't create database '{name}'; database exists"),
        ));
    }
    let statements =
        borealis_sql::create_database_statements(name, "utf8mb4", "utf8mb4_0900_ai_ci");
    ddl(s, &statements)
}

fn drop_database(s: &mut Session, name: &str, if_exists: bool) -> ExecResult<u64> {
    if !s.catalog().database_exists(name) {
        if if_exists {
            s.add_note(
                1008,
                format!("Can't drop database '{name}'; database doesn't exist"),
            );
            return Ok(0);
        }
        return Err(err(
            1008,
            "HY000",
            format!("Can't drop database '{name}'; database doesn't exist"),
        ));
    }
    if name.eq_ignore_ascii_case("information_schema") || name.eq_ignore_ascii_case("mysql") {
        return Err(err(
            1044,
            "42000",
            format!(
                "Access denied for user '{}'@'{}' to database '{name}'",
                s.user, s.host
            ),
        ));
    }
    let tables = s.catalog().tables_of(name)?;
    let statements = borealis_sql::drop_database_statements(name, &tables);
    ddl(s, &statements)?;
    if s.db
        .as_deref()
        .is_some_and(|d| d.eq_ignore_ascii_case(name))
    {
        s.db = None;
        s.fctx.set_database(None);
        s.process.set_db(None);
    }
    Ok(tables.len() as u64)
}

/// KILL [QUERY] id.
pub fn kill(s: &mut Session, query_only: bool, id: u64) -> ExecResult<()> {
    let proc = u32::try_from(id)
        .ok()
        .and_then(|id| s.shared.processes.get(id))
        .ok_or_else(|| err(1094, "HY000", format!("Unknown thread id: {id}")))?;
    if query_only {
        proc.kill_query();
    } else {
        proc.kill_connection();
    }
    Ok(())
}
