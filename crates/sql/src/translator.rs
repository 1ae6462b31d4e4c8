//! The entry point: `Translator::translate`, with a bounded LRU cache.

use std::hash::{Hash, Hasher};
use std::num::NonZeroUsize;
use std::sync::Arc;

use parking_lot::Mutex;
use sqlparser::ast::Statement;

use crate::catalog::Catalog;
use crate::error::SqlError;
use crate::plan::{StatementKind, Translated};
use crate::rewrite::Rewriter;
use crate::tokens::Cursor;
use crate::{ddl, dml, parse, session, show, split};

/// Translation context of one session.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    /// Current database (`USE`), if any.
    pub current_db: Option<&'a str>,
    /// Catalog to resolve tables against.
    pub catalog: &'a dyn Catalog,
    /// Schema version (SQLite schema cookie); part of the cache key.
    pub schema_version: u64,
}

/// A cached translation; the key is a hash of (sql, db, schema_version) so a
/// lookup allocates nothing, and the entry repeats them to rule out collisions.
struct Entry {
    sql: String,
    db: Option<String>,
    schema_version: u64,
    result: Arc<Vec<Translated>>,
}

impl Entry {
    fn matches(&self, sql: &str, ctx: &Ctx<'_>) -> bool {
        self.schema_version == ctx.schema_version
            && self.db.as_deref() == ctx.current_db
            && self.sql == sql
    }
}

fn cache_key(sql: &str, ctx: &Ctx<'_>) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    sql.hash(&mut h);
    ctx.current_db.hash(&mut h);
    ctx.schema_version.hash(&mut h);
    h.finish()
}

/// Translates MySQL text to SQLite plans, caching results.
pub struct Translator {
    /// LRU of translations; bounded by `cache_entries` so memory use stays
    /// fixed however many distinct statements clients send.
    cache: Mutex<lru::LruCache<u64, Entry>>,
}

impl std::fmt::Debug for Translator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Translator")
            .field("cached", &self.cache.lock().len())
            .finish()
    }
}

/// Statements longer than this are not cached (bulk INSERTs from dumps are
/// rarely repeated and would evict the hot set).
const MAX_CACHED_SQL_LEN: usize = 16 * 1024;

impl Translator {
    /// A translator caching at most `cache_entries` texts (minimum 1).
    pub fn new(cache_entries: usize) -> Self {
        let cap = NonZeroUsize::new(cache_entries.max(1)).unwrap_or(NonZeroUsize::MIN);
        Translator {
            cache: Mutex::new(lru::LruCache::new(cap)),
        }
    }

    /// Translates every statement of `sql`. An error in the first statement
    /// is returned as `Err`; an error in a later one ends the list with a
    /// `StatementKind::Failed` entry so the statements before it still run.
    pub fn translate(&self, sql: &str, ctx: &Ctx<'_>) -> Result<Arc<Vec<Translated>>, SqlError> {
        let cacheable = sql.len() <= MAX_CACHED_SQL_LEN;
        let key = cache_key(sql, ctx);
        if cacheable {
            if let Some(hit) = self.cache.lock().get(&key) {
                if hit.matches(sql, ctx) {
                    return Ok(hit.result.clone());
                }
            }
        }
        let mut out = Vec::new();
        for (i, item) in translate_each(sql, ctx).into_iter().enumerate() {
            match item {
                Ok(t) => out.push(t),
                Err(e) if i == 0 => return Err(e),
                Err(e) => {
                    out.push(Translated {
                        mysql: String::new(),
                        kind: StatementKind::Failed(e),
                        param_count: 0,
                    });
                    break;
                }
            }
        }
        let out = Arc::new(out);
        if cacheable {
            let entry = Entry {
                sql: sql.to_string(),
                db: ctx.current_db.map(str::to_string),
                schema_version: ctx.schema_version,
                result: out.clone(),
            };
            self.cache.lock().put(key, entry);
        }
        Ok(out)
    }

    /// Number of cached translations.
    pub fn cached(&self) -> usize {
        self.cache.lock().len()
    }
}

/// Translates each statement of a multi-statement text independently, so
/// statement 3's error does not prevent running statements 1 and 2.
pub fn translate_each(sql: &str, ctx: &Ctx<'_>) -> Vec<Result<Translated, SqlError>> {
    let expanded = split::expand_executable_comments(sql);
    let pieces = split::split_statements(&expanded);
    if pieces.is_empty() {
        return vec![Ok(Translated {
            mysql: String::new(),
            kind: StatementKind::Noop,
            param_count: 0,
        })];
    }
    pieces
        .into_iter()
        .map(|p| translate_statement(p, ctx))
        .collect()
}

/// Translates exactly one statement (no `;` splitting).
pub fn translate_statement(sql: &str, ctx: &Ctx<'_>) -> Result<Translated, SqlError> {
    let (kind, param_count) = classify(sql, ctx)?;
    Ok(Translated {
        mysql: sql.to_string(),
        kind,
        param_count,
    })
}

fn classify(sql: &str, ctx: &Ctx<'_>) -> Result<(StatementKind, usize), SqlError> {
    if split::is_only_comments(sql) {
        return Ok((StatementKind::Noop, 0));
    }
    let mut cur = Cursor::new(sql)?;
    if let Some(r) = session::try_session(&mut cur, ctx.current_db) {
        return r;
    }
    if let Some(r) = show::try_show(&mut cur, ctx) {
        return r.map(|k| (k, 0));
    }
    let statement = parse::parse_one(sql)?;
    translate_ast(statement, sql, ctx)
}

fn translate_ast(
    statement: Statement,
    sql: &str,
    ctx: &Ctx<'_>,
) -> Result<(StatementKind, usize), SqlError> {
    match statement {
        Statement::Query(mut query) => {
            crate::projection::name_unaliased_expressions(&mut query, sql);
            let mut rw = Rewriter::new(ctx.current_db, &query);
            rw.run(&mut query)?;
            let found_rows_sql = rw.flags.calc_found_rows.then(|| {
                let mut unlimited = query.clone();
                unlimited.limit_clause = None;
                unlimited.order_by = None;
                format!("SELECT count(*) FROM ({unlimited})")
            });
            let kind = StatementKind::Query {
                sql: query.to_string(),
                locking: rw.flags.locking,
                found_rows_sql,
            };
            Ok((kind, rw.flags.params))
        }
        Statement::Insert(insert) => dml::insert(insert, ctx),
        Statement::Update(update) => dml::update(update, ctx),
        Statement::Delete(delete) => dml::delete(delete, ctx),
        other => ddl::translate(other, ctx).map(|k| (k, 0)),
    }
}
