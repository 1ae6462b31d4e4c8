//! DDL: CREATE/DROP/ALTER/RENAME/TRUNCATE TABLE, CREATE/DROP INDEX,
//! CREATE/DROP DATABASE, with catalog maintenance statements.

use sqlparser::ast::{
    AlterTableOperation, ColumnDef, ColumnOption, CreateIndex, CreateTable, CreateTableOptions,
    DataType, Expr, Ident, IndexColumn, ObjectName, ObjectType, ReferentialAction, SqlOption,
    Statement, TableConstraint, Value,
};

use crate::catalog::{
    catalog_delete_statements, catalog_insert_statements, column_from_type, ColumnMeta,
    ForeignKeyMeta, IndexMeta, TableMeta,
};
use crate::dml::split_name;
use crate::error::SqlError;
use crate::names::{check_name, quote_ident, quote_literal, sqlite_index, sqlite_table};
use crate::plan::{SkipIf, StatementKind};
use crate::rewrite::Rewriter;
use crate::types::{
    enum_members, is_char_type, is_decimal_type, sqlite_affinity, sqlite_decl, DECIMAL_COLLATION,
};
use crate::Ctx;

type Ddl = Result<StatementKind, SqlError>;

const DEFAULT_CHARSET: &str = "utf8mb4";
const DEFAULT_COLLATION: &str = "utf8mb4_0900_ai_ci";

/// A throwaway table whose creation and removal change the SQLite schema. Nobody can make a
/// table of that name: users cannot create tables in information_schema.
const SCHEMA_CHANGE_MARKER: &str = "\"information_schema.borealis_schema_change\"";

/// A DDL batch. One that changes only catalog rows or data (TRUNCATE, ALTER TABLE …
/// COMMENT / AUTO_INCREMENT) gets a marker table created and dropped, so that it changes the
/// schema cookie like any other DDL: every instance then notices it (its metadata cache and
/// auto-increment counters are keyed by the schema), and transactions that overlap it get
/// 1213, as with a schema change. An empty batch (DROP TABLE IF EXISTS of no table) stays
/// empty.
fn ddl(mut statements: Vec<String>) -> StatementKind {
    if !statements.is_empty() && !statements.iter().any(|s| changes_schema(s)) {
        statements.push(format!("CREATE TABLE {SCHEMA_CHANGE_MARKER} (x)"));
        statements.push(format!("DROP TABLE {SCHEMA_CHANGE_MARKER}"));
    }
    StatementKind::Ddl {
        statements,
        skip_if: None,
    }
}

/// True for a statement that changes the SQLite schema (and so its schema cookie).
fn changes_schema(sql: &str) -> bool {
    let head = sql.trim_start().get(..6).unwrap_or("");
    ["CREATE", "DROP ", "ALTER "]
        .iter()
        .any(|verb| head.len() >= verb.len() && head[..verb.len()].eq_ignore_ascii_case(verb))
}

/// Translates a parsed DDL (or unsupported) statement.
pub(crate) fn translate(statement: Statement, ctx: &Ctx<'_>) -> Ddl {
    match statement {
        Statement::CreateTable(ct) => create_table(ct, ctx),
        Statement::CreateIndex(ci) => create_index(ci, ctx),
        Statement::Drop {
            object_type,
            if_exists,
            names,
            table,
            ..
        } => drop(object_type, if_exists, &names, table.as_ref(), ctx),
        Statement::CreateDatabase {
            db_name,
            if_not_exists,
            ..
        } => create_database(&db_name, if_not_exists),
        Statement::CreateSchema {
            schema_name,
            if_not_exists,
            ..
        } => create_database(
            &ObjectName::from(vec![sqlparser::ast::Ident::new(
                schema_name.to_string().trim_matches('`').to_string(),
            )]),
            if_not_exists,
        ),
        Statement::Truncate(t) => {
            let mut out = Vec::new();
            for target in &t.table_names {
                let (db, table) = split_name(&target.name, ctx)?;
                require(ctx, &db, &table)?;
                out.push(format!("DELETE FROM {}", sqlite_table(&db, &table)));
            }
            Ok(ddl(out))
        }
        Statement::RenameTable(renames) => {
            let mut out = Vec::new();
            for r in &renames {
                let (db, table) = split_name(&r.old_name, ctx)?;
                let (new_db, new_table) = split_name(&r.new_name, ctx)?;
                let meta = require(ctx, &db, &table)?;
                out.extend(rename_statements(&meta, &new_db, &new_table, ctx)?);
            }
            Ok(ddl(out))
        }
        Statement::AlterTable(at) => alter_table(at, ctx),
        Statement::CreateView { .. } => Err(SqlError::unsupported("CREATE VIEW")),
        Statement::CreateTrigger { .. } => Err(SqlError::unsupported("CREATE TRIGGER")),
        Statement::CreateProcedure { .. } => Err(SqlError::unsupported("CREATE PROCEDURE")),
        Statement::CreateFunction { .. } => Err(SqlError::unsupported("CREATE FUNCTION")),
        other => {
            let text = other.to_string();
            let head: String = text
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            Err(SqlError::unsupported(head))
        }
    }
}

