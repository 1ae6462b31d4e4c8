//! Per-session state read and written by the session functions
//! (`DATABASE()`, `LAST_INSERT_ID()`, `NOW()`, user variables, auto-increment…).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

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
#[derive(Default)]
struct AutoIncrementState {
    /// Last id generated in this statement, per table (lower-cased name).
    last_by_table: HashMap<String, u64>,
    /// First id generated in this statement, across tables.
    first_generated: Option<u64>,
}

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
    user_vars: Mutex<HashMap<String, SqlValue>>,
    sysvar_lookup: Mutex<Option<Arc<SysvarLookup>>>,
    statement_count: AtomicU32,
}

impl SessionContext {
    /// Creates the state of a new session with MySQL defaults.
    pub fn new(connection_id: u32) -> Arc<Self> {
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

    /// Called at the start of every statement: resets the auto-increment
    /// generator state and freezes the statement time.
    pub fn begin_statement(&self) {
        *self.auto_increment.lock() = AutoIncrementState::default();
        self.statement_time_micros
            .store(current_time_micros(), Ordering::Relaxed);
        self.statement_count.fetch_add(1, Ordering::Relaxed);
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

    /// Generates the next auto-increment id for `table` given the table's
    /// current maximum id (MySQL's rule, see [`next_auto_increment`]).
    pub fn next_auto_increment(&self, table: &str, current_max: Option<i64>) -> Option<u64> {
        let (increment, offset) = self.auto_increment();
        let mut state = self.auto_increment.lock();
        let key = table.to_lowercase();
        let floor_max = current_max.map_or(0, |m| u64::try_from(m).unwrap_or(0));
        let last = state.last_by_table.get(&key).copied().unwrap_or(0);
        let next = next_auto_increment(floor_max.max(last), increment, offset)?;
        state.last_by_table.insert(key, next);
        if state.first_generated.is_none() {
            state.first_generated = Some(next);
        }
        Some(next)
    }
}

/// MySQL's auto-increment rule: the smallest `v > base` with
/// `v ≡ offset (mod increment)`; an offset larger than the increment is
/// ignored (treated as 1). `None` on overflow.
pub fn next_auto_increment(base: u64, increment: u64, offset: u64) -> Option<u64> {
    let increment = increment.max(1);
    let offset = if offset > increment || offset == 0 {
        1
    } else {
        offset
    };
    if base < offset {
        return Some(offset);
    }
    let steps = (base - offset) / increment + 1;
    steps.checked_mul(increment)?.checked_add(offset)
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
    fn auto_increment_rule() {
        assert_eq!(next_auto_increment(0, 1, 1), Some(1));
        assert_eq!(next_auto_increment(7, 1, 1), Some(8));
        assert_eq!(next_auto_increment(0, 16, 3), Some(3));
        assert_eq!(next_auto_increment(3, 16, 3), Some(19));
        assert_eq!(next_auto_increment(5, 16, 3), Some(19));
        assert_eq!(next_auto_increment(19, 16, 3), Some(35));
        // Offset larger than increment is ignored.
        assert_eq!(next_auto_increment(0, 10, 15), Some(1));
        assert_eq!(next_auto_increment(1, 10, 15), Some(11));
        assert_eq!(next_auto_increment(u64::MAX, 1, 1), None);
    }

    #[test]
    fn statement_state_resets() {
        let ctx = SessionContext::new(1);
        ctx.set_auto_increment(16, 2);
        ctx.begin_statement();
        assert_eq!(ctx.next_auto_increment("t", None), Some(2));
        assert_eq!(ctx.next_auto_increment("T", Some(1)), Some(18));
        assert_eq!(ctx.next_auto_increment("u", Some(100)), Some(114));
        assert_eq!(ctx.generated_id(), Some(2));
        ctx.begin_statement();
        assert_eq!(ctx.generated_id(), None);
        assert_eq!(ctx.next_auto_increment("t", Some(18)), Some(34));
    }

    #[test]
    fn user_vars_case_insensitive() {
        let ctx = SessionContext::new(1);
        ctx.set_user_var("Foo", SqlValue::Integer(3));
        assert_eq!(ctx.user_var("FOO"), Some(SqlValue::Integer(3)));
        assert_eq!(ctx.user_var("bar"), None);
    }
}
