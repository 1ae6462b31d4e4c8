//! AST rewriting of MySQL expressions and queries into SQLite syntax:
//! identifier quoting, table-name mangling, literals, operators, functions.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, CastKind, DataType, DuplicateTreatment, Expr, FunctionArg, FunctionArgExpr,
    FunctionArgumentClause, FunctionArguments, Ident, ObjectName, ObjectNamePart, Query, Select,
    SetExpr, TableFactor, UnaryOperator, Value, ValueWithSpan, Visit, VisitMut, Visitor,
    VisitorMut,
};

use sqlparser::tokenizer::{Location, Span};

use crate::error::SqlError;
use crate::names::table_key;

/// An expression that renders as the given SQLite text verbatim. The text is
/// always produced by this crate (children rendered by sqlparser, quoted
/// literals), never copied from user input unescaped.
pub(crate) fn raw(text: String) -> Expr {
    Expr::Identifier(Ident {
        value: text,
        quote_style: None,
        span: raw_span(),
    })
}

/// Span marking raw text (line 0 never occurs in parsed input).
fn raw_span() -> Span {
    Span::new(Location::new(0, 0), Location::new(0, 1))
}

/// True for an expression made by [`raw`].
pub(crate) fn is_raw_ident(ident: &Ident) -> bool {
    ident.span == raw_span() && ident.quote_style.is_none()
}

/// Names collected before rewriting: aliases and CTE names (never mangled)
/// and bare table names seen in FROM with their database.
#[derive(Default)]
struct Scope {
    aliases: HashSet<String>,
    ctes: HashSet<String>,
    tables: HashMap<String, String>,
}

impl Visitor for Scope {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.ctes.insert(cte.alias.name.value.to_ascii_lowercase());
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        let alias = match factor {
            TableFactor::Table { alias, .. } | TableFactor::Derived { alias, .. } => alias,
            _ => return ControlFlow::Continue(()),
        };
        if let Some(a) = alias {
            self.aliases.insert(a.name.value.to_ascii_lowercase());
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, name: &ObjectName) -> ControlFlow<()> {
        if let [ObjectNamePart::Identifier(db), ObjectNamePart::Identifier(t)] = name.0.as_slice() {
            self.tables
                .insert(t.value.to_ascii_lowercase(), table_key(&db.value, &t.value));
        }
        ControlFlow::Continue(())
    }
}

struct ParamCounter(usize);

impl Visitor for ParamCounter {
    type Break = ();
    fn pre_visit_value(&mut self, value: &ValueWithSpan) -> ControlFlow<()> {
        if matches!(value.value, Value::Placeholder(_)) {
            self.0 += 1;
        }
        ControlFlow::Continue(())
    }
}

/// Number of `?` placeholders in `node`.
pub(crate) fn count_params<V: Visit>(node: &V) -> usize {
    let mut c = ParamCounter(0);
    let _ = node.visit(&mut c);
    c.0
}

/// Flags gathered while rewriting a query.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct QueryFlags {
    pub locking: bool,
    pub calc_found_rows: bool,
    pub params: usize,
}

/// The rewriting visitor.
pub(crate) struct Rewriter<'a> {
    current_db: Option<&'a str>,
    scope: Scope,
    pub flags: QueryFlags,
}

impl<'a> Rewriter<'a> {
    /// A rewriter for one statement; `node` is scanned for aliases first.
    pub fn new<V: Visit>(current_db: Option<&'a str>, node: &V) -> Self {
        let mut scope = Scope::default();
        let _ = node.visit(&mut scope);
        Rewriter {
            current_db,
            scope,
            flags: QueryFlags::default(),
        }
    }

    /// Runs the rewrite over `node`.
    pub fn run<V: VisitMut>(&mut self, node: &mut V) -> Result<(), SqlError> {
        match node.visit(self) {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(e) => Err(e),
        }
    }

