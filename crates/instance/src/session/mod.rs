//! One client session: its SQLite connection over the engine, its variables, its transaction
//! and its prepared statements. The protocol layer calls it from the connection's thread.
//!
//! Control flow: `query` / `execute` translate (cached) and hand each statement to
//! `exec::run`, which dispatches on the statement kind; results go straight to the
//! protocol's `ResultSink`.

mod exec;
mod replay;
mod rows;
mod set;
mod show;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use borealis_engine::EngineSession;
use borealis_functions::SessionContext;
use borealis_protocol::{
    ColumnDef, ConnInfo, MysqlError, ResultSink, Session as ProtocolSession, StatusFlags, Value,
};
use borealis_sql::{Ctx, DmlVerb, StatementKind, Translated};
use parking_lot::Mutex;
use rusqlite::config::DbConfig;

use crate::catalog::SessionCatalog;
use crate::errors::{err, to_mysql, ExecError, ExecResult};
use crate::processlist::Process;
use crate::server::Shared;
use crate::status::StmtClass;
use crate::variables::VarValue;
use borealis_sql::Catalog as _;

/// SQLite statements each session keeps prepared (translated SQL text → statement), least
/// recently used evicted: a few KiB each, so at most about a MiB per session.
const PREPARED_STATEMENT_CACHE: usize = 256;

/// A warning or note for SHOW WARNINGS.
#[derive(Clone, Debug)]
pub struct Warning {
    pub level: &'static str,
    pub code: u16,
    pub message: String,
    /// A lost commit's id in the conflict log: SHOW WARNINGS describes it from there, with
    /// its page resolved to a table or index then (not on the conflict path).
    pub conflict: Option<u64>,
}

/// A prepared statement: translated once, executed many times.
struct Prepared {
    statements: Arc<Vec<Translated>>,
    param_count: usize,
}

/// Session values of system variables (overrides of the globals).
#[derive(Default)]
pub struct SessionVars {
    values: Mutex<HashMap<&'static str, VarValue>>,
    /// Bumped by every change, like [`crate::variables::GlobalVariables::generation`].
    generation: std::sync::atomic::AtomicU64,
}

