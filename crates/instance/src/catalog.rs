//! Table metadata for the translator and for result columns, read from the
//! information_schema tables that DDL maintains (the one source of truth), with a cache.

use std::collections::HashMap;
use std::sync::Arc;

use borealis_engine::Engine;
use borealis_sql::{
    Catalog, TableMeta, DATABASE_EXISTS_QUERY, LIST_TABLES_QUERY, TABLE_META_QUERIES,
};
use parking_lot::RwLock;
use rusqlite::{Connection, OptionalExtension};

use crate::errors::{ExecError, ExecResult};

/// Bound on cached table descriptions per instance.
const CACHE_ENTRIES: usize = 4096;

/// Table metadata shared by the sessions of an instance, valid for one schema epoch.
#[derive(Default)]
pub struct CatalogCache {
    /// (schema epoch the entries belong to, entries by lower-cased (db, table)).
    tables: RwLock<(u64, TableMap)>,
}

type TableMap = HashMap<(String, String), Arc<TableMeta>>;

impl CatalogCache {
    pub fn clear(&self) {
        self.tables.write().1.clear();
    }

    fn get(&self, epoch: u64, key: &(String, String)) -> Option<Arc<TableMeta>> {
        let guard = self.tables.read();
        if guard.0 != epoch {
            return None;
        }
        guard.1.get(key).cloned()
    }

    fn put(&self, epoch: u64, key: (String, String), meta: Arc<TableMeta>) {
        let mut guard = self.tables.write();
        if guard.0 != epoch {
            guard.0 = epoch;
            guard.1.clear();
        }
        if guard.1.len() >= CACHE_ENTRIES {
            guard.1.clear();
        }
        guard.1.insert(key, meta);
    }
}

/// The catalog as one session sees it (through its own connection and snapshot).
pub struct SessionCatalog<'a> {
    conn: &'a Connection,
    cache: &'a CatalogCache,
    epoch: u64,
}

impl<'a> SessionCatalog<'a> {
    pub fn new(conn: &'a Connection, cache: &'a CatalogCache, epoch: u64) -> Self {
        SessionCatalog { conn, cache, epoch }
    }

    /// Tables of a database, by name.
    pub fn tables_of(&self, db: &str) -> ExecResult<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(LIST_TABLES_QUERY)?;
        let rows = stmt.query_map([db], |r| r.get::<_, String>(0))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(ExecError::from)
    }

    fn load(&self, db: &str, name: &str) -> rusqlite::Result<Option<TableMeta>> {
        let params = rusqlite::params![db, name];
        let tables_row = {
            let mut stmt = self.conn.prepare_cached(TABLE_META_QUERIES[0])?;
            let n = stmt.column_count();
            stmt.query_row(params, |r| row_strings(r, n)).optional()?
        };
        let Some(tables_row) = tables_row else {
            return Ok(None);
        };
        let mut sets = Vec::with_capacity(3);
        for q in &TABLE_META_QUERIES[1..] {
            let mut stmt = self.conn.prepare_cached(q)?;
            let n = stmt.column_count();
            let rows = stmt.query_map(params, |r| row_strings(r, n))?;
            sets.push(rows.collect::<Result<Vec<_>, _>>()?);
        }
        Ok(Some(TableMeta::from_rows(
            db,
            name,
            &tables_row,
            &sets[0],
            &sets[1],
            &sets[2],
        )))
    }
}

fn row_strings(r: &rusqlite::Row<'_>, n: usize) -> rusqlite::Result<Vec<Option<String>>> {
    (0..n)
        .map(|i| {
            Ok(match r.get_ref(i)? {
                rusqlite::types::ValueRef::Null => None,
                rusqlite::types::ValueRef::Integer(v) => Some(v.to_string()),
                rusqlite::types::ValueRef::Real(v) => Some(v.to_string()),
                rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                    Some(String::from_utf8_lossy(t).into_owned())
                }
            })
        })
        .collect()
}

impl Catalog for SessionCatalog<'_> {
    fn table(&self, db: &str, name: &str) -> Option<Arc<TableMeta>> {
        let key = (db.to_ascii_lowercase(), name.to_ascii_lowercase());
        if let Some(meta) = self.cache.get(self.epoch, &key) {
            return Some(meta);
        }
        match self.load(db, name) {
            Ok(Some(meta)) => {
                let meta = Arc::new(meta);
                // Inside a transaction the snapshot may predate a newer DDL: use, don't share.
                if self.conn.is_autocommit() {
                    self.cache.put(self.epoch, key, meta.clone());
                }
                Some(meta)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(db, table = name, error = %e, "catalog read failed");
                None
            }
        }
    }

    fn database_exists(&self, db: &str) -> bool {
        self.conn
            .prepare_cached(DATABASE_EXISTS_QUERY)
            .and_then(|mut s| s.exists([db]))
            .unwrap_or(false)
    }
}

/// Creates the catalog tables in a new, empty volume (idempotent).
pub fn bootstrap(engine: &Arc<Engine>) -> ExecResult<()> {
    // Instances of a new cluster may bootstrap at once; the losers' commits conflict and
    // then find the catalog made. Bounded: a handful of racing instances.
    let mut attempt = 0;
    loop {
        match bootstrap_once(engine) {
            Err(ExecError::Sqlite(e)) if borealis_engine::is_conflict(&e) && attempt < 16 => {
                attempt += 1
            }
            other => return other,
        }
    }
}

fn bootstrap_once(engine: &Arc<Engine>) -> ExecResult<()> {
    let session = engine
        .open_session()
        .map_err(|e| crate::errors::err(1105, "HY000", format!("cannot open a session: {e}")))?;
    let conn = session.conn();
    let exists: bool = conn
        .prepare("SELECT 1 FROM sqlite_schema WHERE name = 'information_schema.SCHEMATA'")?
        .exists([])?;
    if exists {
        return Ok(());
    }
    conn.execute_batch("BEGIN")?;
    for stmt in borealis_sql::bootstrap_statements() {
        if let Err(e) = conn.execute_batch(&stmt) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e.into());
        }
    }
    conn.execute_batch("COMMIT")?;
    tracing::info!("bootstrapped a new volume");
    Ok(())
}
