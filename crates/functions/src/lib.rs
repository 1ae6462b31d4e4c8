//! MySQL built-in functions for SQLite.
//!
//! [`register`] installs, on one SQLite connection, MySQL's built-in scalar
//! functions, a few aggregates and MySQL's collation names, with MySQL
//! semantics (NULL handling, implicit conversions, output formats).
//! Application-defined functions override SQLite built-ins of the same name
//! on that connection (`concat`, `length`, `substr`, `round`, …).
//!
//! Functions that need session state (`DATABASE()`, `LAST_INSERT_ID()`,
//! `NOW()`, user variables, auto-increment) read a shared [`SessionContext`].
//! The SQL translator rewrites MySQL syntax into calls of the helper
//! functions named `borealis_*`, `date_add_interval`, `extract_unit`, … —
//! see `docs/FUNCTIONS.md` in this crate.

pub mod aggregates;
pub mod autoinc;
pub mod collation;
pub mod control_functions;
pub mod date_format;
pub mod date_functions;
pub mod decimal;
pub mod digest;
pub mod encoding;
pub mod encoding_functions;
pub mod error;
pub mod exact_decimal;
pub mod interval;
pub mod json_functions;
pub mod numeric_functions;
pub mod regexp_functions;
pub mod registry;
pub mod session;
pub mod session_functions;
pub mod string_functions;
pub mod temporal;
pub mod value;

use std::sync::Arc;

pub use autoinc::AutoIncrementCounters;
pub use collation::{MYSQL_CI, MYSQL_DECIMAL};
pub use error::FunctionError;
pub use session::{SavedIds, SessionContext};
pub use value::SqlValue;

/// Registers every function and collation on `conn`. Call once per connection.
pub fn register(conn: &rusqlite::Connection, ctx: Arc<SessionContext>) -> rusqlite::Result<()> {
    collation::register(conn)?;
    string_functions::register(conn)?;
    encoding_functions::register(conn)?;
    regexp_functions::register(conn)?;
    numeric_functions::register(conn)?;
    control_functions::register(conn)?;
    json_functions::register(conn)?;
    aggregates::register(conn)?;
    date_functions::register(conn, &ctx)?;
    session_functions::register(conn, &ctx)
}
