//! Table metadata, the `Catalog` trait, and the SQL that reads and maintains
//! the catalog rows in the `information_schema.*` SQLite tables.

use std::sync::Arc;

use crate::names::{quote_literal, quote_opt, sqlite_table};
use crate::types::{canonical_base, column_type_text, parse_type};

/// Read access to table metadata. The instance implements it by running
/// [`TABLE_META_QUERIES`] and calling [`TableMeta::from_rows`].
pub trait Catalog {
    /// Metadata of `db.name`, or `None` when the table does not exist.
    fn table(&self, db: &str, name: &str) -> Option<Arc<TableMeta>>;
    /// True when database `db` exists.
    fn database_exists(&self, db: &str) -> bool;
}

/// A catalog that knows no tables and every database (for tests and tools).
#[derive(Debug, Default, Clone, Copy)]
pub struct EmptyCatalog;

impl Catalog for EmptyCatalog {
    fn table(&self, _db: &str, _name: &str) -> Option<Arc<TableMeta>> {
        None
    }
    fn database_exists(&self, _db: &str) -> bool {
        true
    }
}

/// One column of a table, as MySQL describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ColumnMeta {
    /// Column name.
    pub name: String,
    /// MySQL `COLUMN_TYPE`, e.g. `int unsigned`, `varchar(255)`.
    pub column_type: String,
    /// MySQL `DATA_TYPE`, e.g. `int`.
    pub data_type: String,
    /// NULL allowed.
    pub nullable: bool,
    /// Default as MySQL shows it (`None` = no default / NULL default).
    pub default: Option<String>,
    /// Default is an expression such as `CURRENT_TIMESTAMP`.
    pub default_is_expression: bool,
    /// AUTO_INCREMENT column.
    pub auto_increment: bool,
    /// `ON UPDATE CURRENT_TIMESTAMP`.
    pub on_update_current_timestamp: bool,
    /// Column comment.
    pub comment: String,
    /// Character set for text columns.
    pub charset: Option<String>,
    /// Collation for text columns.
    pub collation: Option<String>,
    /// CHARACTER_MAXIMUM_LENGTH.
    pub char_max_length: Option<u64>,
    /// NUMERIC_PRECISION.
    pub numeric_precision: Option<u64>,
    /// NUMERIC_SCALE.
    pub numeric_scale: Option<u64>,
    /// DATETIME_PRECISION.
    pub datetime_precision: Option<u64>,
    /// UNSIGNED.
    pub unsigned: bool,
    /// ZEROFILL.
    pub zerofill: bool,
}

/// A secondary index (the primary key is [`TableMeta::primary_key`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexMeta {
    /// MySQL index name.
    pub name: String,
    /// UNIQUE index.
    pub unique: bool,
    /// Indexed columns in order.
    pub columns: Vec<String>,
    /// Prefix lengths per column (recorded, not enforced).
    pub sub_parts: Vec<Option<u64>>,
    /// `BTREE` or `FULLTEXT` (FULLTEXT is a plain SQLite index).
    pub index_type: String,
    /// Index comment.
    pub comment: String,
}

/// A FOREIGN KEY constraint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ForeignKeyMeta {
    /// Constraint name.
    pub name: String,
    /// Referencing columns.
    pub columns: Vec<String>,
    /// Referenced database.
    pub ref_db: String,
    /// Referenced table.
    pub ref_table: String,
    /// Referenced columns.
    pub ref_columns: Vec<String>,
    /// `RESTRICT`, `CASCADE`, `SET NULL`, `NO ACTION`, `SET DEFAULT`.
    pub on_delete: String,
    /// Same values as `on_delete`.
    pub on_update: String,
}

/// Everything the translator knows about a table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableMeta {
    /// Database.
    pub db: String,
    /// Table name.
    pub name: String,
    /// Columns in ordinal order.
    pub columns: Vec<ColumnMeta>,
    /// Primary key columns (empty: none).
    pub primary_key: Vec<String>,
    /// Secondary indexes.
    pub indexes: Vec<IndexMeta>,
    /// Foreign keys.
    pub foreign_keys: Vec<ForeignKeyMeta>,
    /// Engine name (recorded only).
    pub engine: String,
    /// Default charset.
    pub charset: String,
    /// Default collation.
    pub collation: String,
    /// Table comment.
    pub comment: String,
    /// AUTO_INCREMENT column, if any.
    pub auto_increment: Option<String>,
    /// `AUTO_INCREMENT=n` table option, if given.
    pub auto_increment_start: Option<u64>,
}

