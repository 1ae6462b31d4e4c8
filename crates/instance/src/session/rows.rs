//! Result sets: running a SQLite query and streaming its rows to the client with MySQL column
//! definitions. Column shapes are cached per statement text and schema epoch.

use std::collections::HashMap;
use std::sync::Arc;

use borealis_protocol::{ColumnDef, ColumnFlags, ColumnType, ResultSink, Value};
use borealis_sql::{type_info, MysqlType, StatementKind, Translated, TypeInfo};
use rusqlite::types::ValueRef;

use super::Session;
use crate::catalog::SessionCatalog;
use crate::errors::{err, ExecResult};
use crate::server::Shared;
use crate::values;

/// One result column: its definition and type, or `None` when it is an expression whose type
/// is decided by the first row.
#[derive(Clone)]
pub struct ColumnShape {
    def: ColumnDef,
    ty: Option<TypeInfo>,
}

/// The result columns of one statement. When every column's type is known up front (the usual
/// case: columns straight from tables), the definitions are resolved once and reused as they
/// are on every execution — no per-query copies on the hot path.
pub struct Shape {
    cols: Vec<ColumnShape>,
    typed: Option<(Vec<ColumnDef>, Vec<TypeInfo>)>,
}

impl Shape {
    fn new(cols: Vec<ColumnShape>) -> Shape {
        let typed = cols
            .iter()
            .map(|c| c.ty.clone().map(|t| (c.def.clone(), t)))
            .collect::<Option<Vec<_>>>()
            .map(|pairs| pairs.into_iter().unzip());
        Shape { cols, typed }
    }

    fn len(&self) -> usize {
        self.cols.len()
    }

    /// Definitions and types, deciding untyped (expression) columns from the first row.
    fn resolve(&self, first: Option<&rusqlite::Row<'_>>) -> (Vec<ColumnDef>, Vec<TypeInfo>) {
        self.cols
            .iter()
            .enumerate()
            .map(|(i, c)| match &c.ty {
                Some(ti) => (c.def.clone(), ti.clone()),
                None => {
                    let ti = first
                        .map(|r| {
                            r.get_ref(i)
                                .map(type_of_value)
                                .unwrap_or_else(|_| text_type())
                        })
                        .unwrap_or_else(text_type);
                    let mut def = c.def.clone();
                    fill_def(&mut def, &ti);
                    (def, ti)
                }
            })
            .unzip()
    }
}

/// Column shapes per SQLite statement text; cleared when the schema epoch moves.
#[derive(Default)]
pub struct ShapeCache {
    epoch: u64,
    shapes: HashMap<String, Arc<Shape>>,
}

/// Bound on cached shapes per session (a session runs a bounded working set of statements).
const SHAPE_CACHE_ENTRIES: usize = 512;

pub fn bind(stmt: &mut rusqlite::Statement<'_>, params: &[Value]) -> ExecResult<()> {
    let expected = stmt.parameter_count();
    if expected != params.len() {
        return Err(err(
            1210,
            "HY000",
            format!(
                "Incorrect arguments to EXECUTE: {} given, {expected} expected",
                params.len()
            ),
        ));
    }
    for (i, p) in params.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, values::param_to_sqlite(p))?;
    }
    Ok(())
}

/// Runs a query and sends its rows.
pub fn query(
    s: &mut Session,
    sql: &str,
    params: &[Value],
    out: &mut ResultSink<'_>,
    more: bool,
    found_rows_sql: Option<&str>,
) -> ExecResult<()> {
    let epoch = s.shared.epoch();
    let binary = out.is_binary();
    let conn = s.engine.conn();
    let mut stmt = conn.prepare_cached(sql).map_err(|e| s.sqlite_error(e))?;
    bind(&mut stmt, params)?;
    let shape = shape_for(&mut s.shapes, &s.shared, conn, epoch, sql, &stmt);
    let ncols = shape.len();
    let mut rows = stmt.raw_query();
    let first = rows.next().map_err(|e| s.sqlite_error(e))?;
    let resolved;
    let (defs, types): (&[ColumnDef], &[TypeInfo]) = match &shape.typed {
        Some((defs, types)) => (defs, types),
        None => {
            resolved = shape.resolve(first);
            (&resolved.0, &resolved.1)
        }
    };
    out.begin_rows(defs)?;
    let mut buf: Vec<Value> = Vec::with_capacity(ncols);
    let mut sent: u64 = 0;
    if let Some(row) = first {
        write_row(row, types, binary, &mut buf, out)?;
        sent += 1;
    }
    if sent > 0 {
        loop {
            match rows.next() {
                Ok(Some(row)) => {
                    write_row(row, types, binary, &mut buf, out)?;
                    sent += 1;
                }
                Ok(None) => break,
                Err(e) => return Err(s.sqlite_error(e)),
            }
        }
    }
    drop(rows);
    drop(stmt);
    let found = match found_rows_sql {
        Some(count_sql) => count_rows(s, count_sql, params)?,
        None => sent,
    };
    s.fctx.set_found_rows(found);
    s.fctx.set_row_count(-1);
    if !s.replaying {
        s.shared
            .status
            .rows_sent
            .fetch_add(sent, std::sync::atomic::Ordering::Relaxed);
    }
    out.end_rows(s.warning_count(), more)?;
    Ok(())
}

