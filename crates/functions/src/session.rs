//! Per-session state read and written by the session functions
//! (`DATABASE()`, `LAST_INSERT_ID()`, `NOW()`, user variables, auto-increment…).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use crate::autoinc::{next_auto_increment, AutoIncrementCounters};
use crate::value::SqlValue;

/// Callback the instance installs to resolve `@@system_variables`.
pub type SysvarLookup = Box<dyn Fn(&str) -> Option<SqlValue> + Send + Sync>;

/// The MySQL version string reported by `VERSION()` until the instance sets one.
pub const DEFAULT_VERSION: &str = "8.0.36-borealis";

/// Maximum number of distinct user variables per session: bounds memory a
/// client can pin with `SET @x = …` (MySQL has no limit, but a session with
/// more than this many is almost certainly a runaway loop).
pub const MAX_USER_VARIABLES: usize = 65_536;

/// Per-statement auto-increment state.
#[derive(Default, Clone)]
struct AutoIncrementState {
    /// Per table (lower-cased name): the ids this statement generated and reserved.
    by_table: HashMap<String, StatementIds>,
    /// First id generated in this statement, across tables.
    first_generated: Option<u64>,
}

/// One statement's ids for one table.
#[derive(Default, Clone, Copy)]
struct StatementIds {
    /// The last id generated (0 before the first).
    last: u64,
    /// The end of the block last reserved from the instance's counter (0 before the first).
    reserved_until: u64,
    /// The statement's first block, which a retry takes again (0 before the first).
    first_block: (u64, u64),
}

impl AutoIncrementState {
    /// Back to the start of the statement's first reserved block per table, keeping it (only
    /// the first: the ids between two blocks may have gone to other statements).
    fn rewind(&mut self) {
        self.first_generated = None;
        for ids in self.by_table.values_mut() {
            let (from, until) = ids.first_block;
            ids.last = from.saturating_sub(1);
            ids.reserved_until = until;
        }
    }
}

/// The ids a statement generated, saved to run it again with the same ids
/// ([`SessionContext::statement_ids`]).
#[derive(Clone)]
pub struct SavedIds(AutoIncrementState);

/// Text fields that change rarely; one lock for all of them.
struct Identity {
    database: Option<String>,
    user: String,
    version: String,
}

/// Per-session state that some functions read or write. Shared with the
/// instance's session through an `Arc`; all methods take `&self`.
pub struct SessionContext {
    connection_id: u32,
    identity: Mutex<Identity>,
    last_insert_id: AtomicU64,
    row_count: AtomicI64,
    found_rows: AtomicU64,
    time_zone_offset_secs: AtomicI32,
    /// Statement start in microseconds since the Unix epoch (UTC); 0 = unset.
    statement_time_micros: AtomicI64,
    auto_increment_increment: AtomicU64,
    auto_increment_offset: AtomicU64,
    auto_increment: Mutex<AutoIncrementState>,
    /// The instance's per-table counters (a private set for a session outside an instance).
    counters: Arc<AutoIncrementCounters>,
    /// The instance's schema epoch at the start of the current statement.
    schema_epoch: AtomicU64,
    /// The next `begin_statement` starts a retry of the same statement (see `retry_statement`).
    retrying: AtomicBool,
    user_vars: Mutex<HashMap<String, SqlValue>>,
    sysvar_lookup: Mutex<Option<Arc<SysvarLookup>>>,
    statement_count: AtomicU32,
}

impl SessionContext {
    /// Creates the state of a new session with MySQL defaults and auto-increment counters
    /// of its own.
    pub fn new(connection_id: u32) -> Arc<Self> {
        Self::with_counters(connection_id, AutoIncrementCounters::new())
    }

    /// Creates the state of a new session that takes auto-increment ids from `counters`,
    /// shared with the other sessions of its instance.
    pub fn with_counters(connection_id: u32, counters: Arc<AutoIncrementCounters>) -> Arc<Self> {
        Arc::new(SessionContext {
            connection_id,
            identity: Mutex::new(Identity {
                database: None,
                user: "root@localhost".to_string(),
                version: DEFAULT_VERSION.to_string(),
            }),
            last_insert_id: AtomicU64::new(0),
            row_count: AtomicI64::new(-1),
            found_rows: AtomicU64::new(0),
            time_zone_offset_secs: AtomicI32::new(0),
            statement_time_micros: AtomicI64::new(0),
            auto_increment_increment: AtomicU64::new(1),
            auto_increment_offset: AtomicU64::new(1),
            auto_increment: Mutex::new(AutoIncrementState::default()),
            counters,
            schema_epoch: AtomicU64::new(0),
            retrying: AtomicBool::new(false),
            user_vars: Mutex::new(HashMap::new()),
            sysvar_lookup: Mutex::new(None),
            statement_count: AtomicU32::new(0),
        })
    }

