//! Helpers that register Rust function bodies as SQLite scalar functions.
//!
//! Every body has the shape `fn(&[SqlValue]) -> Result<SqlValue, FunctionError>`:
//! arguments are converted to owned [`SqlValue`]s once, which keeps the bodies
//! small and independent of rusqlite's borrowing rules.

use std::sync::Arc;

use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::Connection;

use crate::error::FunctionError;
use crate::session::SessionContext;
use crate::value::SqlValue;

/// A pure function body.
pub type Body = fn(&[SqlValue]) -> Result<SqlValue, FunctionError>;

/// A function body that reads or writes the session.
pub type SessionBody = fn(&SessionContext, &[SqlValue]) -> Result<SqlValue, FunctionError>;

/// How many arguments a function takes.
#[derive(Clone, Copy, Debug)]
pub enum Arity {
    /// Exactly these counts (each registered separately, so SQLite itself
    /// rejects other counts).
    Exactly(&'static [i32]),
    /// Any number of arguments at or above the minimum.
    AtLeast(usize),
}

/// Flags for functions whose result depends only on their arguments.
pub fn deterministic() -> FunctionFlags {
    FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC
}

/// Flags for functions that read the clock, randomness or the session.
pub fn volatile() -> FunctionFlags {
    FunctionFlags::SQLITE_UTF8
}

fn collect_args(ctx: &Context<'_>) -> Vec<SqlValue> {
    (0..ctx.len())
        .map(|i| SqlValue::from(ctx.get_raw(i)))
        .collect()
}

fn arg_counts(arity: Arity) -> Vec<i32> {
    match arity {
        Arity::Exactly(counts) => counts.to_vec(),
        Arity::AtLeast(_) => vec![-1],
    }
}

fn check_min(name: &'static str, arity: Arity, args: &[SqlValue]) -> Result<(), FunctionError> {
    match arity {
        Arity::AtLeast(min) if args.len() < min => Err(FunctionError::ArgumentCount {
            function: name,
            count: args.len(),
        }),
        _ => Ok(()),
    }
}

/// Registers a pure (deterministic) function under each of `names`.
pub fn pure(
    conn: &Connection,
    names: &[&'static str],
    arity: Arity,
    body: Body,
) -> rusqlite::Result<()> {
    with_flags(conn, names, arity, deterministic(), body)
}

/// Registers a function body with explicit flags under each of `names`.
pub fn with_flags(
    conn: &Connection,
    names: &[&'static str],
    arity: Arity,
    flags: FunctionFlags,
    body: Body,
) -> rusqlite::Result<()> {
    for &name in names {
        for n in arg_counts(arity) {
            conn.create_scalar_function(name, n, flags, move |ctx| {
                let args = collect_args(ctx);
                check_min(name, arity, &args)?;
                Ok(body(&args)?)
            })?;
        }
    }
    Ok(())
}

/// Registers a session-reading (non-deterministic) function under each of `names`.
pub fn session(
    conn: &Connection,
    session: &Arc<SessionContext>,
    names: &[&'static str],
    arity: Arity,
    body: SessionBody,
) -> rusqlite::Result<()> {
    for &name in names {
        for n in arg_counts(arity) {
            let session = Arc::clone(session);
            conn.create_scalar_function(name, n, volatile(), move |ctx| {
                let args = collect_args(ctx);
                check_min(name, arity, &args)?;
                Ok(body(&session, &args)?)
            })?;
        }
    }
    Ok(())
}

/// Returns NULL from the enclosing function when any argument is NULL
/// (the rule for most MySQL functions).
#[macro_export]
#[doc(hidden)]
macro_rules! null_if_any_null {
    ($args:expr) => {
        if $args.iter().any(|a| a.is_null()) {
            return Ok($crate::value::SqlValue::Null);
        }
    };
}