/// SQL_CALC_FOUND_ROWS: the rows the query would return without its LIMIT. The count query
/// drops LIMIT (and ORDER BY), whose `?` parameters come last, so it binds a prefix of them.
fn count_rows(s: &Session, count_sql: &str, params: &[Value]) -> ExecResult<u64> {
    let conn = s.engine.conn();
    let mut stmt = conn
        .prepare_cached(count_sql)
        .map_err(|e| s.sqlite_error(e))?;
    let n = stmt.parameter_count().min(params.len());
    bind(&mut stmt, &params[..n])?;
    let mut rows = stmt.raw_query();
    let count: i64 = match rows.next().map_err(|e| s.sqlite_error(e))? {
        Some(row) => row.get(0)?,
        None => 0,
    };
    Ok(u64::try_from(count).unwrap_or(0))
}

fn write_row(
    row: &rusqlite::Row<'_>,
    types: &[TypeInfo],
    binary: bool,
    buf: &mut Vec<Value>,
    out: &mut ResultSink<'_>,
) -> ExecResult<()> {
    buf.clear();
    for (i, ti) in types.iter().enumerate() {
        let v = row.get_ref(i)?;
        buf.push(values::to_mysql(v, ti, binary));
    }
    out.row(buf)?;
    Ok(())
}

fn shape_for(
    cache: &mut ShapeCache,
    shared: &Shared,
    conn: &rusqlite::Connection,
    epoch: u64,
    sql: &str,
    stmt: &rusqlite::Statement<'_>,
) -> Arc<Shape> {
    if cache.epoch != epoch || cache.shapes.len() >= SHAPE_CACHE_ENTRIES {
        cache.shapes.clear();
        cache.epoch = epoch;
    }
    if let Some(shape) = cache.shapes.get(sql) {
        if shape.len() == stmt.column_count() {
            return shape.clone();
        }
    }
    let catalog = SessionCatalog::new(conn, &shared.catalog, epoch);
    let shape = Arc::new(Shape::new(compute_shape(stmt, &catalog)));
    cache.shapes.insert(sql.to_string(), shape.clone());
    shape
}

/// Derives MySQL column definitions: from the catalog when a column comes straight from a
/// table, else from SQLite's declared type, else (expressions) from the first row.
fn compute_shape(stmt: &rusqlite::Statement<'_>, catalog: &SessionCatalog<'_>) -> Vec<ColumnShape> {
    let decls: Vec<Option<String>> = stmt
        .columns()
        .map(|c| c.decl_type().map(str::to_string))
        .collect();
    stmt.columns_with_metadata()
        .enumerate()
        .map(|(i, meta)| {
            let name = meta.name().to_string();
            let mut def = blank_def(&name);
            let mut ty = None;
            if let (Some(table), Some(origin)) = (meta.table_name(), meta.origin_name()) {
                let (db, tbl) = table.split_once('.').unwrap_or(("", table));
                def.schema = db.to_string();
                def.table = tbl.to_string();
                def.org_table = tbl.to_string();
                def.org_name = origin.to_string();
                if let Some(col) = catalog
                    .table(db, tbl)
                    .and_then(|t| t.column(origin).cloned())
                {
                    let ti = type_info(&col.column_type);
                    if !col.nullable {
                        def.flags |= ColumnFlags::NOT_NULL_FLAG;
                    }
                    ty = Some(ti);
                }
            }
            if ty.is_none() {
                ty = decls.get(i).cloned().flatten().map(|d| type_info(&d));
            }
            if let Some(ti) = &ty {
                fill_def(&mut def, ti);
            }
            ColumnShape { def, ty }
        })
        .collect()
}

use borealis_sql::Catalog as _;

fn blank_def(name: &str) -> ColumnDef {
    ColumnDef {
        schema: String::new(),
        table: String::new(),
        org_table: String::new(),
        name: name.to_string(),
        org_name: name.to_string(),
        charset: 255,
        length: 0,
        column_type: ColumnType::MYSQL_TYPE_VAR_STRING,
        flags: ColumnFlags::empty(),
        decimals: 0,
    }
}

fn text_type() -> TypeInfo {
    type_info("varchar(255)")
}

fn type_of_value(v: ValueRef<'_>) -> TypeInfo {
    match v {
        ValueRef::Integer(_) => type_info("bigint"),
        ValueRef::Real(_) => type_info("double"),
        ValueRef::Blob(_) => type_info("longblob"),
        ValueRef::Text(_) | ValueRef::Null => text_type(),
    }
}