    /// The session's connection id (`CONNECTION_ID()`).
    pub fn connection_id(&self) -> u32 {
        self.connection_id
    }

    /// Sets the current database (`USE db`); `None` when no database is selected.
    pub fn set_database(&self, db: Option<String>) {
        self.identity.lock().database = db;
    }

    /// The current database.
    pub fn database(&self) -> Option<String> {
        self.identity.lock().database.clone()
    }

    /// Sets the authenticated user, `user@host`.
    pub fn set_user(&self, user: String) {
        self.identity.lock().user = user;
    }

    /// The authenticated user, `user@host`.
    pub fn user(&self) -> String {
        self.identity.lock().user.clone()
    }

    /// Sets the version string returned by `VERSION()`.
    pub fn set_version(&self, v: String) {
        self.identity.lock().version = v;
    }

    /// The version string returned by `VERSION()`.
    pub fn version(&self) -> String {
        self.identity.lock().version.clone()
    }

    /// Sets `LAST_INSERT_ID()`.
    pub fn set_last_insert_id(&self, v: u64) {
        self.last_insert_id.store(v, Ordering::Relaxed);
    }

    /// The value of `LAST_INSERT_ID()`.
    pub fn last_insert_id(&self) -> u64 {
        self.last_insert_id.load(Ordering::Relaxed)
    }

    /// Sets `ROW_COUNT()` (affected rows of the previous statement, -1 for none).
    pub fn set_row_count(&self, v: i64) {
        self.row_count.store(v, Ordering::Relaxed);
    }

    /// The value of `ROW_COUNT()`.
    pub fn row_count(&self) -> i64 {
        self.row_count.load(Ordering::Relaxed)
    }

    /// Sets `FOUND_ROWS()`.
    pub fn set_found_rows(&self, v: u64) {
        self.found_rows.store(v, Ordering::Relaxed);
    }

    /// The value of `FOUND_ROWS()`.
    pub fn found_rows(&self) -> u64 {
        self.found_rows.load(Ordering::Relaxed)
    }

    /// Sets the session time zone as an offset from UTC in seconds (0 = `'+00:00'`).
    pub fn set_time_zone_offset_secs(&self, secs: i32) {
        self.time_zone_offset_secs.store(secs, Ordering::Relaxed);
    }

    /// The session time zone offset from UTC in seconds.
    pub fn time_zone_offset_secs(&self) -> i32 {
        self.time_zone_offset_secs.load(Ordering::Relaxed)
    }

    /// Installs the system variable lookup used by `borealis_sysvar()`.
    pub fn set_sysvar_lookup(&self, f: SysvarLookup) {
        *self.sysvar_lookup.lock() = Some(Arc::new(f));
    }

    /// Looks up a system variable through the installed callback.
    pub fn sysvar(&self, name: &str) -> Option<SqlValue> {
        // Clone the Arc and release the lock before calling out: the callback
        // may itself touch this session.
        let f = self.sysvar_lookup.lock().clone()?;
        f(name)
    }

    /// Sets a user variable (`SET @name = v`); names are case-insensitive.
    /// A new variable beyond [`MAX_USER_VARIABLES`] is ignored.
    /// Forgets every user variable (COM_RESET_CONNECTION, COM_CHANGE_USER).
    pub fn clear_user_vars(&self) {
        self.user_vars.lock().clear();
    }

    pub fn set_user_var(&self, name: &str, v: SqlValue) {
        let key = name.to_lowercase();
        let mut vars = self.user_vars.lock();
        if vars.len() >= MAX_USER_VARIABLES && !vars.contains_key(&key) {
            tracing::warn!(
                connection_id = self.connection_id,
                "user variable limit reached; ignoring @{name}"
            );
            return;
        }
        vars.insert(key, v);
    }

    /// Reads a user variable; `None` when never set.
    pub fn user_var(&self, name: &str) -> Option<SqlValue> {
        self.user_vars.lock().get(&name.to_lowercase()).cloned()
    }

