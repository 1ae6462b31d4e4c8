//! INSERT / REPLACE / UPDATE / DELETE translation.

use sqlparser::ast::{
    visit_expressions_mut, Assignment, AssignmentTarget, Delete, DoUpdate, Expr, FromTable, Ident,
    Insert, ObjectName, ObjectNamePart, OnConflict, OnConflictAction, OnInsert, SetExpr,
    SqliteOnConflict, TableFactor, TableObject, UnaryOperator, Update, Value,
};
use std::ops::ControlFlow;

use crate::catalog::TableMeta;
use crate::error::SqlError;
use crate::names::{quote_ident, quote_literal, sqlite_table};
use crate::plan::{DmlVerb, StatementKind};
use crate::rewrite::{count_params, raw, Rewriter};
use crate::types::is_decimal_type;
use crate::Ctx;

type Dml = Result<(StatementKind, usize), SqlError>;

/// (db, table) of a possibly qualified name.
pub(crate) fn split_name(name: &ObjectName, ctx: &Ctx<'_>) -> Result<(String, String), SqlError> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => i.value.clone(),
            other => other.to_string(),
        })
        .collect();
    match parts.as_slice() {
        [t] => Ok((
            ctx.current_db
                .ok_or(SqlError::NoDatabaseSelected)?
                .to_string(),
            t.clone(),
        )),
        [db, t] => Ok((db.clone(), t.clone())),
        _ => Err(SqlError::unsupported(format!("table name {name}"))),
    }
}

/// The id generator for one row of an INSERT of `rows` rows: see `borealis_autoinc` in the
/// functions crate (the table's maximum at the snapshot, its `AUTO_INCREMENT=n` start, and
/// the row count, so the statement reserves its ids in one block).
fn autoinc_expr(db: &str, table: &str, meta: &TableMeta, column: &str, rows: usize) -> String {
    format!(
        "borealis_autoinc({}, (SELECT max({}) FROM {}), {}, {})",
        quote_literal(&format!("{db}.{table}")),
        quote_ident(column),
        sqlite_table(db, table),
        meta.auto_increment_start.unwrap_or(1).max(1),
        rows.max(1)
    )
}

fn is_default_keyword(e: &Expr) -> bool {
    matches!(e, Expr::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("DEFAULT"))
}

/// SQLite expression for a column's DEFAULT.
fn default_expr(meta: Option<&TableMeta>, column: &str) -> String {
    let Some(col) = meta.and_then(|m| m.column(column)) else {
        return "NULL".to_string();
    };
    match &col.default {
        None => "NULL".into(),
        Some(d) if col.default_is_expression => {
            let up = d.to_ascii_uppercase();
            if up.starts_with("CURRENT_TIMESTAMP") || up.starts_with("NOW") {
                "now()".into()
            } else {
                // Other expression defaults: let SQLite's own DEFAULT apply is
                // impossible per-row, so evaluate the text as given.
                format!("({d})")
            }
        }
        Some(d) => quote_literal(d),
    }
}

/// The text of a numeric literal, with its sign (`-12.50`).
fn numeric_literal_text(e: &Expr) -> Option<String> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => Some(n.clone()),
            _ => None,
        },
        Expr::UnaryOp { op, expr } => {
            let inner = numeric_literal_text(expr)?;
            match op {
                UnaryOperator::Minus => Some(format!("-{inner}")),
                UnaryOperator::Plus => Some(inner),
                _ => None,
            }
        }
        Expr::Nested(inner) => numeric_literal_text(inner),
        _ => None,
    }
}

/// Turns a numeric literal assigned to a DECIMAL column into a text literal:
/// SQLite would parse `12345678901234.567890` as a REAL and lose digits before
/// the column's TEXT affinity stores it.
fn keep_decimal_digits(meta: Option<&TableMeta>, column: &str, value: &mut Expr) {
    let is_decimal = meta
        .and_then(|m| m.column(column))
        .is_some_and(|c| is_decimal_type(&c.column_type));
    if !is_decimal {
        return;
    }
    if let Some(text) = numeric_literal_text(value) {
        *value = Expr::Value(Value::SingleQuotedString(text).into());
    }
}