fn require(ctx: &Ctx<'_>, db: &str, table: &str) -> Result<std::sync::Arc<TableMeta>, SqlError> {
    ctx.catalog
        .table(db, table)
        .ok_or_else(|| SqlError::NoSuchTable {
            db: db.into(),
            table: table.into(),
        })
}

fn create_database(name: &ObjectName, if_not_exists: bool) -> Ddl {
    let name = name.to_string().trim_matches('`').to_string();
    check_name(&name, true)?;
    Ok(StatementKind::CreateDatabase {
        name,
        if_not_exists,
        charset: DEFAULT_CHARSET.into(),
        collation: DEFAULT_COLLATION.into(),
    })
}

fn ident_of(name: &ObjectName) -> String {
    match name.0.last() {
        Some(sqlparser::ast::ObjectNamePart::Identifier(i)) => i.value.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

fn drop(
    object_type: ObjectType,
    if_exists: bool,
    names: &[ObjectName],
    table: Option<&ObjectName>,
    ctx: &Ctx<'_>,
) -> Ddl {
    match object_type {
        ObjectType::Schema | ObjectType::Database => {
            let name = names
                .first()
                .map(ident_of)
                .ok_or_else(|| SqlError::syntax_at("", 0))?;
            Ok(StatementKind::DropDatabase { name, if_exists })
        }
        ObjectType::Table => {
            let mut out = Vec::new();
            for n in names {
                let (db, t) = split_name(n, ctx)?;
                if ctx.catalog.table(&db, &t).is_none() {
                    if if_exists {
                        continue;
                    }
                    return Err(SqlError::UnknownTable { db, table: t });
                }
                out.push(format!("DROP TABLE IF EXISTS {}", sqlite_table(&db, &t)));
                out.extend(catalog_delete_statements(&db, &t));
            }
            Ok(ddl(out))
        }
        ObjectType::Index => {
            let table =
                table.ok_or_else(|| SqlError::unsupported("DROP INDEX without ON table"))?;
            let (db, t) = split_name(table, ctx)?;
            let mut meta = (*require(ctx, &db, &t)?).clone();
            let index = names.first().map(ident_of).unwrap_or_default();
            let mut out = drop_index(&mut meta, &index)?;
            out.extend(recatalog(&meta));
            Ok(ddl(out))
        }
        // Views cannot exist (CREATE VIEW is unsupported), so IF EXISTS is a no-op.
        ObjectType::View if if_exists => Ok(ddl(Vec::new())),
        ObjectType::View => Err(SqlError::unsupported("DROP VIEW")),
        other => Err(SqlError::unsupported(format!("DROP {other}"))),
    }
}

fn drop_index(meta: &mut TableMeta, index: &str) -> Result<Vec<String>, SqlError> {
    if index.eq_ignore_ascii_case("PRIMARY") {
        return Err(SqlError::unsupported("DROP PRIMARY KEY"));
    }
    let pos = meta
        .indexes
        .iter()
        .position(|i| i.name.eq_ignore_ascii_case(index))
        .ok_or_else(|| SqlError::CantDropKey(index.to_string()))?;
    let removed = meta.indexes.remove(pos);
    Ok(vec![format!(
        "DROP INDEX IF EXISTS {}",
        sqlite_index(&meta.db, &meta.name, &removed.name)
    )])
}

/// Catalog rows replaced by those of `meta`.
fn recatalog(meta: &TableMeta) -> Vec<String> {
    let mut out = catalog_delete_statements(&meta.db, &meta.name);
    out.extend(catalog_insert_statements(meta));
    out
}

fn expr_text(e: &Expr) -> String {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
            Value::Number(n, _) => n.clone(),
            Value::SingleQuotedByteStringLiteral(bits) => {
                u64::from_str_radix(bits, 2).map_or_else(|_| bits.clone(), |n| n.to_string())
            }
            Value::Boolean(b) => {
                if *b {
                    "1".into()
                } else {
                    "0".into()
                }
            }
            other => other.to_string(),
        },
        Expr::UnaryOp {
            op: sqlparser::ast::UnaryOperator::Minus,
            expr,
        } => format!("-{}", expr_text(expr)),
        other => other.to_string(),
    }
}

fn is_now_expr(e: &Expr) -> bool {
    let t = e.to_string().to_ascii_uppercase();
    let head = t.split('(').next().unwrap_or("").trim();
    matches!(
        head,
        "CURRENT_TIMESTAMP" | "NOW" | "LOCALTIMESTAMP" | "LOCALTIME"
    )
}

/// Column-level extras that become table-level pieces.
#[derive(Default)]
struct ColumnExtras {
    primary: bool,
    unique: bool,
    checks: Vec<String>,
}