impl SessionVars {
    pub fn get(&self, name: &'static str) -> Option<VarValue> {
        self.values.lock().get(name).cloned()
    }
    pub fn set(&self, name: &'static str, v: VarValue) {
        self.values.lock().insert(name, v);
        self.bump();
    }
    pub fn clear(&self) {
        self.values.lock().clear();
        self.bump();
    }
    fn bump(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }
    fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// The settings every statement consults, read once per change of any variable instead of
/// per statement (each read is a registry search, a map lookup and a copy of the value).
#[derive(Clone, Copy, Debug, PartialEq)]
struct StatementSettings {
    /// `aurora_mm_session_consistency_level = REGIONAL_RAW`.
    regional_raw: bool,
    /// READ COMMITTED or READ UNCOMMITTED: a new snapshot per statement.
    read_committed: bool,
    long_query_time: f64,
    /// `borealis_conflict_retries`, clamped to 0..=1000.
    conflict_retries: u32,
}

/// One client session.
pub struct Session {
    shared: Arc<Shared>,
    engine: EngineSession,
    fctx: Arc<SessionContext>,
    vars: Arc<SessionVars>,
    process: Arc<Process>,
    id: u32,
    user: String,
    host: String,
    db: Option<String>,
    autocommit: bool,
    /// The open transaction was started with START TRANSACTION READ ONLY.
    txn_read_only: bool,
    /// REGIONAL_RAW caught up while translating the current statement (its execution need
    /// not ask the page store again).
    regional_fresh: std::cell::Cell<bool>,
    /// [`StatementSettings`] with the (session, global) variable generations they were read
    /// at.
    settings: std::cell::Cell<Option<((u64, u64), StatementSettings)>>,
    prepared: HashMap<u32, Prepared>,
    warnings: Vec<Warning>,
    /// Id in the conflict log of the commit this session lost last, until the statement
    /// that lost it reports it as warnings.
    lost_conflict: std::cell::Cell<Option<u64>>,
    shapes: rows::ShapeCache,
    /// CLIENT_MULTI_STATEMENTS: several statements per COM_QUERY.
    multi_statements: bool,
    /// The statements of the open transaction, for a replay after a lost commit.
    replay: replay::ReplayLog,
    /// A recorded transaction is being replayed (its statements are not counted again).
    replaying: bool,
    closed: bool,
}

impl Session {
    /// Opens a session for an authenticated connection.
    pub fn open(shared: Arc<Shared>, info: &ConnInfo) -> Result<Session, MysqlError> {
        let engine = shared
            .engine
            .open_session()
            .map_err(|e| MysqlError::new(1105, "HY000", format!("cannot open a session: {e}")))?;
        // Identifiers are always double-quoted by the translator: an unknown column must be an
        // error (1054), not SQLite's legacy fallback to a string literal.
        for cfg in [
            DbConfig::SQLITE_DBCONFIG_DQS_DML,
            DbConfig::SQLITE_DBCONFIG_DQS_DDL,
        ] {
            engine.conn().set_db_config(cfg, false).map_err(|e| {
                MysqlError::new(1105, "HY000", format!("cannot configure a session: {e}"))
            })?;
        }
        // rusqlite keeps 16 prepared statements by default; sysbench's oltp_read_write alone
        // uses 36 (9 per table), so the LRU evicted each before its next use and SQLite
        // re-prepared every statement (8.5 % of the server's CPU).
        engine
            .conn()
            .set_prepared_statement_cache_capacity(PREPARED_STATEMENT_CACHE);
        let fctx = SessionContext::with_counters(info.connection_id, shared.auto_increment.clone());
        borealis_functions::register(engine.conn(), fctx.clone()).map_err(|e| {
            MysqlError::new(1105, "HY000", format!("cannot register functions: {e}"))
        })?;
        crate::conflicts_table::register(engine.conn(), &shared).map_err(|e| {
            MysqlError::new(
                1105,
                "HY000",
                format!("cannot register BOREALIS_CONFLICTS: {e}"),
            )
        })?;
        let host = info.peer.ip().to_string();
        fctx.set_user(format!("{}@{}", info.user, host));
        fctx.set_version(shared.server_version.clone());
        let vars = Arc::new(SessionVars::default());
        install_sysvar_lookup(&shared, &vars, &fctx);
        let process = Arc::new(Process::new(
            info.connection_id,
            info.user.clone(),
            format!("{}:{}", host, info.peer.port()),
            engine.conn().get_interrupt_handle(),
        ));
        let mut session = Session {
            engine,
            fctx,
            vars,
            process,
            id: info.connection_id,
            user: info.user.clone(),
            host,
            db: None,
            autocommit: true,
            txn_read_only: false,
            regional_fresh: std::cell::Cell::new(false),
            settings: std::cell::Cell::new(None),
            prepared: HashMap::new(),
            warnings: Vec::new(),
            lost_conflict: std::cell::Cell::new(None),
            shapes: rows::ShapeCache::default(),
            multi_statements: info.multi_statements,
            replay: replay::ReplayLog::Idle,
            replaying: false,
            closed: false,
            shared,
        };
        session.apply_auto_increment();
        if let Some(db) = info.database.as_deref().filter(|d| !d.is_empty()) {
            session.use_database(db).map_err(|e| to_mysql(&e))?;
        }
        session.shared.processes.register(session.process.clone());
        session
            .shared
            .status
            .connections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        session
            .shared
            .status
            .threads_connected
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(session)
    }

    /// The value of a system variable as this session sees it.
    pub fn var(&self, name: &str) -> Option<VarValue> {
        let def = crate::variables::find(name)?;
        self.vars
            .get(def.name)
            .or_else(|| self.shared.globals.get(def.name))
    }

    fn var_int(&self, name: &str) -> i64 {
        match self.var(name) {
            Some(VarValue::Int(i)) => i,
            Some(VarValue::Float(f)) => f as i64,
            _ => 0,
        }
    }

    fn apply_auto_increment(&self) {
        let inc = self.var_int("auto_increment_increment").max(1) as u64;
        let off = self.var_int("auto_increment_offset").max(1) as u64;
        self.fctx.set_auto_increment(inc, off);
    }

    /// The settings each statement consults, read again only after a variable changed.
    fn settings(&self) -> StatementSettings {
        let at = (self.vars.generation(), self.shared.globals.generation());
        if let Some((read_at, settings)) = self.settings.get() {
            if read_at == at {
                return settings;
            }
        }
        let settings = StatementSettings {
            regional_raw: matches!(
                self.var("aurora_mm_session_consistency_level"),
                Some(VarValue::Str(v)) if v.eq_ignore_ascii_case("REGIONAL_RAW")
            ),
            read_committed: matches!(
                self.var("transaction_isolation"),
                Some(VarValue::Str(level)) if level == "READ-COMMITTED" || level == "READ-UNCOMMITTED"
            ),
            long_query_time: match self.var("long_query_time") {
                Some(VarValue::Float(f)) => f,
                Some(VarValue::Int(i)) => i as f64,
                _ => 10.0,
            },
            conflict_retries: self.var_int("borealis_conflict_retries").clamp(0, 1000) as u32,
        };
        self.settings.set(Some((at, settings)));
        settings
    }