/// INSERT / REPLACE.
pub(crate) fn insert(mut ins: Insert, ctx: &Ctx<'_>) -> Dml {
    let TableObject::TableName(name) = &ins.table else {
        return Err(SqlError::unsupported("INSERT INTO TABLE FUNCTION"));
    };
    let (db, table) = split_name(name, ctx)?;
    let meta = ctx.catalog.table(&db, &table);
    let params = count_params(&ins);
    let verb = if ins.replace_into {
        DmlVerb::Replace
    } else {
        DmlVerb::Insert
    };
    if ins.replace_into {
        ins.replace_into = false;
        ins.or = Some(SqliteOnConflict::Replace);
    } else if ins.ignore {
        ins.ignore = false;
        ins.or = Some(SqliteOnConflict::Ignore);
    }
    ins.priority = None;
    ins.partitioned = None;
    if !ins.assignments.is_empty() {
        set_form_to_values(&mut ins)?;
    }
    if ins.columns.is_empty() {
        if let Some(m) = &meta {
            ins.columns = m
                .columns
                .iter()
                .map(|c| ObjectName::from(vec![Ident::new(c.name.clone())]))
                .collect();
        }
    }
    let auto_increment = fill_values(&mut ins, meta.as_deref(), &db, &table)?;
    let row_alias = ins
        .insert_alias
        .take()
        .map(|a| a.row_alias.to_string().to_ascii_lowercase());
    if let Some(OnInsert::DuplicateKeyUpdate(mut assignments)) = ins.on.take() {
        decimal_assignments(meta.as_deref(), &mut assignments);
        let assignments = excluded_assignments(assignments, row_alias.as_deref());
        if let Some(source) = ins.source.as_mut() {
            if let SetExpr::Select(select) = source.body.as_mut() {
                if select.selection.is_none() {
                    // SQLite needs a WHERE to parse INSERT … SELECT … ON CONFLICT.
                    select.selection = Some(Expr::Value(Value::Boolean(true).into()));
                }
            }
        }
        ins.on = Some(OnInsert::OnConflict(OnConflict {
            conflict_target: None,
            action: OnConflictAction::DoUpdate(DoUpdate {
                assignments,
                selection: None,
            }),
        }));
    }
    let mut rw = Rewriter::new(ctx.current_db, &ins);
    if let TableObject::TableName(name) = &mut ins.table {
        rw.mangle(name)?;
    }
    rw.run(&mut ins)?;
    let kind = StatementKind::Dml {
        sql: ins.to_string(),
        verb,
        table: (db, table),
        auto_increment,
    };
    Ok((kind, params))
}

fn set_form_to_values(ins: &mut Insert) -> Result<(), SqlError> {
    let mut row = Vec::with_capacity(ins.assignments.len());
    for a in std::mem::take(&mut ins.assignments) {
        let AssignmentTarget::ColumnName(col) = a.target else {
            return Err(SqlError::unsupported("INSERT … SET (a, b) = …"));
        };
        ins.columns.push(col);
        row.push(a.value);
    }
    let values = sqlparser::ast::Values {
        explicit_row: false,
        value_keyword: false,
        rows: vec![sqlparser::ast::Parens {
            opening_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
            content: row,
            closing_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        }],
    };
    ins.source = Some(Box::new(sqlparser::ast::Query {
        with: None,
        body: Box::new(SetExpr::Values(values)),
        order_by: None,
        limit_clause: None,
        fetch: None,
        locks: vec![],
        for_clause: None,
        settings: None,
        format_clause: None,
        pipe_operators: vec![],
    }));
    Ok(())
}