fn column_meta(
    def: &ColumnDef,
    table_charset: &str,
    table_collation: &str,
    ctx: &Ctx<'_>,
) -> Result<(ColumnMeta, ColumnExtras), SqlError> {
    let mut col = column_from_type(&def.name.value, &def.data_type.to_string());
    let mut extras = ColumnExtras::default();
    let mut binary_attr = false;
    for opt in &def.options {
        match &opt.option {
            ColumnOption::Null => col.nullable = true,
            ColumnOption::NotNull => col.nullable = false,
            ColumnOption::Default(e) => {
                if matches!(e, Expr::Value(v) if v.value == Value::Null) {
                    col.default = None;
                } else if is_now_expr(e) {
                    col.default = Some("CURRENT_TIMESTAMP".into());
                    col.default_is_expression = true;
                } else if matches!(e, Expr::Value(_) | Expr::UnaryOp { .. }) {
                    col.default = Some(expr_text(e));
                } else {
                    return Err(SqlError::unsupported(format!("DEFAULT ({e})")));
                }
            }
            ColumnOption::PrimaryKey(_) => {
                extras.primary = true;
                col.nullable = false;
            }
            ColumnOption::Unique(_) => extras.unique = true,
            ColumnOption::ForeignKey(_) => {} // MySQL ignores inline REFERENCES
            ColumnOption::Check(c) => {
                let mut e = (*c.expr).clone();
                let mut rw = Rewriter::new(ctx.current_db, &e);
                rw.run(&mut e)?;
                extras.checks.push(e.to_string());
            }
            ColumnOption::DialectSpecific(tokens) => {
                let text: String = tokens
                    .iter()
                    .map(|t| t.to_string().to_ascii_uppercase())
                    .collect();
                if text.contains("AUTO_INCREMENT") {
                    col.auto_increment = true;
                    col.nullable = false;
                } else if text.contains("BINARY") {
                    binary_attr = true;
                }
            }
            ColumnOption::CharacterSet(cs) => {
                col.charset = Some(cs.to_string().to_ascii_lowercase())
            }
            ColumnOption::Collation(c) => {
                let c = c.to_string().trim_matches('`').to_ascii_lowercase();
                if c == "binary_attr" {
                    binary_attr = true;
                } else {
                    col.collation = Some(c);
                }
            }
            ColumnOption::Comment(c) => col.comment = c.clone(),
            ColumnOption::OnUpdate(e) if is_now_expr(e) => col.on_update_current_timestamp = true,
            ColumnOption::Invisible => {}
            other => return Err(SqlError::unsupported(format!("column option {other}"))),
        }
    }
    if is_char_type(&col.column_type) {
        if col.charset.is_none() {
            col.charset = Some(match &col.collation {
                Some(c) => c.split('_').next().unwrap_or(table_charset).to_string(),
                None => table_charset.to_string(),
            });
        }
        if col.collation.is_none() {
            col.collation = Some(if binary_attr {
                format!("{}_bin", col.charset.as_deref().unwrap_or(table_charset))
            } else if col.charset.as_deref() == Some(table_charset) {
                table_collation.to_string()
            } else {
                default_collation_of(col.charset.as_deref().unwrap_or(table_charset))
            });
        }
    } else {
        col.charset = None;
        col.collation = None;
    }
    if col.default.is_none() && !col.nullable {
        col.default = None;
    }
    Ok((col, extras))
}

fn default_collation_of(charset: &str) -> String {
    match charset {
        "utf8mb4" => DEFAULT_COLLATION.into(),
        "binary" => "binary".into(),
        other => format!("{other}_general_ci"),
    }
}

/// SQLite column definition text for a column of `meta`.
fn sqlite_column(meta: &TableMeta, col: &ColumnMeta) -> String {
    let rowid = meta
        .rowid_alias()
        .is_some_and(|r| r.eq_ignore_ascii_case(&col.name));
    let mut s = quote_ident(&col.name);
    if rowid {
        s.push_str(" INTEGER PRIMARY KEY");
    } else {
        s.push(' ');
        s.push_str(&sqlite_decl(&col.column_type));
    }
    if !col.nullable && !rowid {
        s.push_str(" NOT NULL");
    }
    if let Some(d) = &col.default {
        if col.default_is_expression {
            let fsp = col.datetime_precision.unwrap_or(0);
            if fsp > 0 {
                s.push_str(" DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now'))");
            } else {
                s.push_str(" DEFAULT CURRENT_TIMESTAMP");
            }
        } else if d.parse::<f64>().is_ok()
            && sqlite_affinity(&sqlite_decl(&col.column_type)) != "TEXT"
        {
            s.push_str(&format!(" DEFAULT {d}"));
        } else {
            s.push_str(&format!(" DEFAULT {}", quote_literal(d)));
        }
    }
    if let Some(c) = &col.collation {
        if !c.ends_with("_bin") && c != "binary" {
            s.push_str(" COLLATE NOCASE");
        }
    }
    if is_decimal_type(&col.column_type) {
        // Stored as text (TEXT affinity); compare, sort and index numerically.
        s.push_str(&format!(" COLLATE {DECIMAL_COLLATION}"));
    }
    if col.data_type == "enum" {
        let members: Vec<String> = enum_members(&col.column_type)
            .iter()
            .map(|m| quote_literal(m))
            .collect();
        s.push_str(&format!(
            " CHECK ({} IN ({}, ''))",
            quote_ident(&col.name),
            members.join(", ")
        ));
    }
    s
}