    /// Mangles a table name `[db.]t` into the single quoted SQLite identifier.
    pub fn mangle(&self, name: &mut ObjectName) -> Result<(), SqlError> {
        let parts: Vec<&Ident> = name
            .0
            .iter()
            .filter_map(|p| match p {
                ObjectNamePart::Identifier(i) => Some(i),
                _ => None,
            })
            .collect();
        if parts.iter().any(|p| p.quote_style == Some('"')) {
            return Ok(()); // already mangled
        }
        let key = match parts.as_slice() {
            [t] => {
                if self.scope.ctes.contains(&t.value.to_ascii_lowercase()) {
                    return Ok(());
                }
                let db = self.current_db.ok_or(SqlError::NoDatabaseSelected)?;
                table_key(db, &t.value)
            }
            [db, t] => table_key(&db.value, &t.value),
            _ => return Err(SqlError::unsupported(format!("table name {name}"))),
        };
        *name = ObjectName(vec![ObjectNamePart::Identifier(Ident::with_quote(
            '"', key,
        ))]);
        Ok(())
    }

    fn column_ref(&self, parts: &[Ident]) -> Option<Expr> {
        let q = |s: &str| Ident::with_quote('"', s);
        match parts {
            [db, t, c] => Some(Expr::CompoundIdentifier(vec![
                q(&table_key(&db.value, &t.value)),
                q(&c.value),
            ])),
            [t, c] => {
                let lower = t.value.to_ascii_lowercase();
                if self.scope.aliases.contains(&lower) || self.scope.ctes.contains(&lower) {
                    return None;
                }
                let key = match self.scope.tables.get(&lower) {
                    Some(k) => k.clone(),
                    None => table_key(self.current_db?, &t.value),
                };
                Some(Expr::CompoundIdentifier(vec![q(&key), q(&c.value)]))
            }
            _ => None,
        }
    }
}

fn render_args(args: &FunctionArguments) -> Vec<String> {
    match args {
        FunctionArguments::List(list) => list.args.iter().map(|a| a.to_string()).collect(),
        _ => Vec::new(),
    }
}