    /// Sets `auto_increment_increment` and `auto_increment_offset`.
    /// Zero values are treated as 1, like MySQL's minimum.
    pub fn set_auto_increment(&self, increment: u64, offset: u64) {
        self.auto_increment_increment
            .store(increment.max(1), Ordering::Relaxed);
        self.auto_increment_offset
            .store(offset.max(1), Ordering::Relaxed);
    }

    /// `(auto_increment_increment, auto_increment_offset)`.
    pub fn auto_increment(&self) -> (u64, u64) {
        (
            self.auto_increment_increment.load(Ordering::Relaxed),
            self.auto_increment_offset.load(Ordering::Relaxed),
        )
    }

    /// Called at the start of every statement with the instance's schema epoch: resets the
    /// auto-increment generator state and freezes the statement time.
    pub fn begin_statement(&self, schema_epoch: u64) {
        {
            let mut state = self.auto_increment.lock();
            if self.retrying.swap(false, Ordering::Relaxed) {
                state.rewind();
            } else {
                *state = AutoIncrementState::default();
            }
        }
        self.schema_epoch.store(schema_epoch, Ordering::Relaxed);
        self.statement_time_micros
            .store(current_time_micros(), Ordering::Relaxed);
        self.statement_count.fetch_add(1, Ordering::Relaxed);
    }

    /// The next `begin_statement` re-runs the statement that just lost a conflict (the
    /// server retries single-statement transactions): it takes the same ids again, so an
    /// invisible retry leaves no gap (sysbench's prepare, for one, expects ids 1..n).
    pub fn retry_statement(&self) {
        self.retrying.store(true, Ordering::Relaxed);
    }

    /// The retried statement is over (it may not have generated ids at all: DDL): the next
    /// `begin_statement` starts a new statement.
    pub fn end_retries(&self) {
        self.retrying.store(false, Ordering::Relaxed);
    }

    /// The ids the statement that just ran generated (and reserved), for
    /// [`replay_statement`](Self::replay_statement).
    pub fn statement_ids(&self) -> SavedIds {
        SavedIds(self.auto_increment.lock().clone())
    }

    /// The next `begin_statement` runs again a statement whose ids `saved` holds (a replayed
    /// transaction): it takes the same ids, as long as they are still above the table's
    /// maximum.
    pub fn replay_statement(&self, saved: &SavedIds) {
        *self.auto_increment.lock() = saved.0.clone();
        self.retrying.store(true, Ordering::Relaxed);
    }

    /// The first id generated by `borealis_autoinc()` in the current statement.
    pub fn generated_id(&self) -> Option<u64> {
        self.auto_increment.lock().first_generated
    }

    /// The statement's frozen "now" in microseconds since the Unix epoch (UTC).
    /// Before the first `begin_statement()` this is the current time.
    pub fn statement_time(&self) -> i64 {
        match self.statement_time_micros.load(Ordering::Relaxed) {
            0 => current_time_micros(),
            t => t,
        }
    }

    /// Generates the next auto-increment id for `table`: above the table's maximum at the
    /// statement's snapshot (`current_max`), at or above its `AUTO_INCREMENT=n` start, above
    /// the ids this statement generated, and from the instance's counter so that concurrent
    /// statements get different ids. The first call reserves `rows` ids at once, so the
    /// rows of one multi-row INSERT get consecutive ids, as with InnoDB's default lock mode.
    pub fn next_auto_increment(
        &self,
        table: &str,
        current_max: Option<i64>,
        start: u64,
        rows: u64,
    ) -> Option<u64> {
        let (increment, offset) = self.auto_increment();
        let floor = current_max
            .map_or(0, |m| u64::try_from(m).unwrap_or(0))
            .max(start.saturating_sub(1));
        let mut state = self.auto_increment.lock();
        let key = table.to_lowercase();
        let mut ids = state.by_table.get(&key).copied().unwrap_or_default();
        let base = floor.max(ids.last);
        let mut next = next_auto_increment(base, increment, offset)?;
        if next > ids.reserved_until {
            let epoch = self.schema_epoch.load(Ordering::Relaxed);
            let block = self
                .counters
                .reserve(epoch, &key, base, rows, increment, offset)?;
            next = block.first;
            if ids.first_block == (0, 0) {
                ids.first_block = (block.first, block.last);
            }
            ids.reserved_until = block.last;
        }
        assert!(next > base && next <= ids.reserved_until);
        ids.last = next;
        state.by_table.insert(key, ids);
        if state.first_generated.is_none() {
            state.first_generated = Some(next);
        }
        Some(next)
    }
}

