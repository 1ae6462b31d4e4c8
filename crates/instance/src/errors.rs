//! The one mapping from errors inside Borealis to MySQL error codes, SQLSTATEs and messages.
//!
//! Crates below the instance return typed errors; this module is the protocol edge where they
//! become what a MySQL client expects (code + SQLSTATE + a message naming what was wrong).

use borealis_protocol::MysqlError;
use borealis_sql::SqlError;
use rusqlite::ffi;

/// An error while executing a statement in a session.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Sql(#[from] SqlError),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// A commit lost first-committer-wins (the transaction was rolled back).
    #[error("write conflict")]
    Conflict(Option<borealis_pagestore::Conflict>),
    /// Writing to the client failed (the connection is gone).
    #[error("network write failed: {0}")]
    Io(#[from] std::io::Error),
    /// An error already expressed in MySQL terms by instance logic.
    #[error("{}", .0.message)]
    Mysql(MysqlError),
}

impl From<MysqlError> for ExecError {
    fn from(e: MysqlError) -> Self {
        ExecError::Mysql(e)
    }
}

pub type ExecResult<T> = Result<T, ExecError>;

pub fn err(code: u16, sqlstate: &str, message: impl Into<String>) -> ExecError {
    ExecError::Mysql(MysqlError::new(code, sqlstate, message))
}

pub const DEADLOCK_MESSAGE: &str =
    "Deadlock found when trying to get lock; try restarting transaction";

/// Converts any execution error to the MySQL error a client receives.
pub fn to_mysql(e: &ExecError) -> MysqlError {
    match e {
        ExecError::Sql(e) => {
            let (code, state) = e.mysql_code();
            MysqlError::new(code, state, e.to_string())
        }
        ExecError::Sqlite(e) => sqlite_to_mysql(e),
        ExecError::Conflict(_) => MysqlError::new(1213, "40001", DEADLOCK_MESSAGE),
        ExecError::Mysql(m) => m.clone(),
        ExecError::Io(e) => MysqlError::new(
            1160,
            "08S01",
            format!("Got an error writing communication packets: {e}"),
        ),
    }
}

fn sqlite_to_mysql(e: &rusqlite::Error) -> MysqlError {
    use rusqlite::Error as E;
    match e {
        E::SqliteFailure(f, msg) => failure_to_mysql(f.extended_code, msg.as_deref().unwrap_or("")),
        E::InvalidParameterCount(given, expected) => MysqlError::new(
            1210,
            "HY000",
            format!(
                "Incorrect arguments to EXECUTE: {given} parameters given, {expected} expected"
            ),
        ),
        E::SqlInputError {
            error,
            msg,
            sql,
            offset,
        } => {
            if msg.contains("syntax error") {
                syntax_error(msg, sql, *offset)
            } else {
                failure_to_mysql(error.extended_code, msg)
            }
        }
        other => MysqlError::new(1105, "HY000", format!("Unknown error: {other}")),
    }
}

fn syntax_error(msg: &str, sql: &str, offset: i32) -> MysqlError {
    let near: String = usize::try_from(offset)
        .ok()
        .and_then(|o| sql.get(o..))
        .unwrap_or("")
        .chars()
        .take(80)
        .collect();
    MysqlError::new(
        1064,
        "42000",
        format!(
            "You have an error in your SQL syntax ({msg}); check the manual that corresponds to your MySQL server version for the right syntax to use near '{near}' at line 1"
        ),
    )
}

fn failure_to_mysql(extended: i32, msg: &str) -> MysqlError {
    match extended {
        ffi::SQLITE_BUSY_SNAPSHOT => MysqlError::new(1213, "40001", DEADLOCK_MESSAGE),
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
            let key = msg.rsplit(": ").next().unwrap_or(msg);
            MysqlError::new(1062, "23000", format!("Duplicate entry for key '{key}'"))
        }
        ffi::SQLITE_CONSTRAINT_NOTNULL => {
            let col = msg.rsplit('.').next().unwrap_or(msg);
            MysqlError::new(1048, "23000", format!("Column '{col}' cannot be null"))
        }
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => MysqlError::new(
            1452,
            "23000",
            "Cannot add or update a child row: a foreign key constraint fails",
        ),
        ffi::SQLITE_CONSTRAINT_CHECK => {
            MysqlError::new(3819, "HY000", format!("Check constraint violated: {msg}"))
        }
        ffi::SQLITE_INTERRUPT => MysqlError::new(1317, "70100", "Query execution was interrupted"),
        ffi::SQLITE_FULL => MysqlError::new(1021, "HY000", format!("Disk full: {msg}")),
        ffi::SQLITE_TOOBIG => MysqlError::new(1153, "08S01", "Got a packet bigger than 'max_allowed_packet' bytes"),
        ffi::SQLITE_READONLY => MysqlError::new(
            1290,
            "HY000",
            "The MySQL server is running with the --read-only option so it cannot execute this statement",
        ),
        code if code & 0xff == ffi::SQLITE_IOERR => {
            MysqlError::new(1030, "HY000", format!("Got error from storage: {msg}"))
        }
        code if code & 0xff == ffi::SQLITE_CORRUPT => {
            MysqlError::new(1030, "HY000", format!("Storage reported corrupt data: {msg}"))
        }
        _ => message_to_mysql(msg),
    }
}

