//! Control-flow and comparison functions: IF, NULLIF, GREATEST, LEAST.

use std::cmp::Ordering;

use rusqlite::Connection;

use crate::error::FunctionError;
use crate::registry::{pure, Arity};
use crate::string_functions::{mysql_cmp, mysql_eq};
use crate::value::{to_number, SqlValue};

type R = Result<SqlValue, FunctionError>;

/// Registers IF, NULLIF, GREATEST and LEAST.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    pure(conn, &["if"], Arity::Exactly(&[3]), |a| {
        Ok(if a[0].truth() == Some(true) {
            a[1].clone()
        } else {
            a[2].clone()
        })
    })?;
    pure(conn, &["nullif"], Arity::Exactly(&[2]), |a| {
        Ok(if mysql_eq(&a[0], &a[1]) == Some(true) {
            SqlValue::Null
        } else {
            a[0].clone()
        })
    })?;
    pure(conn, &["greatest"], Arity::AtLeast(2), |a| {
        extreme(a, Ordering::Greater)
    })?;
    pure(conn, &["least"], Arity::AtLeast(2), |a| {
        extreme(a, Ordering::Less)
    })
}

/// GREATEST/LEAST: NULL if any argument is NULL; strings compare
/// case-insensitively when all arguments are strings, numbers otherwise.
fn extreme(args: &[SqlValue], want: Ordering) -> R {
    if args.iter().any(SqlValue::is_null) {
        return Ok(SqlValue::Null);
    }
    let all_strings = args.iter().all(SqlValue::is_string);
    let values: Vec<SqlValue> = if all_strings {
        args.to_vec()
    } else {
        args.iter()
            .map(|a| to_number(a).unwrap_or(SqlValue::Null))
            .collect()
    };
    let mut best = &values[0];
    for v in &values[1..] {
        if mysql_cmp(v, best) == Some(want) {
            best = v;
        }
    }
    Ok(best.clone())
}