impl TableMeta {
    /// Column by name (case-insensitive, like MySQL column names).
    pub fn column(&self, name: &str) -> Option<&ColumnMeta> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// True when the primary key is one integer column, which becomes
    /// SQLite's rowid alias (`INTEGER PRIMARY KEY`).
    pub fn rowid_alias(&self) -> Option<&str> {
        match self.primary_key.as_slice() {
            [only] => self
                .column(only)
                .filter(|c| crate::types::is_integer_type(&c.column_type))
                .map(|c| c.name.as_str()),
            _ => None,
        }
    }

    /// Builds table metadata from the rows of [`TABLE_META_QUERIES`]
    /// (each value as text, `None` for NULL):
    /// - `tables_row`: `ENGINE, TABLE_COLLATION, TABLE_COMMENT, AUTO_INCREMENT`
    /// - `columns`: `COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA,
    ///   COLUMN_COMMENT, CHARACTER_SET_NAME, COLLATION_NAME`
    /// - `statistics`: `INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE, INDEX_COMMENT`
    /// - `fks`: `CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA,
    ///   REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME, UPDATE_RULE, DELETE_RULE`
    pub fn from_rows(
        db: &str,
        name: &str,
        tables_row: &[Option<String>],
        columns: &[Vec<Option<String>>],
        statistics: &[Vec<Option<String>>],
        fks: &[Vec<Option<String>>],
    ) -> TableMeta {
        let cell = |row: &[Option<String>], i: usize| row.get(i).cloned().flatten();
        let text = |row: &[Option<String>], i: usize| cell(row, i).unwrap_or_default();
        let collation = text(tables_row, 1);
        let mut meta = TableMeta {
            db: db.to_string(),
            name: name.to_string(),
            engine: text(tables_row, 0),
            charset: collation.split('_').next().unwrap_or_default().to_string(),
            collation,
            comment: text(tables_row, 2),
            auto_increment_start: cell(tables_row, 3).and_then(|v| v.parse().ok()),
            ..TableMeta::default()
        };
        for row in columns {
            let extra = text(row, 4).to_ascii_lowercase();
            let mut col = column_from_type(&text(row, 0), &text(row, 1));
            col.nullable = text(row, 2).eq_ignore_ascii_case("YES");
            col.default = cell(row, 3);
            col.default_is_expression = extra.contains("default_generated");
            col.auto_increment = extra.contains("auto_increment");
            col.on_update_current_timestamp = extra.contains("on update");
            col.comment = text(row, 5);
            col.charset = cell(row, 6);
            col.collation = cell(row, 7);
            if col.auto_increment {
                meta.auto_increment = Some(col.name.clone());
            }
            meta.columns.push(col);
        }
        for row in statistics {
            let index_name = text(row, 0);
            let column = text(row, 2);
            if index_name == "PRIMARY" {
                meta.primary_key.push(column);
                continue;
            }
            let sub_part = cell(row, 3).and_then(|v| v.parse().ok());
            match meta.indexes.iter_mut().find(|i| i.name == index_name) {
                Some(index) => {
                    index.columns.push(column);
                    index.sub_parts.push(sub_part);
                }
                None => meta.indexes.push(IndexMeta {
                    name: index_name,
                    unique: text(row, 1) == "0",
                    columns: vec![column],
                    sub_parts: vec![sub_part],
                    index_type: text(row, 4),
                    comment: text(row, 5),
                }),
            }
        }
        for row in fks {
            let fk_name = text(row, 0);
            let fk = match meta.foreign_keys.iter().position(|f| f.name == fk_name) {
                Some(i) => &mut meta.foreign_keys[i],
                None => {
                    meta.foreign_keys.push(ForeignKeyMeta {
                        name: fk_name,
                        ref_db: text(row, 2),
                        ref_table: text(row, 3),
                        on_update: text(row, 5),
                        on_delete: text(row, 6),
                        ..ForeignKeyMeta::default()
                    });
                    let last = meta.foreign_keys.len() - 1;
                    &mut meta.foreign_keys[last]
                }
            };
            fk.columns.push(text(row, 1));
            fk.ref_columns.push(text(row, 4));
        }
        meta
    }
}