fn last_part(name: &ObjectName) -> String {
    match name.0.last() {
        Some(ObjectNamePart::Identifier(i)) => i.value.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// Fills DEFAULT keywords and AUTO_INCREMENT values in VALUES rows; returns
/// the auto-increment column when ids are generated.
fn fill_values(
    ins: &mut Insert,
    meta: Option<&TableMeta>,
    db: &str,
    table: &str,
) -> Result<Option<String>, SqlError> {
    let Some(source) = ins.source.as_mut() else {
        return Ok(None);
    };
    let SetExpr::Values(values) = source.body.as_mut() else {
        // INSERT … SELECT: SQLite assigns rowids itself (documented limitation).
        return Ok(None);
    };
    let columns: Vec<String> = ins.columns.iter().map(last_part).collect();
    for (i, row) in values.rows.iter().enumerate() {
        if !columns.is_empty() && row.content.len() != columns.len() {
            return Err(SqlError::ColumnCountMismatch(i + 1));
        }
    }
    for row in values.rows.iter_mut() {
        for (i, value) in row.content.iter_mut().enumerate() {
            let Some(column) = columns.get(i) else {
                if is_default_keyword(value) {
                    *value = raw("NULL".into());
                }
                continue;
            };
            if is_default_keyword(value) {
                *value = raw(default_expr(meta, column));
            } else {
                keep_decimal_digits(meta, column, value);
            }
        }
    }
    let Some((meta, ai)) = meta.and_then(|m| Some((m, m.auto_increment.clone()?))) else {
        return Ok(None);
    };
    let gen = autoinc_expr(db, table, meta, &ai, values.rows.len());
    match columns.iter().position(|c| c.eq_ignore_ascii_case(&ai)) {
        None => {
            ins.columns
                .push(ObjectName::from(vec![Ident::new(ai.clone())]));
            for row in values.rows.iter_mut() {
                row.content.push(raw(gen.clone()));
            }
        }
        Some(idx) => {
            for row in values.rows.iter_mut() {
                let v = &mut row.content[idx];
                let replacement = match v {
                    Expr::Value(vs) => match &vs.value {
                        Value::Null => Some(gen.clone()),
                        Value::Number(n, _) if n.trim_start_matches('0').is_empty() => {
                            Some(gen.clone())
                        }
                        Value::Placeholder(p) => {
                            Some(format!("COALESCE(NULLIF(CAST({p} AS INTEGER), 0), {gen})"))
                        }
                        _ => None,
                    },
                    _ => None,
                };
                if let Some(r) = replacement {
                    *v = raw(r);
                }
            }
        }
    }
    Ok(Some(ai))
}

/// Rewrites `VALUES(c)` and `alias.c` to `excluded."c"` and strips column qualifiers.
fn excluded_assignments(
    mut assignments: Vec<Assignment>,
    row_alias: Option<&str>,
) -> Vec<Assignment> {
    for a in &mut assignments {
        if let AssignmentTarget::ColumnName(name) = &mut a.target {
            let col = last_part(name);
            *name = ObjectName::from(vec![Ident::with_quote('"', col)]);
        }
        let _ = visit_expressions_mut(&mut a.value, |e| {
            let replacement = match e {
                Expr::Function(f)
                    if f.name
                        .to_string()
                        .trim_matches('"')
                        .eq_ignore_ascii_case("values") =>
                {
                    let arg = f.args.to_string();
                    let inner = arg
                        .trim()
                        .trim_start_matches('(')
                        .trim_end_matches(')')
                        .trim();
                    let col = inner.rsplit('.').next().unwrap_or(inner);
                    Some(raw(format!("excluded.{col}")))
                }
                Expr::CompoundIdentifier(parts) if parts.len() == 2 => match row_alias {
                    Some(alias) if parts[0].value.eq_ignore_ascii_case(alias) => {
                        Some(raw(format!("excluded.{}", quote_ident(&parts[1].value))))
                    }
                    _ => None,
                },
                _ => None,
            };
            if let Some(r) = replacement {
                *e = r;
            }
            ControlFlow::<()>::Continue(())
        });
    }
    assignments
}

/// [`keep_decimal_digits`] for each `column = literal` of a SET list.
fn decimal_assignments(meta: Option<&TableMeta>, assignments: &mut [Assignment]) {
    for a in assignments {
        if let AssignmentTarget::ColumnName(name) = &a.target {
            let column = last_part(name);
            keep_decimal_digits(meta, &column, &mut a.value);
        }
    }
}

fn single_table(relation: &TableFactor) -> Result<&ObjectName, SqlError> {
    match relation {
        TableFactor::Table { name, .. } => Ok(name),
        _ => Err(SqlError::unsupported("UPDATE/DELETE of a derived table")),
    }
}

fn limited_where(
    table: &TableFactor,
    selection: Option<&Expr>,
    order_by: &[sqlparser::ast::OrderByExpr],
    limit: Option<&Expr>,
) -> Option<String> {
    if order_by.is_empty() && limit.is_none() {
        return selection.map(|s| format!(" WHERE {s}"));
    }
    let mut inner = format!("SELECT rowid FROM {table}");
    if let Some(s) = selection {
        inner.push_str(&format!(" WHERE {s}"));
    }
    if !order_by.is_empty() {
        let o: Vec<String> = order_by.iter().map(|o| o.to_string()).collect();
        inner.push_str(&format!(" ORDER BY {}", o.join(", ")));
    }
    if let Some(l) = limit {
        inner.push_str(&format!(" LIMIT {l}"));
    }
    Some(format!(" WHERE rowid IN ({inner})"))
}

/// UPDATE (single table; ORDER BY/LIMIT via a rowid subquery).
pub(crate) fn update(mut up: Update, ctx: &Ctx<'_>) -> Dml {
    if !up.table.joins.is_empty() || up.from.is_some() {
        return Err(SqlError::unsupported("multi-table UPDATE"));
    }
    let (db, table) = split_name(single_table(&up.table.relation)?, ctx)?;
    decimal_assignments(
        ctx.catalog.table(&db, &table).as_deref(),
        &mut up.assignments,
    );
    let mut rw = Rewriter::new(ctx.current_db, &up);
    rw.run(&mut up)?;
    let mut sets = Vec::with_capacity(up.assignments.len());
    for a in &up.assignments {
        let target = match &a.target {
            AssignmentTarget::ColumnName(n) => quote_ident(&last_part(n)),
            AssignmentTarget::Tuple(_) => {
                return Err(SqlError::unsupported("UPDATE SET (a, b) = …"))
            }
        };
        sets.push(format!("{target} = {}", a.value));
    }
    let tail = limited_where(
        &up.table.relation,
        up.selection.as_ref(),
        &up.order_by,
        up.limit.as_ref(),
    )
    .unwrap_or_default();
    let or = match up.or {
        Some(SqliteOnConflict::Ignore) => " OR IGNORE",
        _ => "",
    };
    let sql = format!(
        "UPDATE{or} {} SET {}{tail}",
        up.table.relation,
        sets.join(", ")
    );
    let kind = StatementKind::Dml {
        sql,
        verb: DmlVerb::Update,
        table: (db, table),
        auto_increment: None,
    };
    Ok((kind, rw.flags.params))
}

/// DELETE (single table; ORDER BY/LIMIT via a rowid subquery).
pub(crate) fn delete(mut del: Delete, ctx: &Ctx<'_>) -> Dml {
    let from = match &del.from {
        FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => f,
    };
    if !del.tables.is_empty() || del.using.is_some() || from.len() != 1 || !from[0].joins.is_empty()
    {
        return Err(SqlError::unsupported("multi-table DELETE"));
    }
    let (db, table) = split_name(single_table(&from[0].relation)?, ctx)?;
    let mut rw = Rewriter::new(ctx.current_db, &del);
    rw.run(&mut del)?;
    let from = match &del.from {
        FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => f,
    };
    let relation = &from[0].relation;
    let tail = limited_where(
        relation,
        del.selection.as_ref(),
        &del.order_by,
        del.limit.as_ref(),
    )
    .unwrap_or_default();
    let sql = format!("DELETE FROM {relation}{tail}");
    let kind = StatementKind::Dml {
        sql,
        verb: DmlVerb::Delete,
        table: (db, table),
        auto_increment: None,
    };
    Ok((kind, rw.flags.params))
}
