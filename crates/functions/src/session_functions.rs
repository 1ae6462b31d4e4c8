//! Functions that read or write the session: DATABASE(), USER(),
//! LAST_INSERT_ID(), ROW_COUNT(), system/user variables, auto-increment.

use std::sync::Arc;

use rusqlite::Connection;

use crate::error::FunctionError;
use crate::registry::{session, Arity};
use crate::session::SessionContext;
use crate::value::SqlValue;

type R = Result<SqlValue, FunctionError>;

const NONE: Arity = Arity::Exactly(&[0]);

/// Registers the session functions.
pub fn register(conn: &Connection, ctx: &Arc<SessionContext>) -> rusqlite::Result<()> {
    session(conn, ctx, &["database", "schema"], NONE, |s, _| {
        Ok(SqlValue::from(s.database()))
    })?;
    session(conn, ctx, &["version"], NONE, |s, _| {
        Ok(SqlValue::Text(s.version()))
    })?;
    session(
        conn,
        ctx,
        &["user", "current_user", "session_user", "system_user"],
        NONE,
        |s, _| Ok(SqlValue::Text(s.user())),
    )?;
    session(conn, ctx, &["connection_id"], NONE, |s, _| {
        Ok(SqlValue::Integer(i64::from(s.connection_id())))
    })?;
    session(
        conn,
        ctx,
        &["last_insert_id"],
        Arity::Exactly(&[0, 1]),
        last_insert_id,
    )?;
    session(conn, ctx, &["row_count"], NONE, |s, _| {
        Ok(SqlValue::Integer(s.row_count()))
    })?;
    session(conn, ctx, &["found_rows"], NONE, |s, _| {
        Ok(unsigned(s.found_rows()))
    })?;
    session(
        conn,
        ctx,
        &["borealis_sysvar"],
        Arity::Exactly(&[1]),
        |s, a| {
            Ok(a[0]
                .as_text()
                .and_then(|n| s.sysvar(&n))
                .unwrap_or(SqlValue::Null))
        },
    )?;
    session(
        conn,
        ctx,
        &["borealis_uservar"],
        Arity::Exactly(&[1]),
        |s, a| {
            Ok(a[0]
                .as_text()
                .and_then(|n| s.user_var(&n))
                .unwrap_or(SqlValue::Null))
        },
    )?;
    session(
        conn,
        ctx,
        &["borealis_set_uservar"],
        Arity::Exactly(&[2]),
        |s, a| {
            if let Some(name) = a[0].as_text() {
                s.set_user_var(&name, a[1].clone());
            }
            Ok(a[1].clone())
        },
    )?;
    session(
        conn,
        ctx,
        &["borealis_autoinc"],
        Arity::Exactly(&[2, 4]),
        autoinc,
    )?;
    session(conn, ctx, &["sleep"], Arity::Exactly(&[1]), sleep)?;
    session(conn, ctx, &["charset"], Arity::Exactly(&[1]), |_, a| {
        Ok(SqlValue::Text(
            if matches!(a[0], SqlValue::Blob(_)) {
                "binary"
            } else {
                "utf8mb4"
            }
            .into(),
        ))
    })?;
    session(conn, ctx, &["collation"], Arity::Exactly(&[1]), |_, a| {
        let name = match a[0] {
            SqlValue::Blob(_) => "binary",
            _ => "utf8mb4_0900_ai_ci",
        };
        Ok(SqlValue::Text(name.into()))
    })
}

/// Longest `SLEEP()` honoured, in seconds: bounds how long one statement can
/// hold its connection thread (MySQL has no limit; longer sleeps are capped).
pub const MAX_SLEEP_SECS: f64 = 3600.0;

fn sleep(_: &SessionContext, args: &[SqlValue]) -> R {
    let Some(secs) = args[0].as_f64() else {
        return Ok(SqlValue::Null);
    };
    if secs.is_finite() && secs > 0.0 {
        std::thread::sleep(std::time::Duration::from_secs_f64(secs.min(MAX_SLEEP_SECS)));
    }
    Ok(SqlValue::Integer(0))
}

/// An unsigned counter as an SQLite integer (saturating at i64::MAX).
fn unsigned(v: u64) -> SqlValue {
    SqlValue::Integer(i64::try_from(v).unwrap_or(i64::MAX))
}

fn last_insert_id(s: &SessionContext, args: &[SqlValue]) -> R {
    let Some(expr) = args.first() else {
        return Ok(unsigned(s.last_insert_id()));
    };
    // LAST_INSERT_ID(expr): remember expr and return it (MySQL's sequence idiom).
    let Some(v) = expr.as_i64() else {
        return Ok(SqlValue::Null);
    };
    s.set_last_insert_id(v as u64);
    Ok(SqlValue::Integer(v))
}

fn autoinc(s: &SessionContext, args: &[SqlValue]) -> R {
    let table = args[0].as_text().unwrap_or_default();
    let current_max = args[1].as_i64();
    // (table, max) or (table, max, AUTO_INCREMENT start, rows in the statement).
    let positive = |i: usize| {
        args.get(i)
            .and_then(SqlValue::as_i64)
            .and_then(|v| u64::try_from(v).ok())
            .unwrap_or(1)
    };
    let (start, rows) = (positive(2), positive(3));
    let next = s
        .next_auto_increment(&table, current_max, start, rows)
        .ok_or_else(|| FunctionError::AutoIncrementOverflow {
            table: table.clone(),
        })?;
    i64::try_from(next)
        .map(SqlValue::Integer)
        .map_err(|_| FunctionError::AutoIncrementOverflow { table })
}
