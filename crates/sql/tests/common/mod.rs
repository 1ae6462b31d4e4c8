//! Test harness: a real SQLite database with the catalog bootstrapped, a
//! `Catalog` reading it through `TABLE_META_QUERIES`, and stub versions of
//! the MySQL functions the translations call.
#![allow(dead_code)]

use std::sync::Arc;

use borealis_sql::*;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value;
use rusqlite::{params, Connection};

pub struct Db {
    pub conn: Connection,
    pub current_db: Option<String>,
    pub translator: Translator,
}

pub struct SqliteCatalog<'a>(pub &'a Connection);

fn text_rows(conn: &Connection, sql: &str, db: &str, t: &str) -> Vec<Vec<Option<String>>> {
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map(params![db, t], |r| {
        Ok((0..n)
            .map(|i| match r.get::<_, Value>(i).unwrap() {
                Value::Null => None,
                Value::Integer(v) => Some(v.to_string()),
                Value::Real(v) => Some(v.to_string()),
                Value::Text(s) => Some(s),
                Value::Blob(b) => Some(String::from_utf8_lossy(&b).into_owned()),
            })
            .collect())
    })
    .unwrap()
    .map(|r| r.unwrap())
    .collect()
}

impl Catalog for SqliteCatalog<'_> {
    fn table(&self, db: &str, name: &str) -> Option<Arc<TableMeta>> {
        let t = text_rows(self.0, TABLE_META_QUERIES[0], db, name);
        let row = t.into_iter().next()?;
        let cols = text_rows(self.0, TABLE_META_QUERIES[1], db, name);
        let stats = text_rows(self.0, TABLE_META_QUERIES[2], db, name);
        let fks = text_rows(self.0, TABLE_META_QUERIES[3], db, name);
        Some(Arc::new(TableMeta::from_rows(
            db, name, &row, &cols, &stats, &fks,
        )))
    }
    fn database_exists(&self, db: &str) -> bool {
        self.0
            .query_row(DATABASE_EXISTS_QUERY, [db], |_| Ok(()))
            .is_ok()
    }
}