    /// The session reads at a new snapshot per statement (READ COMMITTED / READ UNCOMMITTED).
    fn read_committed(&self) -> bool {
        self.settings().read_committed
    }

    fn in_transaction(&self) -> bool {
        !self.engine.conn().is_autocommit()
    }

    fn use_database(&mut self, db: &str) -> ExecResult<()> {
        if !self.catalog().database_exists(db) {
            return Err(err(1049, "42000", format!("Unknown database '{db}'")));
        }
        self.db = Some(db.to_string());
        self.fctx.set_database(Some(db.to_string()));
        self.process.set_db(Some(db.to_string()));
        Ok(())
    }

    fn catalog(&self) -> SessionCatalog<'_> {
        SessionCatalog::new(
            self.engine.conn(),
            &self.shared.catalog,
            self.shared.epoch(),
        )
    }

    fn translate(&self, sql: &str) -> ExecResult<Arc<Vec<Translated>>> {
        // REGIONAL_RAW: the catalog the translation reads must include DDL committed on
        // other instances too.
        if exec::regional_read_after_write(self)? {
            self.regional_fresh.set(true);
        }
        let catalog = self.catalog();
        let ctx = Ctx {
            current_db: self.db.as_deref(),
            catalog: &catalog,
            schema_version: self.shared.epoch(),
        };
        Ok(self.shared.translator.translate(sql, &ctx)?)
    }

    /// Maps an SQLite error, recognising a lost commit (1213).
    fn sqlite_error(&self, e: rusqlite::Error) -> ExecError {
        if borealis_engine::is_conflict(&e) {
            self.shared
                .status
                .conflicts
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.txn_reset_after_rollback();
            let lost = self.engine.take_lost_commit();
            if let Some(lost) = &lost {
                let statement = self.process.info();
                let id = self
                    .shared
                    .conflicts
                    .record(self.id, lost, statement.as_deref());
                self.lost_conflict.set(Some(id));
            }
            return ExecError::Conflict(lost.map(|l| l.conflict));
        }
        ExecError::Sqlite(e)
    }

    fn txn_reset_after_rollback(&self) {
        // SQLite has already rolled the transaction back; nothing to undo here. Kept as the one
        // place to reset per-transaction session state when that grows.
    }

    fn add_note(&mut self, code: u16, message: impl Into<String>) {
        if self.warnings.len() < 1024 {
            self.warnings.push(Warning {
                level: "Note",
                code,
                message: message.into(),
                conflict: None,
            });
        }
    }

    /// After a 1213, SHOW WARNINGS lists the error (as MySQL does) and a Note naming the page,
    /// its table or index, and the winning instance.
    fn add_conflict_warnings(&mut self, id: u64) {
        self.warnings.push(Warning {
            level: "Error",
            code: 1213,
            message: crate::errors::DEADLOCK_MESSAGE.into(),
            conflict: None,
        });
        self.warnings.push(Warning {
            level: "Note",
            code: 1213,
            message: format!("Conflict {id}: see SHOW ENGINE BOREALIS STATUS"),
            conflict: Some(id),
        });
    }

    fn warning_count(&self) -> u16 {
        u16::try_from(self.warnings.len()).unwrap_or(u16::MAX)
    }

    /// Runs every statement of a COM_QUERY text, one result each; stops at the first error.
    fn run_text(&mut self, sql: &str, out: &mut ResultSink<'_>) -> std::io::Result<()> {
        if let Some(done) = self.run_parameterized(sql, out) {
            return done;
        }
        let statements = match self.translate(sql) {
            Ok(s) => s,
            Err(e) => return out.error(&to_mysql(&e)),
        };
        if statements.is_empty() {
            return out.error(&MysqlError::new(1065, "42000", "Query was empty"));
        }
        let n = statements.len();
        if n > 1 && !self.multi_statements {
            // Without CLIENT_MULTI_STATEMENTS MySQL parses the text as one statement.
            let near: String = statements[1].mysql.chars().take(80).collect();
            return out.error(&MysqlError::new(
                1064,
                "42000",
                format!("You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '{near}' at line 1"),
            ));
        }
        for i in 0..n {
            let more = i + 1 < n;
            let t = &statements[i];
            if let Err(e) = self.run_statement((&statements, i), &t.mysql, &[], out, more) {
                return out.error(&to_mysql(&e));
            }
        }
        Ok(())
    }