/// Fills the type-dependent parts of a column definition.
pub fn fill_def(def: &mut ColumnDef, ti: &TypeInfo) {
    use ColumnType as T;
    let (ct, extra) = match ti.column_type {
        MysqlType::Tiny => (T::MYSQL_TYPE_TINY, ColumnFlags::NUM_FLAG),
        MysqlType::Short => (T::MYSQL_TYPE_SHORT, ColumnFlags::NUM_FLAG),
        MysqlType::Int24 => (T::MYSQL_TYPE_INT24, ColumnFlags::NUM_FLAG),
        MysqlType::Long => (T::MYSQL_TYPE_LONG, ColumnFlags::NUM_FLAG),
        MysqlType::LongLong => (T::MYSQL_TYPE_LONGLONG, ColumnFlags::NUM_FLAG),
        MysqlType::Float => (T::MYSQL_TYPE_FLOAT, ColumnFlags::NUM_FLAG),
        MysqlType::Double => (T::MYSQL_TYPE_DOUBLE, ColumnFlags::NUM_FLAG),
        MysqlType::NewDecimal => (T::MYSQL_TYPE_NEWDECIMAL, ColumnFlags::NUM_FLAG),
        MysqlType::Date => (T::MYSQL_TYPE_DATE, ColumnFlags::BINARY_FLAG),
        MysqlType::DateTime => (T::MYSQL_TYPE_DATETIME, ColumnFlags::BINARY_FLAG),
        MysqlType::Timestamp => (T::MYSQL_TYPE_TIMESTAMP, ColumnFlags::BINARY_FLAG),
        MysqlType::Time => (T::MYSQL_TYPE_TIME, ColumnFlags::BINARY_FLAG),
        MysqlType::Year => (
            T::MYSQL_TYPE_YEAR,
            ColumnFlags::NUM_FLAG | ColumnFlags::UNSIGNED_FLAG,
        ),
        MysqlType::VarString => (T::MYSQL_TYPE_VAR_STRING, ColumnFlags::empty()),
        MysqlType::String => (T::MYSQL_TYPE_STRING, ColumnFlags::empty()),
        MysqlType::Blob => (T::MYSQL_TYPE_BLOB, ColumnFlags::BLOB_FLAG),
        MysqlType::Json => (T::MYSQL_TYPE_JSON, ColumnFlags::BLOB_FLAG),
        MysqlType::Enum => (T::MYSQL_TYPE_STRING, ColumnFlags::ENUM_FLAG),
        MysqlType::Set => (T::MYSQL_TYPE_STRING, ColumnFlags::SET_FLAG),
        MysqlType::Bit => (T::MYSQL_TYPE_BIT, ColumnFlags::UNSIGNED_FLAG),
        MysqlType::Null => (T::MYSQL_TYPE_NULL, ColumnFlags::BINARY_FLAG),
    };
    def.column_type = ct;
    def.flags |= extra;
    if ti.unsigned {
        def.flags |= ColumnFlags::UNSIGNED_FLAG;
    }
    if ti.binary || !ti.is_text {
        def.flags |= ColumnFlags::BINARY_FLAG;
        def.charset = 63;
    } else {
        def.charset = 255;
    }
    def.length = if ti.is_text {
        ti.length.saturating_mul(4)
    } else {
        ti.length
    };
    def.decimals = match ti.column_type {
        MysqlType::Float | MysqlType::Double if ti.decimals == 0 => 31,
        MysqlType::VarString | MysqlType::String | MysqlType::Blob | MysqlType::Json => 0,
        _ => ti.decimals,
    };
}

/// Column definitions a COM_STMT_PREPARE answer announces (expressions as VARCHAR).
pub fn prepared_columns(s: &mut Session, t: &Translated) -> ExecResult<Vec<ColumnDef>> {
    let StatementKind::Query { sql, .. } = &t.kind else {
        return Ok(Vec::new());
    };
    let epoch = s.shared.epoch();
    let conn = s.engine.conn();
    let stmt = conn.prepare_cached(sql).map_err(|e| s.sqlite_error(e))?;
    let shape = shape_for(&mut s.shapes, &s.shared, conn, epoch, sql, &stmt);
    Ok(shape
        .cols
        .iter()
        .map(|c| {
            let mut def = c.def.clone();
            if c.ty.is_none() {
                fill_def(&mut def, &text_type());
            }
            def
        })
        .collect())
}

/// COM_FIELD_LIST: the columns of a table.
pub fn field_list(s: &mut Session, db: &str, table: &str) -> ExecResult<Vec<ColumnDef>> {
    let meta = s
        .catalog()
        .table(db, table)
        .ok_or_else(|| err(1146, "42S02", format!("Table '{db}.{table}' doesn't exist")))?;
    Ok(meta
        .columns
        .iter()
        .map(|c| {
            let mut def = blank_def(&c.name);
            def.schema = db.to_string();
            def.table = table.to_string();
            def.org_table = table.to_string();
            fill_def(&mut def, &type_info(&c.column_type));
            def
        })
        .collect())
}

impl Session {
    pub(super) fn prepared_columns(&mut self, t: &Translated) -> ExecResult<Vec<ColumnDef>> {
        prepared_columns(self, t)
    }
}