fn index_columns(cols: &[IndexColumn]) -> Result<(Vec<String>, Vec<Option<u64>>), SqlError> {
    let mut names = Vec::with_capacity(cols.len());
    let mut subs = Vec::with_capacity(cols.len());
    for c in cols {
        match &c.column.expr {
            Expr::Identifier(i) => {
                names.push(i.value.clone());
                subs.push(None);
            }
            Expr::Function(f) => {
                names.push(ident_of(&f.name));
                let arg = f.args.to_string();
                subs.push(
                    arg.trim_matches(|c| c == '(' || c == ')')
                        .trim()
                        .parse()
                        .ok(),
                );
            }
            other => {
                return Err(SqlError::unsupported(format!(
                    "index on expression {other}"
                )))
            }
        }
    }
    Ok((names, subs))
}

fn unique_index_name(meta: &TableMeta, base: &str) -> String {
    let taken = |n: &str| meta.indexes.iter().any(|i| i.name.eq_ignore_ascii_case(n));
    if !taken(base) {
        return base.to_string();
    }
    // Bounded: at most one more candidate than there are indexes.
    (2..=meta.indexes.len() + 2)
        .map(|i| format!("{base}_{i}"))
        .find(|n| !taken(n))
        .unwrap_or_else(|| format!("{base}_{}", meta.indexes.len() + 3))
}

fn add_index(
    meta: &mut TableMeta,
    name: Option<String>,
    unique: bool,
    kind: &str,
    cols: &[IndexColumn],
) -> Result<IndexMeta, SqlError> {
    let (columns, sub_parts) = index_columns(cols)?;
    for c in &columns {
        if meta.column(c).is_none() {
            return Err(SqlError::UnknownColumn {
                column: c.clone(),
                context: "key column".into(),
            });
        }
    }
    let name = match name {
        Some(n) => {
            if meta.indexes.iter().any(|i| i.name.eq_ignore_ascii_case(&n)) {
                return Err(SqlError::DuplicateKey(n));
            }
            n
        }
        None => unique_index_name(meta, columns.first().map(String::as_str).unwrap_or("idx")),
    };
    let index = IndexMeta {
        name,
        unique,
        columns,
        sub_parts,
        index_type: kind.into(),
        comment: String::new(),
    };
    meta.indexes.push(index.clone());
    Ok(index)
}

fn create_index_sql(meta: &TableMeta, index: &IndexMeta) -> String {
    let cols: Vec<String> = index.columns.iter().map(|c| quote_ident(c)).collect();
    format!(
        "CREATE {}INDEX {} ON {} ({})",
        if index.unique { "UNIQUE " } else { "" },
        sqlite_index(&meta.db, &meta.name, &index.name),
        sqlite_table(&meta.db, &meta.name),
        cols.join(", ")
    )
}

fn action(a: &Option<ReferentialAction>) -> String {
    a.as_ref().map_or_else(
        || "NO ACTION".to_string(),
        |a| a.to_string().to_ascii_uppercase(),
    )
}

fn apply_constraint(
    meta: &mut TableMeta,
    c: &TableConstraint,
    checks: &mut Vec<String>,
    ctx: &Ctx<'_>,
) -> Result<(), SqlError> {
    match c {
        TableConstraint::PrimaryKey(pk) => {
            if !meta.primary_key.is_empty() {
                return Err(SqlError::unsupported("multiple primary keys"));
            }
            let (cols, _) = index_columns(&pk.columns)?;
            for name in &cols {
                match meta
                    .columns
                    .iter_mut()
                    .find(|x| x.name.eq_ignore_ascii_case(name))
                {
                    Some(col) => col.nullable = false,
                    None => {
                        return Err(SqlError::UnknownColumn {
                            column: name.clone(),
                            context: "key column".into(),
                        })
                    }
                }
            }
            meta.primary_key = cols;
        }
        TableConstraint::Unique(u) => {
            let name = u
                .index_name
                .as_ref()
                .or(u.name.as_ref())
                .map(|i| i.value.clone());
            add_index(meta, name, true, "BTREE", &u.columns)?;
        }
        TableConstraint::Index(i) => {
            add_index(
                meta,
                i.name.as_ref().map(|n| n.value.clone()),
                false,
                "BTREE",
                &i.columns,
            )?;
        }
        TableConstraint::FulltextOrSpatial(f) => {
            let kind = if f.fulltext { "FULLTEXT" } else { "SPATIAL" };
            add_index(
                meta,
                f.opt_index_name.as_ref().map(|n| n.value.clone()),
                false,
                kind,
                &f.columns,
            )?;
        }
        TableConstraint::ForeignKey(fk) => {
            let (ref_db, ref_table) = split_name(&fk.foreign_table, ctx)?;
            let name = fk
                .name
                .as_ref()
                .map(|n| n.value.clone())
                .unwrap_or_else(|| format!("{}_ibfk_{}", meta.name, meta.foreign_keys.len() + 1));
            meta.foreign_keys.push(ForeignKeyMeta {
                name,
                columns: fk.columns.iter().map(|c| c.value.clone()).collect(),
                ref_db,
                ref_table,
                ref_columns: fk
                    .referred_columns
                    .iter()
                    .map(|c| c.value.clone())
                    .collect(),
                on_delete: action(&fk.on_delete),
                on_update: action(&fk.on_update),
            });
        }
        TableConstraint::Check(ch) => {
            let mut e = (*ch.expr).clone();
            let mut rw = Rewriter::new(ctx.current_db, &e);
            rw.run(&mut e)?;
            checks.push(e.to_string());
        }
        #[allow(unreachable_patterns)]
        other => return Err(SqlError::unsupported(format!("constraint {other}"))),
    }
    Ok(())
}