/// Builds a column with the type-derived fields filled in from a type text.
pub fn column_from_type(name: &str, declared_type: &str) -> ColumnMeta {
    let column_type = column_type_text(declared_type);
    let p = parse_type(&column_type);
    let data_type = canonical_base(&p.base).to_string();
    let arg = |i: usize| p.args.get(i).and_then(|a| a.parse::<u64>().ok());
    let mut col = ColumnMeta {
        name: name.to_string(),
        unsigned: p.unsigned,
        zerofill: p.zerofill,
        nullable: true,
        ..ColumnMeta::default()
    };
    match data_type.as_str() {
        "tinyint" => col.numeric_precision = Some(3),
        "smallint" => col.numeric_precision = Some(5),
        "mediumint" => col.numeric_precision = Some(7),
        "int" => col.numeric_precision = Some(10),
        "bigint" => col.numeric_precision = Some(if p.unsigned { 20 } else { 19 }),
        "decimal" => {
            col.numeric_precision = arg(0);
            col.numeric_scale = arg(1);
        }
        "float" => col.numeric_precision = Some(12),
        "double" => col.numeric_precision = Some(22),
        "bit" => col.numeric_precision = arg(0),
        "datetime" | "timestamp" | "time" => col.datetime_precision = Some(arg(0).unwrap_or(0)),
        "char" | "varchar" | "binary" | "varbinary" => col.char_max_length = arg(0),
        "tinytext" | "tinyblob" => col.char_max_length = Some(255),
        "text" | "blob" => col.char_max_length = Some(65535),
        "mediumtext" | "mediumblob" => col.char_max_length = Some(16_777_215),
        "longtext" | "longblob" => col.char_max_length = Some(4_294_967_295),
        "enum" | "set" => {
            col.char_max_length = crate::types::enum_members(&column_type)
                .iter()
                .map(|m| m.chars().count() as u64)
                .max();
        }
        _ => {}
    }
    if matches!(
        data_type.as_str(),
        "tinyint" | "smallint" | "mediumint" | "int" | "bigint" | "decimal" | "float" | "double"
    ) {
        col.numeric_scale = col.numeric_scale.or(Some(0));
        if matches!(data_type.as_str(), "float" | "double") {
            col.numeric_scale = None;
        }
    }
    col.column_type = column_type;
    col.data_type = data_type;
    col
}

/// Queries the instance runs to build a [`TableMeta`] (params `?1` = db,
/// `?2` = table), in the order `from_rows` takes them: TABLES row, COLUMNS,
/// STATISTICS, foreign keys.
pub const TABLE_META_QUERIES: [&str; 4] = [
    "SELECT ENGINE, TABLE_COLLATION, TABLE_COMMENT, AUTO_INCREMENT FROM \"information_schema.TABLES\" WHERE TABLE_SCHEMA = ?1 AND TABLE_NAME = ?2",
    "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, COLUMN_COMMENT, CHARACTER_SET_NAME, COLLATION_NAME FROM \"information_schema.COLUMNS\" WHERE TABLE_SCHEMA = ?1 AND TABLE_NAME = ?2 ORDER BY ORDINAL_POSITION",
    "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE, INDEX_COMMENT FROM \"information_schema.STATISTICS\" WHERE TABLE_SCHEMA = ?1 AND TABLE_NAME = ?2 ORDER BY rowid",
    "SELECT k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE FROM \"information_schema.KEY_COLUMN_USAGE\" k JOIN \"information_schema.REFERENTIAL_CONSTRAINTS\" r ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.TABLE_NAME = k.TABLE_NAME AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME WHERE k.TABLE_SCHEMA = ?1 AND k.TABLE_NAME = ?2 AND k.REFERENCED_TABLE_NAME IS NOT NULL ORDER BY k.rowid",
];

/// Query listing the tables of a database (`?1` = db): one column TABLE_NAME.
pub const LIST_TABLES_QUERY: &str =
    "SELECT TABLE_NAME FROM \"information_schema.TABLES\" WHERE TABLE_SCHEMA = ?1 ORDER BY TABLE_NAME";

/// Query telling whether a database exists (`?1` = db): returns a row if so.
pub const DATABASE_EXISTS_QUERY: &str =
    "SELECT 1 FROM \"information_schema.SCHEMATA\" WHERE SCHEMA_NAME = ?1";

fn num(v: Option<u64>) -> String {
    v.map_or_else(|| "NULL".to_string(), |v| v.to_string())
}

/// `EXTRA` column text for a column, as MySQL 8 shows it.
pub fn column_extra(col: &ColumnMeta) -> String {
    let mut parts = Vec::new();
    if col.auto_increment {
        parts.push("auto_increment");
    }
    if col.default_is_expression {
        parts.push("DEFAULT_GENERATED");
    }
    if col.on_update_current_timestamp {
        parts.push("on update CURRENT_TIMESTAMP");
    }
    parts.join(" ")
}