    /// A plain `INSERT … VALUES` text runs as its shape with its values bound
    /// (`borealis_sql::parameterize_insert`): every text of one shape shares one translation
    /// and one SQLite statement. `None` when the text is not such an INSERT, or its shape is not
    /// one INSERT with a parameter per value; the text then takes the ordinary path, which also
    /// reports its errors.
    fn run_parameterized(
        &mut self,
        sql: &str,
        out: &mut ResultSink<'_>,
    ) -> Option<std::io::Result<()>> {
        let split = borealis_sql::parameterize_insert(sql)?;
        let statements = self.translate(&split.shape).ok()?;
        let [t] = statements.as_slice() else {
            return None;
        };
        let is_insert = matches!(
            t.kind,
            StatementKind::Dml {
                verb: DmlVerb::Insert | DmlVerb::Replace,
                ..
            }
        );
        if !is_insert || t.param_count != split.values.len() {
            return None;
        }
        let params: Vec<Value> = split.values.into_iter().map(literal_value).collect();
        self.shared
            .status
            .parameterized_inserts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(
            match self.run_statement((&statements, 0), sql, &params, out, false) {
                Ok(()) => Ok(()),
                Err(e) => out.error(&to_mysql(&e)),
            },
        )
    }

    /// Runs statement `i` of `statements`; `text` is what the process list and the logs show.
    fn run_statement(
        &mut self,
        (statements, i): (&Arc<Vec<Translated>>, usize),
        text: &str,
        params: &[Value],
        out: &mut ResultSink<'_>,
        more: bool,
    ) -> ExecResult<()> {
        let t = &statements[i];
        if self.process.is_killed() {
            return Err(err(1927, "70100", "Connection was killed"));
        }
        if !matches!(t.kind, StatementKind::Show(borealis_sql::Show::Warnings))
            && !matches!(t.kind, StatementKind::Show(borealis_sql::Show::Errors))
        {
            self.warnings.clear();
        }
        let started = Instant::now();
        self.process.begin("Query", Some(text));
        self.shared.general_log.write(self.id, None, text);
        let digest = self.replay.wants_digest(&t.kind, self.autocommit);
        if digest {
            out.record_digest();
        }
        let result = exec::run(self, t, params, out, more);
        let digest = if digest { out.take_digest() } else { None };
        let generates_ids = matches!(
            t.kind,
            StatementKind::Dml {
                auto_increment: Some(_),
                ..
            }
        );
        self.record_for_replay(
            replay::Statement {
                statements,
                index: i,
                params,
                binary: out.is_binary(),
                ids: (digest.is_some() && generates_ids).then(|| self.fctx.statement_ids()),
            },
            digest.filter(|_| result.is_ok()),
        );
        self.process.end();
        if let Some(id) = self.lost_conflict.take() {
            if matches!(result, Err(ExecError::Conflict(_))) {
                self.add_conflict_warnings(id);
            }
        }
        let elapsed = started.elapsed();
        self.shared
            .status
            .record_latency(stmt_class(&t.kind), elapsed);
        // As in MySQL, Slow_queries counts whether or not the slow log is on.
        if elapsed.as_secs_f64() >= self.long_query_time() {
            self.shared
                .status
                .slow_queries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.shared.slow_log.write(self.id, Some(elapsed), text);
        }
        result
    }

    /// Keeps the replay log in step with the transaction after a statement ran.
    fn record_for_replay(&mut self, stmt: replay::Statement<'_>, digest: Option<u128>) {
        let in_transaction = self.in_transaction();
        // The setting is read only when a record could start.
        let starts = in_transaction && self.replay.may_start(&stmt);
        let enabled = starts && exec::max_retries(self) > 0;
        self.replay.after(stmt, in_transaction, digest, enabled);
    }

    /// After `KILL <id>` the session's next command gets 1927 and the connection is closed, as
    /// in MySQL (the error return makes the protocol layer drop the connection).
    fn close_if_killed(&self, out: &mut ResultSink<'_>) -> std::io::Result<()> {
        if !self.process.is_killed() {
            return Ok(());
        }
        out.error(&MysqlError::new(1927, "70100", "Connection was killed"))?;
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "session killed",
        ))
    }

    fn long_query_time(&self) -> f64 {
        self.settings().long_query_time
    }
}