fn apply_options(meta: &mut TableMeta, options: &CreateTableOptions) {
    let list: &[SqlOption] = match options {
        CreateTableOptions::None => &[],
        CreateTableOptions::With(l)
        | CreateTableOptions::Options(l)
        | CreateTableOptions::Plain(l)
        | CreateTableOptions::TableProperties(l) => l,
    };
    for opt in list {
        match opt {
            SqlOption::KeyValue { key, value } => {
                let k = key.value.to_ascii_uppercase();
                let v = expr_text(value).trim_matches('`').to_string();
                if k.contains("ENGINE") {
                    meta.engine = if v.eq_ignore_ascii_case("innodb") {
                        "InnoDB".into()
                    } else {
                        v
                    };
                } else if k.contains("COLLATE") {
                    meta.charset = v
                        .split('_')
                        .next()
                        .unwrap_or(DEFAULT_CHARSET)
                        .to_ascii_lowercase();
                    meta.collation = v.to_ascii_lowercase();
                } else if k.contains("CHARSET") || k.contains("CHARACTER") {
                    let cs = v.to_ascii_lowercase();
                    if meta.charset != cs {
                        meta.collation = default_collation_of(&cs);
                    }
                    meta.charset = cs;
                } else if k.contains("AUTO_INCREMENT") {
                    meta.auto_increment_start = v.parse().ok();
                }
            }
            SqlOption::NamedParenthesizedList(list)
                if list.key.value.eq_ignore_ascii_case("ENGINE") =>
            {
                if let Some(name) = &list.name {
                    meta.engine = if name.value.eq_ignore_ascii_case("innodb") {
                        "InnoDB".into()
                    } else {
                        name.value.clone()
                    };
                }
            }
            SqlOption::Comment(c) => {
                meta.comment = match c {
                    sqlparser::ast::CommentDef::WithEq(s)
                    | sqlparser::ast::CommentDef::WithoutEq(s) => s.clone(),
                };
            }
            _ => {}
        }
    }
}

/// Full SQLite DDL for a table: CREATE TABLE plus its indexes.
fn create_table_sql(meta: &TableMeta, checks: &[String]) -> Vec<String> {
    let mut parts: Vec<String> = meta
        .columns
        .iter()
        .map(|c| sqlite_column(meta, c))
        .collect();
    if !meta.primary_key.is_empty() && meta.rowid_alias().is_none() {
        let cols: Vec<String> = meta.primary_key.iter().map(|c| quote_ident(c)).collect();
        parts.push(format!("PRIMARY KEY ({})", cols.join(", ")));
    }
    for fk in &meta.foreign_keys {
        let cols: Vec<String> = fk.columns.iter().map(|c| quote_ident(c)).collect();
        let refs: Vec<String> = fk.ref_columns.iter().map(|c| quote_ident(c)).collect();
        parts.push(format!(
            "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE {} ON UPDATE {}",
            quote_ident(&fk.name),
            cols.join(", "),
            sqlite_table(&fk.ref_db, &fk.ref_table),
            refs.join(", "),
            fk.on_delete,
            fk.on_update
        ));
    }
    for c in checks {
        parts.push(format!("CHECK ({c})"));
    }
    let mut out = vec![format!(
        "CREATE TABLE {} ({})",
        sqlite_table(&meta.db, &meta.name),
        parts.join(", ")
    )];
    out.extend(meta.indexes.iter().map(|i| create_index_sql(meta, i)));
    out
}