/// SQLite reports most statement errors as SQLITE_ERROR with a message; map the known ones.
fn message_to_mysql(msg: &str) -> MysqlError {
    if let Some(t) = msg.strip_prefix("no such table: ") {
        return MysqlError::new(
            1146,
            "42S02",
            format!("Table '{}' doesn't exist", unquote(t)),
        );
    }
    if let Some(c) = msg.strip_prefix("no such column: ") {
        // SQLite adds a hint for a double-quoted name; MySQL names only the column.
        let c = c.split(" - should this be").next().unwrap_or(c);
        return MysqlError::new(
            1054,
            "42S22",
            format!("Unknown column '{}' in 'field list'", unquote(c)),
        );
    }
    if let Some(rest) = msg.strip_prefix("table ") {
        // INSERT into a column the table lacks.
        if let Some((_, c)) = rest.split_once(" has no column named ") {
            return MysqlError::new(
                1054,
                "42S22",
                format!("Unknown column '{}' in 'field list'", unquote(c)),
            );
        }
        if let Some(t) = rest.strip_suffix(" already exists") {
            return MysqlError::new(
                1050,
                "42S01",
                format!("Table '{}' already exists", unquote(t)),
            );
        }
    }
    if let Some(rest) = msg.strip_prefix("index ") {
        if let Some(i) = rest.strip_suffix(" already exists") {
            return MysqlError::new(
                1061,
                "42000",
                format!("Duplicate key name '{}'", short_index(i)),
            );
        }
    }
    if let Some(i) = msg.strip_prefix("no such index: ") {
        return MysqlError::new(
            1091,
            "42000",
            format!(
                "Can't DROP '{}'; check that column/key exists",
                short_index(i)
            ),
        );
    }
    if let Some(f) = msg.strip_prefix("no such function: ") {
        return MysqlError::new(1305, "42000", format!("FUNCTION {f} does not exist"));
    }
    if let Some(c) = msg.strip_prefix("duplicate column name: ") {
        return MysqlError::new(1060, "42S21", format!("Duplicate column name '{c}'"));
    }
    if let Some(c) = msg.strip_prefix("ambiguous column name: ") {
        return MysqlError::new(
            1052,
            "23000",
            format!("Column '{c}' in field list is ambiguous"),
        );
    }
    if msg.contains("syntax error") {
        return MysqlError::new(
            1064,
            "42000",
            format!("You have an error in your SQL syntax; {msg}"),
        );
    }
    if msg.starts_with("wrong number of arguments to function") {
        return MysqlError::new(
            1582,
            "42000",
            format!("Incorrect parameter count in the call to native function: {msg}"),
        );
    }
    MysqlError::new(1105, "HY000", format!("Unknown error: {msg}"))
}

fn unquote(s: &str) -> &str {
    s.trim_matches('"')
}

/// Index names are stored as "db.table.index"; users know them by their last part.
fn short_index(i: &str) -> &str {
    let i = unquote(i);
    i.rsplit('.').next().unwrap_or(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_column_names_only_the_column() {
        for msg in [
            "no such column: object_name",
            "no such column: \"object_name\" - should this be a string literal in single-quotes?",
            "table db.t has no column named object_name",
        ] {
            let m = message_to_mysql(msg);
            assert_eq!(m.code, 1054, "{msg}");
            assert_eq!(
                m.message, "Unknown column 'object_name' in 'field list'",
                "{msg}"
            );
        }
    }

    #[test]
    fn busy_snapshot_is_1213() {
        let m = failure_to_mysql(ffi::SQLITE_BUSY_SNAPSHOT, "");
        assert_eq!(m.code, 1213);
        assert_eq!(&m.sqlstate, b"40001");
    }

    #[test]
    fn no_such_table_is_1146() {
        let m = failure_to_mysql(ffi::SQLITE_ERROR, "no such table: shop.orders");
        assert_eq!(m.code, 1146);
        assert_eq!(m.message, "Table 'shop.orders' doesn't exist");
    }

    #[test]
    fn unique_is_1062() {
        let m = failure_to_mysql(
            ffi::SQLITE_CONSTRAINT_UNIQUE,
            "UNIQUE constraint failed: shop.t.email",
        );
        assert_eq!(m.code, 1062);
    }
}