fn register(conn: &Connection) {
    let f = FunctionFlags::SQLITE_UTF8;
    conn.create_scalar_function("now", -1, f, |_| Ok("2024-01-02 03:04:05".to_string()))
        .unwrap();
    conn.create_scalar_function("curdate", 0, f, |_| Ok("2024-01-02".to_string()))
        .unwrap();
    conn.create_scalar_function("curtime", -1, f, |_| Ok("03:04:05".to_string()))
        .unwrap();
    conn.create_scalar_function("database", 0, f, |_| Ok("test".to_string()))
        .unwrap();
    conn.create_scalar_function("user", 0, f, |_| Ok("root@localhost".to_string()))
        .unwrap();
    conn.create_scalar_function("borealis_sysvar", 1, f, |ctx| {
        let name: String = ctx.get(0)?;
        Ok(format!("sysvar:{name}"))
    })
    .unwrap();
    conn.create_scalar_function("borealis_uservar", 1, f, |ctx| {
        let name: String = ctx.get(0)?;
        Ok(format!("uservar:{name}"))
    })
    .unwrap();
    // Stateful like the real one: the max() subquery is evaluated once per
    // statement, so consecutive rows must still get increasing ids.
    let last = std::sync::Mutex::new(std::collections::HashMap::<String, i64>::new());
    conn.create_scalar_function("borealis_autoinc", 4, f, move |ctx| {
        let name: String = ctx.get(0)?;
        let max: Option<i64> = ctx.get(1)?;
        let start: i64 = ctx.get(2)?;
        let mut last = last.lock().unwrap();
        let prev = last.get(&name).copied().unwrap_or(0);
        let next = prev.max(max.unwrap_or(0)).max(start - 1) + 1;
        last.insert(name, next);
        Ok(next)
    })
    .unwrap();
    conn.create_scalar_function("date_add_interval", 3, f, |ctx| {
        let d: String = ctx.get(0)?;
        let n: i64 = ctx.get(1)?;
        let unit: String = ctx.get(2)?;
        Ok(format!("{d}{n:+}{unit}"))
    })
    .unwrap();
    conn.create_scalar_function("extract_unit", 2, f, |ctx| {
        let unit: String = ctx.get(0)?;
        Ok(unit)
    })
    .unwrap();
    // Simplified stand-in for borealis-functions' exact collation: numeric
    // order via f64 (enough for the short values these tests use), then bytes.
    conn.create_collation(DECIMAL_COLLATION, |a: &str, b: &str| {
        let num = |s: &str| s.trim().parse::<f64>().ok();
        match (num(a), num(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
            _ => a.as_bytes().cmp(b.as_bytes()),
        }
    })
    .unwrap();
    conn.create_scalar_function("regexp", 2, f, |ctx| {
        let p: String = ctx.get(0)?;
        let s: String = ctx.get(1)?;
        Ok(s.contains(p.trim_matches(|c| c == '^' || c == '$')))
    })
    .unwrap();
}

#[derive(Debug)]
pub enum Outcome {
    Rows(Vec<Vec<String>>),
    Affected(usize),
    Other(StatementKind),
}

impl Db {
    pub fn new() -> Db {
        let conn = Connection::open_in_memory().unwrap();
        for s in bootstrap_statements() {
            conn.execute_batch(&s)
                .unwrap_or_else(|e| panic!("{s}: {e}"));
        }
        for s in create_database_statements("test", "utf8mb4", "utf8mb4_0900_ai_ci") {
            conn.execute_batch(&s).unwrap();
        }
        register(&conn);
        Db {
            conn,
            current_db: Some("test".into()),
            translator: Translator::new(64),
        }
    }

    pub fn translate(&self, sql: &str) -> Result<Vec<Translated>, SqlError> {
        let cat = SqliteCatalog(&self.conn);
        let schema_version: i64 = self
            .conn
            .query_row("PRAGMA schema_version", [], |r| r.get(0))
            .unwrap();
        let ctx = Ctx {
            current_db: self.current_db.as_deref(),
            catalog: &cat,
            schema_version: schema_version as u64,
        };
        self.translator.translate(sql, &ctx).map(|v| (*v).clone())
    }

    pub fn kind(&self, sql: &str) -> StatementKind {
        let mut v = self.translate(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(v.len(), 1);
        v.remove(0).kind
    }

    pub fn sql(&self, sql: &str) -> String {
        match self.kind(sql) {
            StatementKind::Query { sql, .. } | StatementKind::Dml { sql, .. } => sql,
            other => panic!("not a query: {other:?}"),
        }
    }

    fn query(&self, sql: &str) -> Vec<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let n = stmt.column_count();
        stmt.query_map([], |r| {
            Ok((0..n)
                .map(|i| match r.get::<_, Value>(i).unwrap() {
                    Value::Null => "NULL".to_string(),
                    Value::Integer(v) => v.to_string(),
                    Value::Real(v) => v.to_string(),
                    Value::Text(s) => s,
                    Value::Blob(b) => format!("{b:?}"),
                })
                .collect())
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
    }

    /// Translates and executes every statement; panics on any error.
    pub fn exec(&mut self, sql: &str) -> Vec<Outcome> {
        let translated = self.translate(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let mut out = Vec::new();
        for t in translated {
            out.push(match t.kind {
                StatementKind::Query { sql, .. } => Outcome::Rows(self.query(&sql)),
                StatementKind::Dml { sql, .. } => Outcome::Affected(
                    self.conn
                        .execute(&sql, [])
                        .unwrap_or_else(|e| panic!("{sql}: {e}")),
                ),
                StatementKind::Ddl {
                    statements,
                    skip_if,
                } => {
                    if let Some(SkipIf::TableExists { db, table }) = &skip_if {
                        if SqliteCatalog(&self.conn).table(db, table).is_some() {
                            out.push(Outcome::Affected(0));
                            continue;
                        }
                    }
                    for s in &statements {
                        self.conn
                            .execute_batch(s)
                            .unwrap_or_else(|e| panic!("{s}: {e}"));
                    }
                    Outcome::Affected(0)
                }
                StatementKind::CreateDatabase {
                    name,
                    charset,
                    collation,
                    ..
                } => {
                    for s in create_database_statements(&name, &charset, &collation) {
                        self.conn.execute_batch(&s).unwrap();
                    }
                    Outcome::Affected(1)
                }
                StatementKind::DropDatabase { name, .. } => {
                    let tables: Vec<String> = self
                        .conn
                        .prepare(LIST_TABLES_QUERY)
                        .unwrap()
                        .query_map([&name], |r| r.get(0))
                        .unwrap()
                        .map(|r| r.unwrap())
                        .collect();
                    for s in drop_database_statements(&name, &tables) {
                        self.conn
                            .execute_batch(&s)
                            .unwrap_or_else(|e| panic!("{s}: {e}"));
                    }
                    Outcome::Affected(tables.len())
                }
                StatementKind::Use(db) => {
                    self.current_db = Some(db.clone());
                    Outcome::Other(StatementKind::Use(db))
                }
                other => Outcome::Other(other),
            });
        }
        out
    }

    pub fn rows(&mut self, sql: &str) -> Vec<Vec<String>> {
        match self.exec(sql).pop() {
            Some(Outcome::Rows(r)) => r,
            other => panic!("{sql}: {other:?}"),
        }
    }
}