fn column_key(meta: &TableMeta, col: &ColumnMeta) -> &'static str {
    let first_of = |cols: &[String]| {
        cols.first()
            .is_some_and(|c| c.eq_ignore_ascii_case(&col.name))
    };
    if first_of(&meta.primary_key) {
        "PRI"
    } else if meta
        .indexes
        .iter()
        .any(|i| i.unique && i.columns.len() == 1 && first_of(&i.columns))
    {
        "UNI"
    } else if meta.indexes.iter().any(|i| first_of(&i.columns)) {
        "MUL"
    } else {
        ""
    }
}

/// Statements inserting the catalog rows describing `meta` (TABLES, COLUMNS,
/// STATISTICS, KEY_COLUMN_USAGE, REFERENTIAL_CONSTRAINTS).
pub fn catalog_insert_statements(meta: &TableMeta) -> Vec<String> {
    let db = quote_literal(&meta.db);
    let t = quote_literal(&meta.name);
    let mut out = vec![format!(
        "INSERT INTO \"information_schema.TABLES\" (TABLE_CATALOG, TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, ENGINE, VERSION, ROW_FORMAT, TABLE_ROWS, AVG_ROW_LENGTH, DATA_LENGTH, MAX_DATA_LENGTH, INDEX_LENGTH, DATA_FREE, AUTO_INCREMENT, CREATE_TIME, UPDATE_TIME, CHECK_TIME, TABLE_COLLATION, CHECKSUM, CREATE_OPTIONS, TABLE_COMMENT) VALUES ('def', {db}, {t}, 'BASE TABLE', {}, 10, 'Dynamic', 0, 0, 16384, 0, 0, 0, {}, strftime('%Y-%m-%d %H:%M:%S','now'), NULL, NULL, {}, NULL, '', {})",
        quote_literal(&meta.engine),
        num(meta.auto_increment_start.or(meta.auto_increment.as_ref().map(|_| 1))),
        quote_literal(&meta.collation),
        quote_literal(&meta.comment),
    )];
    for (i, col) in meta.columns.iter().enumerate() {
        let octets = col.char_max_length.map(|l| {
            if col.charset.is_some() {
                l.saturating_mul(4)
            } else {
                l
            }
        });
        out.push(format!(
            "INSERT INTO \"information_schema.COLUMNS\" (TABLE_CATALOG, TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, IS_NULLABLE, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, CHARACTER_SET_NAME, COLLATION_NAME, COLUMN_TYPE, COLUMN_KEY, EXTRA, PRIVILEGES, COLUMN_COMMENT, GENERATION_EXPRESSION, SRS_ID) VALUES ('def', {db}, {t}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, 'select,insert,update,references', {}, '', NULL)",
            quote_literal(&col.name),
            i + 1,
            quote_opt(col.default.as_deref()),
            quote_literal(if col.nullable { "YES" } else { "NO" }),
            quote_literal(&col.data_type),
            num(col.char_max_length),
            num(octets),
            num(col.numeric_precision),
            num(col.numeric_scale),
            num(col.datetime_precision),
            quote_opt(col.charset.as_deref()),
            quote_opt(col.collation.as_deref()),
            quote_literal(&col.column_type),
            quote_literal(column_key(meta, col)),
            quote_literal(&column_extra(col)),
            quote_literal(&col.comment),
        ));
    }
    let nullable = |c: &str| meta.column(c).is_some_and(|c| c.nullable);
    let mut stat = |index: &str,
                    unique: bool,
                    cols: &[String],
                    subs: &[Option<u64>],
                    kind: &str,
                    comment: &str| {
        for (seq, c) in cols.iter().enumerate() {
            out.push(format!(
                "INSERT INTO \"information_schema.STATISTICS\" (TABLE_CATALOG, TABLE_SCHEMA, TABLE_NAME, NON_UNIQUE, INDEX_SCHEMA, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, COLLATION, CARDINALITY, SUB_PART, PACKED, NULLABLE, INDEX_TYPE, COMMENT, INDEX_COMMENT, IS_VISIBLE, EXPRESSION) VALUES ('def', {db}, {t}, {}, {db}, {}, {}, {}, 'A', 0, {}, NULL, {}, {}, '', {}, 'YES', NULL)",
                i32::from(!unique),
                quote_literal(index),
                seq + 1,
                quote_literal(c),
                num(subs.get(seq).copied().flatten()),
                quote_literal(if nullable(c) { "YES" } else { "" }),
                quote_literal(kind),
                quote_literal(comment),
            ));
        }
    };
    if !meta.primary_key.is_empty() {
        stat("PRIMARY", true, &meta.primary_key, &[], "BTREE", "");
    }
    for index in &meta.indexes {
        stat(
            &index.name,
            index.unique,
            &index.columns,
            &index.sub_parts,
            &index.index_type,
            &index.comment,
        );
    }
    let mut kcu = |constraint: &str,
                   cols: &[String],
                   refs: Option<(&ForeignKeyMeta, &[String])>| {
        for (pos, c) in cols.iter().enumerate() {
            let (pos_unique, rdb, rt, rc) = match refs {
                Some((fk, rcols)) => (
                    (pos + 1).to_string(),
                    quote_literal(&fk.ref_db),
                    quote_literal(&fk.ref_table),
                    quote_opt(rcols.get(pos).map(String::as_str)),
                ),
                None => ("NULL".into(), "NULL".into(), "NULL".into(), "NULL".into()),
            };
            out.push(format!(
                "INSERT INTO \"information_schema.KEY_COLUMN_USAGE\" (CONSTRAINT_CATALOG, CONSTRAINT_SCHEMA, CONSTRAINT_NAME, TABLE_CATALOG, TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, POSITION_IN_UNIQUE_CONSTRAINT, REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME) VALUES ('def', {db}, {}, 'def', {db}, {t}, {}, {}, {pos_unique}, {rdb}, {rt}, {rc})",
                quote_literal(constraint),
                quote_literal(c),
                pos + 1,
            ));
        }
    };
    if !meta.primary_key.is_empty() {
        kcu("PRIMARY", &meta.primary_key, None);
    }
    for index in meta.indexes.iter().filter(|i| i.unique) {
        kcu(&index.name, &index.columns, None);
    }
    for fk in &meta.foreign_keys {
        kcu(&fk.name, &fk.columns, Some((fk, &fk.ref_columns)));
    }
    for fk in &meta.foreign_keys {
        out.push(format!(
            "INSERT INTO \"information_schema.REFERENTIAL_CONSTRAINTS\" (CONSTRAINT_CATALOG, CONSTRAINT_SCHEMA, CONSTRAINT_NAME, UNIQUE_CONSTRAINT_CATALOG, UNIQUE_CONSTRAINT_SCHEMA, UNIQUE_CONSTRAINT_NAME, MATCH_OPTION, UPDATE_RULE, DELETE_RULE, TABLE_NAME, REFERENCED_TABLE_NAME) VALUES ('def', {db}, {}, 'def', {}, 'PRIMARY', 'NONE', {}, {}, {t}, {})",
            quote_literal(&fk.name),
            quote_literal(&fk.ref_db),
            quote_literal(&fk.on_update),
            quote_literal(&fk.on_delete),
            quote_literal(&fk.ref_table),
        ));
    }
    out
}