/// An inline value of a split INSERT as a bound parameter.
fn literal_value(v: borealis_sql::Literal) -> Value {
    match v {
        borealis_sql::Literal::Null => Value::NULL,
        borealis_sql::Literal::Int(i) => Value::Int(i),
        borealis_sql::Literal::Text(t) => Value::Bytes(t.into_bytes()),
    }
}

/// The latency-histogram class of a statement.
fn stmt_class(kind: &StatementKind) -> StmtClass {
    match kind {
        StatementKind::Query { .. } => StmtClass::Select,
        StatementKind::Dml { verb, .. } => match verb {
            DmlVerb::Insert => StmtClass::Insert,
            DmlVerb::Replace => StmtClass::Replace,
            DmlVerb::Update => StmtClass::Update,
            DmlVerb::Delete => StmtClass::Delete,
        },
        StatementKind::Commit => StmtClass::Commit,
        StatementKind::Ddl { .. }
        | StatementKind::CreateDatabase { .. }
        | StatementKind::DropDatabase { .. } => StmtClass::Ddl,
        _ => StmtClass::Other,
    }
}

/// `@@name` in SQL calls borealis_sysvar(name), answered from the session and global values.
fn install_sysvar_lookup(
    shared: &Arc<Shared>,
    vars: &Arc<SessionVars>,
    fctx: &Arc<SessionContext>,
) {
    let shared = Arc::downgrade(shared);
    let vars = Arc::downgrade(vars);
    let f_ctx = Arc::downgrade(fctx);
    fctx.set_sysvar_lookup(Box::new(move |name: &str| {
        let shared = shared.upgrade()?;
        let vars = vars.upgrade()?;
        let lower = name.to_ascii_lowercase();
        let (global_only, bare) = if let Some(b) = lower.strip_prefix("global.") {
            (true, b.to_string())
        } else if let Some(b) = lower
            .strip_prefix("session.")
            .or_else(|| lower.strip_prefix("local."))
        {
            (false, b.to_string())
        } else {
            (false, lower.clone())
        };
        let def = crate::variables::find(&bare)?;
        let value = match def.name {
            "last_insert_id" | "identity" => {
                let c = f_ctx.upgrade()?;
                return Some(borealis_functions::SqlValue::Integer(
                    c.last_insert_id() as i64
                ));
            }
            _ if global_only => shared.globals.get(def.name)?,
            _ => vars
                .get(def.name)
                .or_else(|| shared.globals.get(def.name))?,
        };
        Some(match value {
            VarValue::Int(i) => borealis_functions::SqlValue::Integer(i),
            VarValue::Float(f) => borealis_functions::SqlValue::Real(f),
            VarValue::Str(s) => borealis_functions::SqlValue::Text(s),
            VarValue::Null => borealis_functions::SqlValue::Null,
        })
    }));
}

impl Session {
    /// Start of COM_QUERY / COM_STMT_EXECUTE: count it, honour a pending KILL, and forget a
    /// REGIONAL_RAW catch-up made for an earlier command.
    fn begin_command(&mut self, out: &mut ResultSink<'_>) -> std::io::Result<()> {
        self.shared
            .status
            .questions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.close_if_killed(out)?;
        self.regional_fresh.set(false);
        Ok(())
    }
}

impl ProtocolSession for Session {
    fn query(&mut self, sql: &str, out: &mut ResultSink<'_>) -> std::io::Result<()> {
        self.begin_command(out)?;
        self.run_text(sql, out)
    }

    fn prepare(
        &mut self,
        statement_id: u32,
        sql: &str,
    ) -> Result<(u16, Vec<ColumnDef>), MysqlError> {
        let statements = self.translate(sql).map_err(|e| to_mysql(&e));
        // A catch-up made while preparing does not carry over to a later execution.
        self.regional_fresh.set(false);
        let statements = statements?;
        if statements.len() != 1 {
            return Err(MysqlError::new(
                1064,
                "42000",
                "You have an error in your SQL syntax; a prepared statement must hold exactly one statement",
            ));
        }
        let param_count = statements[0].param_count;
        let columns = self
            .prepared_columns(&statements[0])
            .map_err(|e| to_mysql(&e))?;
        let params = u16::try_from(param_count).map_err(|_| {
            MysqlError::new(
                1390,
                "HY000",
                "Prepared statement contains too many placeholders",
            )
        })?;
        self.prepared.insert(
            statement_id,
            Prepared {
                statements,
                param_count,
            },
        );
        Ok((params, columns))
    }

