//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::sync::Arc;

use borealis_functions::{register, SessionContext, SqlValue};
use rusqlite::types::Value;
use rusqlite::Connection;

/// An in-memory connection with every function registered.
pub fn conn() -> (Connection, Arc<SessionContext>) {
    let c = Connection::open_in_memory().unwrap();
    let ctx = SessionContext::new(42);
    register(&c, Arc::clone(&ctx)).unwrap();
    (c, ctx)
}

/// Evaluates one SELECT expression.
pub fn eval(c: &Connection, expr: &str) -> SqlValue {
    let v: SqlValue = c
        .query_row(&format!("SELECT {expr}"), [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{expr}: {e}"));
    let roundtrip: Value = v.clone().into();
    assert_eq!(SqlValue::from(roundtrip), v);
    v
}

/// Evaluates and expects text.
pub fn text(c: &Connection, expr: &str) -> String {
    match eval(c, expr) {
        SqlValue::Text(t) => t,
        other => panic!("{expr}: expected text, got {other:?}"),
    }
}

/// Evaluates and expects an integer.
pub fn int(c: &Connection, expr: &str) -> i64 {
    match eval(c, expr) {
        SqlValue::Integer(i) => i,
        other => panic!("{expr}: expected integer, got {other:?}"),
    }
}

/// Evaluates and expects a real.
pub fn real(c: &Connection, expr: &str) -> f64 {
    match eval(c, expr) {
        SqlValue::Real(f) => f,
        other => panic!("{expr}: expected real, got {other:?}"),
    }
}

/// Evaluates and expects NULL.
pub fn null(c: &Connection, expr: &str) {
    let v = eval(c, expr);
    assert!(v.is_null(), "{expr}: expected NULL, got {v:?}");
}