/// Statements deleting every catalog row of `db.table`.
pub fn catalog_delete_statements(db: &str, table: &str) -> Vec<String> {
    let db = quote_literal(db);
    let t = quote_literal(table);
    let mut out: Vec<String> = ["TABLES", "COLUMNS", "STATISTICS", "KEY_COLUMN_USAGE"]
        .iter()
        .map(|view| format!("DELETE FROM \"information_schema.{view}\" WHERE TABLE_SCHEMA = {db} AND TABLE_NAME = {t}"))
        .collect();
    out.push(format!(
        "DELETE FROM \"information_schema.REFERENTIAL_CONSTRAINTS\" WHERE CONSTRAINT_SCHEMA = {db} AND TABLE_NAME = {t}"
    ));
    out
}

/// Statements that drop database `db` given its table names: DROP TABLE for
/// each table (indexes go with their tables), catalog row deletions, and the
/// SCHEMATA row.
pub fn drop_database_statements(db: &str, tables: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(tables.len() * 6 + 1);
    for t in tables {
        out.push(format!("DROP TABLE IF EXISTS {}", sqlite_table(db, t)));
        out.extend(catalog_delete_statements(db, t));
    }
    out.push(format!(
        "DELETE FROM \"information_schema.SCHEMATA\" WHERE SCHEMA_NAME = {}",
        quote_literal(db)
    ));
    out
}

/// Statements that create database `db` (its SCHEMATA row).
pub fn create_database_statements(db: &str, charset: &str, collation: &str) -> Vec<String> {
    vec![format!(
        "INSERT INTO \"information_schema.SCHEMATA\" (CATALOG_NAME, SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME, SQL_PATH, DEFAULT_ENCRYPTION) VALUES ('def', {}, {}, {}, NULL, 'NO')",
        quote_literal(db),
        quote_literal(charset),
        quote_literal(collation)
    )]
}