fn arg_exprs(args: &FunctionArguments) -> Vec<&Expr> {
    match args {
        FunctionArguments::List(list) => list
            .args
            .iter()
            .filter_map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn interval_call(date: &Expr, interval: &Expr, negate: bool) -> Option<Expr> {
    let Expr::Interval(iv) = interval else {
        return None;
    };
    let unit = iv.leading_field.as_ref().map_or_else(
        || "SECOND".to_string(),
        |f| f.to_string().to_ascii_uppercase(),
    );
    let value = &iv.value;
    let n = if negate {
        format!("-({value})")
    } else {
        value.to_string()
    };
    Some(raw(format!("date_add_interval({date}, {n}, '{unit}')")))
}

/// SQLite rendering of a MySQL CAST target applied to `inner`.
fn cast_to(inner: &Expr, data_type: &DataType) -> Result<Expr, SqlError> {
    let ty = data_type.to_string().to_ascii_uppercase();
    let base = ty.split(['(', ' ']).next().unwrap_or("");
    let text = match base {
        "SIGNED" | "UNSIGNED" | "INT" | "INTEGER" | "BIGINT" => format!("CAST({inner} AS INTEGER)"),
        "CHAR" | "VARCHAR" | "NCHAR" | "TEXT" | "CHARACTER" => format!("CAST({inner} AS TEXT)"),
        "DECIMAL" | "NUMERIC" | "DEC" => format!("CAST({inner} AS NUMERIC)"),
        "DOUBLE" | "FLOAT" | "REAL" => format!("CAST({inner} AS REAL)"),
        "DATE" => format!("date({inner})"),
        "DATETIME" | "TIMESTAMP" => format!("datetime({inner})"),
        "TIME" => format!("time({inner})"),
        "JSON" => format!("json({inner})"),
        "BINARY" | "VARBINARY" | "BLOB" => format!("CAST({inner} AS BLOB)"),
        _ => return Err(SqlError::unsupported(format!("CAST AS {ty}"))),
    };
    Ok(raw(text))
}

fn collation_for(name: &ObjectName) -> &'static str {
    let n = name
        .to_string()
        .to_ascii_lowercase()
        .replace(['"', '`'], "");
    if n.ends_with("_bin") || n.contains("binary") || n.ends_with("_cs") {
        "BINARY"
    } else {
        "NOCASE"
    }
}

impl Rewriter<'_> {
    fn rewrite_function(&self, f: &sqlparser::ast::Function) -> Result<Option<Expr>, SqlError> {
        let name = f.name.to_string().to_ascii_lowercase();
        let name = name.trim_matches('"');
        let args = arg_exprs(&f.args);
        let out = match name {
            "current_timestamp" | "localtime" | "localtimestamp" | "now" | "sysdate" => {
                raw(format!("now({})", render_args(&f.args).join(", ")))
            }
            "current_date" | "curdate" => raw("curdate()".into()),
            "current_time" | "curtime" => {
                raw(format!("curtime({})", render_args(&f.args).join(", ")))
            }
            "current_user" | "session_user" | "system_user" => raw("user()".into()),
            "schema" => raw("database()".into()),
            "date_add" | "adddate" | "date_sub" | "subdate" => {
                let negate = name.ends_with("sub") || name == "subdate";
                match args.as_slice() {
                    [d, iv @ Expr::Interval(_)] => {
                        interval_call(d, iv, negate).unwrap_or_else(|| raw(String::new()))
                    }
                    [d, n] => raw(format!(
                        "date_add_interval({d}, {}, 'DAY')",
                        if negate {
                            format!("-({n})")
                        } else {
                            n.to_string()
                        }
                    )),
                    _ => return Ok(None),
                }
            }
            "group_concat" => return self.group_concat(f).map(Some),
            _ => return Ok(None),
        };
        Ok(Some(out))
    }

    fn group_concat(&self, f: &sqlparser::ast::Function) -> Result<Expr, SqlError> {
        let FunctionArguments::List(list) = &f.args else {
            return Err(SqlError::unsupported("GROUP_CONCAT without arguments"));
        };
        let distinct = matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct));
        let parts: Vec<String> = list.args.iter().map(|a| a.to_string()).collect();
        let value = if parts.len() == 1 {
            parts[0].clone()
        } else {
            parts
                .iter()
                .map(|p| format!("COALESCE({p}, NULL)"))
                .collect::<Vec<_>>()
                .join(" || ")
        };
        let mut separator = None;
        let mut order = None;
        for clause in &list.clauses {
            match clause {
                FunctionArgumentClause::Separator(v) => separator = Some(v.value.clone()),
                FunctionArgumentClause::OrderBy(o) => {
                    order = Some(
                        o.iter()
                            .map(|e| e.to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                    )
                }
                other => return Err(SqlError::unsupported(format!("GROUP_CONCAT {other}"))),
            }
        }
        let sep = match separator {
            Some(Value::SingleQuotedString(s)) | Some(Value::DoubleQuotedString(s)) => s,
            Some(other) => {
                return Err(SqlError::unsupported(format!(
                    "GROUP_CONCAT SEPARATOR {other}"
                )))
            }
            None => ",".to_string(),
        };
        let order = order.map(|o| format!(" ORDER BY {o}")).unwrap_or_default();
        if distinct {
            if sep != "," {
                return Err(SqlError::unsupported(
                    "GROUP_CONCAT(DISTINCT … SEPARATOR other than ',')",
                ));
            }
            return Ok(raw(format!("group_concat(DISTINCT {value}{order})")));
        }
        Ok(raw(format!(
            "group_concat({value}, {}{order})",
            crate::names::quote_literal(&sep)
        )))
    }

    fn rewrite_expr(&self, expr: &Expr) -> Result<Option<Expr>, SqlError> {
        let out = match expr {
            Expr::Identifier(id) if is_raw_ident(id) => None,
            Expr::Identifier(id) if id.quote_style.is_none() && id.value.starts_with('@') => {
                Some(variable_ref(&id.value, None))
            }
            Expr::CompoundIdentifier(parts)
                if parts.first().is_some_and(|p| p.value.starts_with("@@")) =>
            {
                let rest: Vec<&str> = parts[1..].iter().map(|p| p.value.as_str()).collect();
                Some(variable_ref(&parts[0].value, Some(&rest.join("."))))
            }
            Expr::CompoundIdentifier(parts) => self.column_ref(parts),
            Expr::BinaryOp { left, op, right } => match op {
                BinaryOperator::Spaceship => {
                    Some(Expr::IsNotDistinctFrom(left.clone(), right.clone()))
                }
                BinaryOperator::MyIntegerDivide => {
                    Some(raw(format!("CAST(({left}) / ({right}) AS INTEGER)")))
                }
                BinaryOperator::Xor => {
                    Some(raw(format!("((({left}) <> 0) + (({right}) <> 0) = 1)")))
                }
                BinaryOperator::Plus => {
                    interval_call(left, right, false).or_else(|| interval_call(right, left, false))
                }
                BinaryOperator::Minus => interval_call(left, right, true),
                BinaryOperator::Eq
                | BinaryOperator::NotEq
                | BinaryOperator::Lt
                | BinaryOperator::LtEq
                | BinaryOperator::Gt
                | BinaryOperator::GtEq => exact_comparison(left, op, right),
                _ => None,
            },
            Expr::UnaryOp {
                op: UnaryOperator::BangNot,
                expr,
            } => Some(raw(format!("(NOT ({expr}))"))),
            Expr::Extract { field, expr, .. } => Some(raw(format!(
                "extract_unit('{}', {expr})",
                field.to_string().to_ascii_uppercase()
            ))),
            // MySQL `BINARY x`: sqlparser parses it as a cast of the whole
            // following expression (`BINARY a = b` → `CAST(a = b AS BINARY)`).
            Expr::Cast {
                kind: CastKind::Cast,
                expr,
                data_type: DataType::Binary(None),
                ..
            } => Some(binary_prefix(expr)),
            Expr::Cast {
                kind: CastKind::Cast,
                expr,
                data_type,
                ..
            } => Some(cast_to(expr, data_type)?),
            Expr::Convert {
                expr,
                data_type: Some(dt),
                ..
            } => Some(cast_to(expr, dt)?),
            Expr::Convert {
                expr,
                data_type: None,
                ..
            } => Some((**expr).clone()),
            Expr::Collate { expr, collation } => Some(raw(format!(
                "({expr} COLLATE {})",
                collation_for(collation)
            ))),
            Expr::Function(f) => self.rewrite_function(f)?,
            Expr::RLike {
                negated,
                expr,
                pattern,
                ..
            } => Some(Expr::RLike {
                negated: *negated,
                expr: expr.clone(),
                pattern: pattern.clone(),
                regexp: true,
            }),
            // `_utf8mb4'x'`, `DATE '2024-01-01'`: the string itself.
            Expr::TypedString(ts) => Some(Expr::Value(ts.value.clone())),
            Expr::Prefixed { prefix, value } if prefix.value.starts_with('_') => {
                Some((**value).clone())
            }
            Expr::MatchAgainst { .. } => return Err(SqlError::unsupported("MATCH … AGAINST")),
            _ => None,
        };
        Ok(out)
    }
}