/// Current wall-clock time in microseconds since the Unix epoch.
pub fn current_time_micros() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_state_resets() {
        let ctx = SessionContext::new(1);
        ctx.set_auto_increment(16, 2);
        ctx.begin_statement(1);
        assert_eq!(ctx.next_auto_increment("t", None, 1, 1), Some(2));
        assert_eq!(ctx.next_auto_increment("T", Some(1), 1, 1), Some(18));
        assert_eq!(ctx.next_auto_increment("u", Some(100), 1, 1), Some(114));
        assert_eq!(ctx.generated_id(), Some(2));
        ctx.begin_statement(1);
        assert_eq!(ctx.generated_id(), None);
        assert_eq!(ctx.next_auto_increment("t", Some(18), 1, 1), Some(34));
    }

    #[test]
    fn sessions_of_one_instance_share_the_counter() {
        let counters = AutoIncrementCounters::new();
        let a = SessionContext::with_counters(1, counters.clone());
        let b = SessionContext::with_counters(2, counters);
        a.begin_statement(1);
        b.begin_statement(1);
        // Both snapshots see max(id) = 5; a's statement inserts three rows, b's one,
        // and their calls interleave.
        assert_eq!(a.next_auto_increment("d.t", Some(5), 1, 3), Some(6));
        assert_eq!(b.next_auto_increment("d.t", Some(5), 1, 1), Some(9));
        assert_eq!(a.next_auto_increment("d.t", Some(5), 1, 3), Some(7));
        assert_eq!(a.next_auto_increment("d.t", Some(5), 1, 3), Some(8));
        assert_eq!(a.generated_id(), Some(6));
        assert_eq!(b.generated_id(), Some(9));
        // A row given an explicit id above the block moves the statement past it.
        b.begin_statement(1);
        assert_eq!(b.next_auto_increment("d.t", Some(50), 1, 2), Some(51));
        assert_eq!(b.next_auto_increment("d.t", Some(60), 1, 2), Some(61));
    }

    #[test]
    fn a_retried_statement_takes_the_same_ids_again() {
        let counters = AutoIncrementCounters::new();
        let a = SessionContext::with_counters(1, counters.clone());
        let b = SessionContext::with_counters(2, counters);
        a.begin_statement(1);
        assert_eq!(a.next_auto_increment("d.t", Some(5), 1, 2), Some(6));
        assert_eq!(a.next_auto_increment("d.t", Some(5), 1, 2), Some(7));
        b.begin_statement(1);
        assert_eq!(b.next_auto_increment("d.t", Some(5), 1, 1), Some(8));
        // An explicit id pushed a's statement into a second block.
        assert_eq!(a.next_auto_increment("d.t", Some(20), 1, 2), Some(21));
        // a lost a conflict and runs again: its first block again, then a new one.
        a.retry_statement();
        a.begin_statement(1);
        assert_eq!(a.generated_id(), None);
        assert_eq!(a.next_auto_increment("d.t", Some(5), 1, 2), Some(6));
        assert_eq!(a.next_auto_increment("d.t", Some(5), 1, 2), Some(7));
        assert_eq!(a.next_auto_increment("d.t", Some(5), 1, 2), Some(23));
        assert_eq!(a.generated_id(), Some(6));
        // The next statement starts afresh.
        a.begin_statement(1);
        assert_eq!(a.next_auto_increment("d.t", Some(5), 1, 1), Some(25));
    }

    #[test]
    fn the_start_value_is_a_floor() {
        let ctx = SessionContext::new(1);
        ctx.begin_statement(1);
        assert_eq!(ctx.next_auto_increment("d.t", None, 100, 1), Some(100));
        assert_eq!(ctx.next_auto_increment("d.t", Some(100), 100, 1), Some(101));
        ctx.begin_statement(1);
        assert_eq!(ctx.next_auto_increment("d.u", Some(500), 100, 1), Some(501));
    }

    #[test]
    fn user_vars_case_insensitive() {
        let ctx = SessionContext::new(1);
        ctx.set_user_var("Foo", SqlValue::Integer(3));
        assert_eq!(ctx.user_var("FOO"), Some(SqlValue::Integer(3)));
        assert_eq!(ctx.user_var("bar"), None);
    }
}