fn create_table(ct: CreateTable, ctx: &Ctx<'_>) -> Ddl {
    if ct.temporary {
        return Err(SqlError::unsupported("CREATE TEMPORARY TABLE"));
    }
    if ct.query.is_some() {
        return Err(SqlError::unsupported("CREATE TABLE … AS SELECT"));
    }
    let (db, table) = split_name(&ct.name, ctx)?;
    check_name(&table, false)?;
    if !ctx.catalog.database_exists(&db) {
        return Err(SqlError::UnknownDatabase(db));
    }
    let skip_if = ct.if_not_exists.then(|| SkipIf::TableExists {
        db: db.clone(),
        table: table.clone(),
    });
    if !ct.if_not_exists && ctx.catalog.table(&db, &table).is_some() {
        return Err(SqlError::DuplicateTable(table));
    }
    let mut checks = Vec::new();
    let meta = if let Some(like) = &ct.like {
        let source = match like {
            sqlparser::ast::CreateTableLikeKind::Parenthesized(l)
            | sqlparser::ast::CreateTableLikeKind::Plain(l) => &l.name,
        };
        let (sdb, st) = split_name(source, ctx)?;
        let mut meta = (*require(ctx, &sdb, &st)?).clone();
        meta.db = db.clone();
        meta.name = table.clone();
        meta.foreign_keys.clear();
        meta
    } else {
        let mut meta = TableMeta {
            db: db.clone(),
            name: table.clone(),
            engine: "InnoDB".into(),
            charset: DEFAULT_CHARSET.into(),
            collation: DEFAULT_COLLATION.into(),
            ..TableMeta::default()
        };
        apply_options(&mut meta, &ct.table_options);
        let mut inline_pk = Vec::new();
        let mut inline_unique = Vec::new();
        for def in &ct.columns {
            let (col, extras) =
                column_meta(def, &meta.charset.clone(), &meta.collation.clone(), ctx)?;
            if meta.column(&col.name).is_some() {
                return Err(SqlError::DuplicateColumn(col.name));
            }
            if extras.primary {
                inline_pk.push(col.name.clone());
            }
            if extras.unique {
                inline_unique.push(col.name.clone());
            }
            checks.extend(extras.checks);
            if col.auto_increment {
                meta.auto_increment = Some(col.name.clone());
            }
            meta.columns.push(col);
        }
        if inline_pk.len() > 1 {
            return Err(SqlError::unsupported("multiple primary keys"));
        }
        meta.primary_key = inline_pk;
        for u in inline_unique {
            let name = unique_index_name(&meta, &u);
            meta.indexes.push(IndexMeta {
                name,
                unique: true,
                columns: vec![u],
                sub_parts: vec![None],
                index_type: "BTREE".into(),
                comment: String::new(),
            });
        }
        for c in &ct.constraints {
            apply_constraint(&mut meta, c, &mut checks, ctx)?;
        }
        meta
    };
    if meta.columns.is_empty() {
        return Err(SqlError::unsupported("CREATE TABLE without columns"));
    }
    let mut statements = create_table_sql(&meta, &checks);
    statements.extend(catalog_insert_statements(&meta));
    Ok(StatementKind::Ddl {
        statements,
        skip_if,
    })
}

fn create_index(ci: CreateIndex, ctx: &Ctx<'_>) -> Ddl {
    let (db, table) = split_name(&ci.table_name, ctx)?;
    let mut meta = (*require(ctx, &db, &table)?).clone();
    let name = ci.name.as_ref().map(ident_of);
    if ci.if_not_exists {
        if let Some(n) = &name {
            if meta.indexes.iter().any(|i| i.name.eq_ignore_ascii_case(n)) {
                return Ok(ddl(Vec::new()));
            }
        }
    }
    let index = add_index(&mut meta, name, ci.unique, "BTREE", &ci.columns)?;
    let mut out = vec![create_index_sql(&meta, &index)];
    out.extend(recatalog(&meta));
    Ok(ddl(out))
}

/// Statements renaming `meta`'s table to `new_db.new_table`, moving indexes.
fn rename_statements(
    meta: &TableMeta,
    new_db: &str,
    new_table: &str,
    ctx: &Ctx<'_>,
) -> Result<Vec<String>, SqlError> {
    check_name(new_table, false)?;
    if ctx.catalog.table(new_db, new_table).is_some() {
        return Err(SqlError::DuplicateTable(new_table.to_string()));
    }
    let mut out: Vec<String> = meta
        .indexes
        .iter()
        .map(|i| {
            format!(
                "DROP INDEX IF EXISTS {}",
                sqlite_index(&meta.db, &meta.name, &i.name)
            )
        })
        .collect();
    out.push(format!(
        "ALTER TABLE {} RENAME TO {}",
        sqlite_table(&meta.db, &meta.name),
        sqlite_table(new_db, new_table)
    ));
    out.extend(catalog_delete_statements(&meta.db, &meta.name));
    let mut renamed = meta.clone();
    renamed.db = new_db.to_string();
    renamed.name = new_table.to_string();
    out.extend(
        renamed
            .indexes
            .iter()
            .map(|i| create_index_sql(&renamed, i)),
    );
    out.extend(catalog_insert_statements(&renamed));
    Ok(out)
}