/// `column <op> literal` where the literal has more digits than a REAL keeps:
/// the literal becomes text. SQLite would parse it as a REAL and, against a
/// DECIMAL column (TEXT affinity), compare the REAL's rendering; as text it
/// compares exactly through the column's collation. Numeric columns apply
/// NUMERIC affinity to the text, so they see the same number as before.
fn exact_comparison(left: &Expr, op: &BinaryOperator, right: &Expr) -> Option<Expr> {
    let is_column = |e: &Expr| match e {
        Expr::Identifier(id) => !is_raw_ident(id),
        Expr::CompoundIdentifier(_) => true,
        _ => false,
    };
    let (l, r) = if is_column(left) {
        (
            left.clone(),
            Expr::Value(Value::SingleQuotedString(lossy_literal(right)?).into()),
        )
    } else if is_column(right) {
        (
            Expr::Value(Value::SingleQuotedString(lossy_literal(left)?).into()),
            right.clone(),
        )
    } else {
        return None;
    };
    Some(Expr::BinaryOp {
        left: Box::new(l),
        op: op.clone(),
        right: Box::new(r),
    })
}

/// The text of a numeric literal (optionally negated) that an f64 cannot hold
/// exactly: a fraction or exponent with more than 15 significant digits, or
/// an integer outside i64 (SQLite keeps other integers exact).
fn lossy_literal(e: &Expr) -> Option<String> {
    let text = number_text(e)?;
    let mantissa = text.split(['e', 'E']).next().unwrap_or("");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    let fits_integer = text.parse::<i64>().is_ok();
    (!fits_integer && significant > 15).then_some(text)
}