    fn execute(
        &mut self,
        statement_id: u32,
        params: &[Value],
        out: &mut ResultSink<'_>,
    ) -> std::io::Result<()> {
        self.begin_command(out)?;
        let Some(p) = self.prepared.get(&statement_id) else {
            return out.error(&MysqlError::new(
                1243,
                "HY000",
                format!("Unknown prepared statement handler ({statement_id}) given to mysqld_stmt_execute"),
            ));
        };
        if params.len() != p.param_count {
            let msg = format!(
                "Incorrect arguments to mysqld_stmt_execute: {} given, {} expected",
                params.len(),
                p.param_count
            );
            return out.error(&MysqlError::new(1210, "HY000", msg));
        }
        let statements = p.statements.clone();
        match self.run_statement((&statements, 0), &statements[0].mysql, params, out, false) {
            Ok(()) => Ok(()),
            Err(e) => out.error(&to_mysql(&e)),
        }
    }

    fn close_statement(&mut self, statement_id: u32) {
        self.prepared.remove(&statement_id);
    }

    fn init_db(&mut self, database: &str) -> Result<(), MysqlError> {
        self.use_database(database).map_err(|e| to_mysql(&e))
    }

    fn field_list(&mut self, table: &str, _wildcard: &str) -> Result<Vec<ColumnDef>, MysqlError> {
        let db = self
            .db
            .clone()
            .ok_or_else(|| MysqlError::new(1046, "3D000", "No database selected"))?;
        rows::field_list(self, &db, table).map_err(|e| to_mysql(&e))
    }

    fn statistics(&mut self) -> String {
        let s = &self.shared.status;
        let uptime = s.uptime_secs().max(1);
        let q = s.questions.load(std::sync::atomic::Ordering::Relaxed);
        format!(
            "Uptime: {uptime}  Threads: {}  Questions: {q}  Slow queries: {}  Opens: 0  Flush tables: 1  Open tables: 0  Queries per second avg: {:.3}",
            s.threads_connected.load(std::sync::atomic::Ordering::Relaxed),
            s.slow_queries.load(std::sync::atomic::Ordering::Relaxed),
            q as f64 / uptime as f64
        )
    }

    fn reset(&mut self) -> Result<(), MysqlError> {
        if self.in_transaction() {
            let _ = self.engine.conn().execute_batch("ROLLBACK");
        }
        self.prepared.clear();
        self.warnings.clear();
        self.replay = replay::ReplayLog::Idle;
        self.vars.clear();
        self.autocommit = true;
        self.txn_read_only = false;
        self.fctx.set_last_insert_id(0);
        self.fctx.clear_user_vars();
        self.apply_auto_increment();
        Ok(())
    }

    fn change_user(&mut self, user: &str, database: Option<&str>) -> Result<(), MysqlError> {
        self.reset()?;
        self.user = user.to_string();
        self.fctx.set_user(format!("{}@{}", user, self.host));
        self.db = None;
        self.fctx.set_database(None);
        if let Some(db) = database.filter(|d| !d.is_empty()) {
            self.use_database(db).map_err(|e| to_mysql(&e))?;
        }
        Ok(())
    }

    fn kill(&mut self, connection_id: u32) -> Result<(), MysqlError> {
        exec::kill(self, false, u64::from(connection_id)).map_err(|e| to_mysql(&e))
    }

    fn set_multi_statements(&mut self, on: bool) {
        self.multi_statements = on;
    }

    fn status_flags(&self) -> StatusFlags {
        let mut f = StatusFlags::empty();
        if self.autocommit {
            f |= StatusFlags::SERVER_STATUS_AUTOCOMMIT;
        }
        if self.in_transaction() {
            f |= StatusFlags::SERVER_STATUS_IN_TRANS;
            if self.txn_read_only {
                f |= StatusFlags::SERVER_STATUS_IN_TRANS_READONLY;
            }
        }
        f
    }

    fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        if self.in_transaction() {
            let _ = self.engine.conn().execute_batch("ROLLBACK");
        }
        self.shared.processes.unregister(self.id);
        self.shared
            .status
            .threads_connected
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        ProtocolSession::close(self);
    }
}