fn alter_table(at: sqlparser::ast::AlterTable, ctx: &Ctx<'_>) -> Ddl {
    let (db, table) = split_name(&at.name, ctx)?;
    let Some(current) = ctx.catalog.table(&db, &table) else {
        if at.if_exists {
            return Ok(ddl(Vec::new()));
        }
        return Err(SqlError::NoSuchTable { db, table });
    };
    let mut meta = (*current).clone();
    let mut out = Vec::new();
    let t = sqlite_table(&db, &table);
    for op in &at.operations {
        match op {
            AlterTableOperation::AddColumn {
                column_def,
                column_position,
                ..
            } => {
                let (col, extras) = column_meta(
                    column_def,
                    &meta.charset.clone(),
                    &meta.collation.clone(),
                    ctx,
                )?;
                if meta.column(&col.name).is_some() {
                    return Err(SqlError::DuplicateColumn(col.name));
                }
                if extras.primary || col.auto_increment {
                    return Err(SqlError::unsupported(
                        "ADD COLUMN … PRIMARY KEY/AUTO_INCREMENT",
                    ));
                }
                if col.default_is_expression {
                    // SQLite cannot add a column with a non-constant default.
                    return Err(SqlError::unsupported(
                        "ADD COLUMN … DEFAULT CURRENT_TIMESTAMP",
                    ));
                }
                if !col.nullable && col.default.is_none() {
                    // SQLite needs a default for NOT NULL columns on ALTER; MySQL uses the type's zero.
                    let mut c2 = col.clone();
                    c2.default = Some(
                        if sqlite_affinity(&sqlite_decl(&col.column_type)) == "TEXT"
                            && !is_decimal_type(&col.column_type)
                        {
                            String::new()
                        } else {
                            "0".into()
                        },
                    );
                    out.push(format!(
                        "ALTER TABLE {t} ADD COLUMN {}",
                        sqlite_column(&meta, &c2)
                    ));
                } else {
                    out.push(format!(
                        "ALTER TABLE {t} ADD COLUMN {}",
                        sqlite_column(&meta, &col)
                    ));
                }
                let pos = match column_position {
                    Some(sqlparser::ast::MySQLColumnPosition::First) => 0,
                    Some(sqlparser::ast::MySQLColumnPosition::After(after)) => meta
                        .columns
                        .iter()
                        .position(|c| c.name.eq_ignore_ascii_case(&after.value))
                        .map_or(meta.columns.len(), |p| p + 1),
                    None => meta.columns.len(),
                };
                if extras.unique {
                    let name = unique_index_name(&meta, &col.name);
                    let index = IndexMeta {
                        name,
                        unique: true,
                        columns: vec![col.name.clone()],
                        sub_parts: vec![None],
                        index_type: "BTREE".into(),
                        comment: String::new(),
                    };
                    meta.indexes.push(index.clone());
                    out.push(create_index_sql(&meta, &index));
                }
                meta.columns.insert(pos, col);
            }
            AlterTableOperation::DropColumn {
                column_names,
                if_exists,
                ..
            } => {
                for name in column_names {
                    let Some(pos) = meta
                        .columns
                        .iter()
                        .position(|c| c.name.eq_ignore_ascii_case(&name.value))
                    else {
                        if *if_exists {
                            continue;
                        }
                        return Err(SqlError::CantDropKey(name.value.clone()));
                    };
                    if meta
                        .primary_key
                        .iter()
                        .any(|c| c.eq_ignore_ascii_case(&name.value))
                    {
                        return Err(SqlError::unsupported("DROP COLUMN of a primary key column"));
                    }
                    let using: Vec<String> = meta
                        .indexes
                        .iter()
                        .filter(|i| {
                            i.columns
                                .iter()
                                .any(|c| c.eq_ignore_ascii_case(&name.value))
                        })
                        .map(|i| i.name.clone())
                        .collect();
                    for i in using {
                        out.extend(drop_index(&mut meta, &i)?);
                    }
                    out.push(format!(
                        "ALTER TABLE {t} DROP COLUMN {}",
                        quote_ident(&name.value)
                    ));
                    meta.columns.remove(pos);
                }
            }
            AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => {
                rename_column(&mut meta, &old_column_name.value, &new_column_name.value)?;
                out.push(format!(
                    "ALTER TABLE {t} RENAME COLUMN {} TO {}",
                    quote_ident(&old_column_name.value),
                    quote_ident(&new_column_name.value)
                ));
            }
            AlterTableOperation::ChangeColumn {
                old_name,
                new_name,
                data_type,
                options,
                ..
            } => {
                let def = column_def(new_name, data_type, options);
                change_column(&mut meta, &old_name.value, &def, ctx, &t, &mut out)?;
            }
            AlterTableOperation::ModifyColumn {
                col_name,
                data_type,
                options,
                ..
            } => {
                let def = column_def(col_name, data_type, options);
                change_column(&mut meta, &col_name.value, &def, ctx, &t, &mut out)?;
            }
            AlterTableOperation::AddConstraint { constraint, .. } => match constraint {
                TableConstraint::PrimaryKey(_) => {
                    return Err(SqlError::unsupported("ADD PRIMARY KEY"))
                }
                TableConstraint::ForeignKey(_) | TableConstraint::Check(_) => {
                    return Err(SqlError::unsupported("ALTER TABLE ADD FOREIGN KEY/CHECK"))
                }
                other => {
                    let before = meta.indexes.len();
                    apply_constraint(&mut meta, other, &mut Vec::new(), ctx)?;
                    for index in &meta.indexes[before..] {
                        out.push(create_index_sql(&meta, index));
                    }
                }
            },
            AlterTableOperation::AutoIncrement { value, .. } => {
                let text = value.to_string();
                let start = text
                    .parse::<u64>()
                    .map_err(|_| SqlError::unsupported(format!("AUTO_INCREMENT = {text}")))?;
                // Applied through the start value every generated id respects; the
                // schema change this DDL makes resets the instances' counters.
                meta.auto_increment_start = Some(start.max(1));
            }
            AlterTableOperation::DropIndex { name } => {
                out.extend(drop_index(&mut meta, &name.value)?)
            }
            AlterTableOperation::RenameTable { table_name } => {
                let name = match table_name {
                    sqlparser::ast::RenameTableNameKind::As(n)
                    | sqlparser::ast::RenameTableNameKind::To(n) => n,
                };
                let (nd, nt) = split_name(name, ctx)?;
                out.extend(recatalog(&meta));
                // The rename moves the catalog rows written so far.
                let mut moved = rename_statements(&meta, &nd, &nt, ctx)?;
                out.append(&mut moved);
                return Ok(ddl(out));
            }
            AlterTableOperation::DisableRowLevelSecurity
            | AlterTableOperation::EnableRowLevelSecurity => {}
            AlterTableOperation::AlterColumn { .. } => {
                return Err(SqlError::unsupported("ALTER COLUMN"))
            }
            other => {
                let text = other.to_string().to_ascii_uppercase();
                if text.contains("KEYS")
                    || text.starts_with("ENGINE")
                    || text.contains("CHARSET")
                    || text.contains("CHARACTER SET")
                    || text.starts_with("COMMENT")
                    || text.starts_with("ALGORITHM")
                    || text.starts_with("LOCK")
                    || text.starts_with("CONVERT")
                    || text.starts_with("FORCE")
                {
                    continue;
                }
                return Err(SqlError::unsupported(format!("ALTER TABLE {other}")));
            }
        }
    }
    out.extend(recatalog(&meta));
    Ok(ddl(out))
}