/// `12.5` or `-12.5` as written.
fn number_text(e: &Expr) -> Option<String> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => Some(n.clone()),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => Some(format!("-{}", number_text(expr)?)),
        _ => None,
    }
}

fn binary_prefix(inner: &Expr) -> Expr {
    match inner {
        Expr::BinaryOp { left, op, right }
            if matches!(
                op,
                BinaryOperator::Eq
                    | BinaryOperator::NotEq
                    | BinaryOperator::Lt
                    | BinaryOperator::LtEq
                    | BinaryOperator::Gt
                    | BinaryOperator::GtEq
            ) =>
        {
            Expr::BinaryOp {
                left: Box::new(raw(format!("({left} COLLATE BINARY)"))),
                op: op.clone(),
                right: right.clone(),
            }
        }
        other => raw(format!("({other} COLLATE BINARY)")),
    }
}

fn variable_ref(head: &str, rest: Option<&str>) -> Expr {
    if let Some(sys) = head.strip_prefix("@@") {
        let full = match rest {
            Some(r) if !r.is_empty() => format!("{sys}.{r}"),
            _ => sys.to_string(),
        };
        let lower = full.to_ascii_lowercase();
        let name = lower
            .strip_prefix("session.")
            .or_else(|| lower.strip_prefix("local."))
            .unwrap_or(&lower);
        return raw(format!(
            "borealis_sysvar({})",
            crate::names::quote_literal(name)
        ));
    }
    let name = head.trim_start_matches('@').trim_matches(['`', '\'', '"']);
    raw(format!(
        "borealis_uservar({})",
        crate::names::quote_literal(&name.to_ascii_lowercase())
    ))
}

fn is_dual(select: &Select) -> bool {
    match select.from.as_slice() {
        [twj] if twj.joins.is_empty() => match &twj.relation {
            TableFactor::Table {
                name, alias: None, ..
            } => name.to_string().eq_ignore_ascii_case("dual"),
            _ => false,
        },
        _ => false,
    }
}