fn rename_column(meta: &mut TableMeta, old: &str, new: &str) -> Result<(), SqlError> {
    if !old.eq_ignore_ascii_case(new) && meta.column(new).is_some() {
        return Err(SqlError::DuplicateColumn(new.to_string()));
    }
    let col = meta
        .columns
        .iter_mut()
        .find(|c| c.name.eq_ignore_ascii_case(old))
        .ok_or_else(|| SqlError::UnknownColumn {
            column: old.to_string(),
            context: meta.name.clone(),
        })?;
    col.name = new.to_string();
    let fix = |cols: &mut Vec<String>| {
        for c in cols.iter_mut() {
            if c.eq_ignore_ascii_case(old) {
                *c = new.to_string();
            }
        }
    };
    fix(&mut meta.primary_key);
    for i in &mut meta.indexes {
        fix(&mut i.columns);
    }
    for f in &mut meta.foreign_keys {
        fix(&mut f.columns);
    }
    if meta
        .auto_increment
        .as_deref()
        .is_some_and(|a| a.eq_ignore_ascii_case(old))
    {
        meta.auto_increment = Some(new.to_string());
    }
    Ok(())
}

/// CHANGE/MODIFY: a rename, plus a type change recorded in the catalog only
/// when SQLite's affinity stays the same.
fn change_column(
    meta: &mut TableMeta,
    old: &str,
    def: &ColumnDef,
    ctx: &Ctx<'_>,
    t: &str,
    out: &mut Vec<String>,
) -> Result<(), SqlError> {
    let existing = meta
        .column(old)
        .cloned()
        .ok_or_else(|| SqlError::UnknownColumn {
            column: old.to_string(),
            context: meta.name.clone(),
        })?;
    let (mut col, extras) = column_meta(def, &meta.charset.clone(), &meta.collation.clone(), ctx)?;
    if extras.primary || extras.unique || !extras.checks.is_empty() {
        return Err(SqlError::unsupported(
            "CHANGE/MODIFY COLUMN with constraints",
        ));
    }
    let is_pk = meta.primary_key.iter().any(|c| c.eq_ignore_ascii_case(old));
    // DECIMAL and character columns share TEXT affinity but not the SQLite
    // collation, which only a table rebuild could change.
    let same_affinity = (sqlite_affinity(&sqlite_decl(&existing.column_type))
        == sqlite_affinity(&sqlite_decl(&col.column_type))
        && is_decimal_type(&existing.column_type) == is_decimal_type(&col.column_type))
        || (is_pk
            && crate::types::is_integer_type(&col.column_type)
            && crate::types::is_integer_type(&existing.column_type));
    if !same_affinity {
        return Err(SqlError::unsupported(
            "CHANGE/MODIFY COLUMN that changes the storage type",
        ));
    }
    if is_pk {
        col.nullable = false;
    }
    if !existing.name.eq(&col.name) {
        out.push(format!(
            "ALTER TABLE {t} RENAME COLUMN {} TO {}",
            quote_ident(&existing.name),
            quote_ident(&col.name)
        ));
        rename_column(meta, old, &col.name)?;
    }
    if col.auto_increment {
        meta.auto_increment = Some(col.name.clone());
    } else if meta
        .auto_increment
        .as_deref()
        .is_some_and(|a| a.eq_ignore_ascii_case(&col.name))
    {
        meta.auto_increment = None;
    }
    if let Some(slot) = meta
        .columns
        .iter_mut()
        .find(|c| c.name.eq_ignore_ascii_case(&col.name))
    {
        *slot = col;
    }
    Ok(())
}

/// The column definition of `CHANGE` / `MODIFY`, which sqlparser gives as loose parts.
fn column_def(name: &Ident, data_type: &DataType, options: &[ColumnOption]) -> ColumnDef {
    ColumnDef {
        name: name.clone(),
        data_type: data_type.clone(),
        options: options
            .iter()
            .map(|o| sqlparser::ast::ColumnOptionDef {
                name: None,
                option: o.clone(),
            })
            .collect(),
    }
}