impl VisitorMut for Rewriter<'_> {
    type Break = SqlError;

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<SqlError> {
        if !query.locks.is_empty() {
            self.flags.locking = true;
            query.locks.clear();
        }
        if query.for_clause.is_some() {
            return ControlFlow::Break(SqlError::unsupported("FOR XML/JSON"));
        }
        if let SetExpr::Select(select) = query.body.as_mut() {
            if select.into.is_some() {
                return ControlFlow::Break(SqlError::unsupported("SELECT … INTO"));
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<SqlError> {
        if let Some(m) = select.select_modifiers.take() {
            self.flags.calc_found_rows |= m.sql_calc_found_rows;
        }
        select.optimizer_hints.clear();
        if let sqlparser::ast::GroupByExpr::Expressions(_, modifiers) = &select.group_by {
            if !modifiers.is_empty() {
                return ControlFlow::Break(SqlError::unsupported("GROUP BY … WITH ROLLUP"));
            }
        }
        if is_dual(select) {
            select.from.clear();
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<SqlError> {
        if let TableFactor::Table { index_hints, .. } = factor {
            index_hints.clear();
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, name: &mut ObjectName) -> ControlFlow<SqlError> {
        match self.mangle(name) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }

    fn pre_visit_ident(&mut self, ident: &mut Ident) -> ControlFlow<SqlError> {
        if !ident.value.starts_with('@') && !is_raw_ident(ident) {
            ident.quote_style = Some('"');
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_value(&mut self, value: &mut ValueWithSpan) -> ControlFlow<SqlError> {
        let v = &mut value.value;
        if let Value::SingleQuotedString(s)
        | Value::DoubleQuotedString(s)
        | Value::NationalStringLiteral(s) = v
        {
            if let Some(hex) = crate::raw_bytes::hex_if_binary(s) {
                *v = Value::HexStringLiteral(hex);
                return ControlFlow::Continue(());
            }
        }
        match v {
            Value::DoubleQuotedString(s) | Value::NationalStringLiteral(s) => {
                *v = Value::SingleQuotedString(std::mem::take(s));
            }
            Value::SingleQuotedByteStringLiteral(bits)
            | Value::DoubleQuotedByteStringLiteral(bits) => match u64::from_str_radix(bits, 2) {
                Ok(n) => *v = Value::Number(n.to_string(), false),
                Err(_) => {
                    return ControlFlow::Break(SqlError::unsupported(
                        "bit literal wider than 64 bits",
                    ))
                }
            },
            Value::Placeholder(_) => self.flags.params += 1,
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<SqlError> {
        if let Expr::Function(f) = expr {
            for part in &mut f.name.0 {
                if let ObjectNamePart::Identifier(i) = part {
                    i.quote_style = None;
                }
            }
        }
        match self.rewrite_expr(expr) {
            Ok(Some(new)) => *expr = new,
            Ok(None) => {}
            Err(e) => return ControlFlow::Break(e),
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::MySqlDialect;
    use sqlparser::parser::Parser;

    fn rewrite(sql: &str, db: Option<&str>) -> Result<String, SqlError> {
        let mut stmts = Parser::parse_sql(&MySqlDialect {}, sql)
            .map_err(|e| SqlError::unsupported(e.to_string()))?;
        let mut rw = Rewriter::new(db, &stmts[0]);
        rw.run(&mut stmts[0])?;
        Ok(stmts[0].to_string())
    }

    #[test]
    fn variables() {
        assert_eq!(
            variable_ref("@@GLOBAL", Some("x")).to_string(),
            "borealis_sysvar('global.x')"
        );
        assert_eq!(
            variable_ref("@@local", Some("y")).to_string(),
            "borealis_sysvar('y')"
        );
        assert_eq!(
            variable_ref("@V", None).to_string(),
            "borealis_uservar('v')"
        );
    }

    #[test]
    fn aliases_and_ctes_are_not_mangled() {
        assert_eq!(
            rewrite("WITH w AS (SELECT 1 AS a) SELECT w.a, x.b FROM w JOIN t AS x ON 1", Some("d")).unwrap(),
            "WITH \"w\" AS (SELECT 1 AS \"a\") SELECT \"w\".\"a\", \"x\".\"b\" FROM \"w\" JOIN \"d.t\" AS \"x\" ON 1"
        );
    }

    #[test]
    fn qualified_table_without_current_db() {
        assert_eq!(
            rewrite("SELECT t.c FROM s.t", None).unwrap(),
            "SELECT \"s.t\".\"c\" FROM \"s.t\""
        );
        assert_eq!(
            rewrite("SELECT c FROM t", None),
            Err(SqlError::NoDatabaseSelected)
        );
    }

    #[test]
    fn long_literals_compared_with_columns_stay_exact() {
        assert_eq!(
            rewrite(
                "SELECT d FROM t WHERE d = 12345678901234.567890",
                Some("db")
            )
            .unwrap(),
            "SELECT \"d\" FROM \"db.t\" WHERE \"d\" = '12345678901234.567890'"
        );
        assert_eq!(
            rewrite(
                "SELECT 1 FROM t WHERE -12345678901234.567890 < t.d",
                Some("db")
            )
            .unwrap(),
            "SELECT 1 FROM \"db.t\" WHERE '-12345678901234.567890' < \"db.t\".\"d\""
        );
        // Short literals and plain integers are exact as SQLite numbers.
        assert_eq!(
            rewrite(
                "SELECT d FROM t WHERE d = 12.50 AND i = 123456789012345678",
                Some("db")
            )
            .unwrap(),
            "SELECT \"d\" FROM \"db.t\" WHERE \"d\" = 12.50 AND \"i\" = 123456789012345678"
        );
    }

    #[test]
    fn raw_is_not_requoted() {
        let e = raw("f(x)".into());
        assert!(matches!(&e, Expr::Identifier(i) if is_raw_ident(i)));
        assert_eq!(e.to_string(), "f(x)");
    }
}
