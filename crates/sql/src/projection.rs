//! Result column names as MySQL derives them: an expression without an alias is named by its
//! text as the client wrote it (`SELECT 1+1` → column `1+1`, `SELECT @@version_comment` →
//! `@@version_comment`). The rewrite changes that text (`borealis_sysvar('version_comment')`),
//! so unaliased expressions get an explicit alias taken from the original statement first.

use sqlparser::ast::{Expr, Ident, Query, SelectItem, SetExpr, Spanned};

/// MySQL truncates derived column names; so do we (and never alias from garbage spans).
const MAX_NAME_CHARS: usize = 256;

/// Aliases the unaliased, non-column expressions of the query's first SELECT (the one that
/// names the columns of a UNION) with their source text in `sql`.
pub fn name_unaliased_expressions(query: &mut Query, sql: &str) {
    let Some(select) = first_select(&mut query.body) else {
        return;
    };
    let line_starts = line_starts(sql);
    for item in select.projection.iter_mut() {
        let SelectItem::UnnamedExpr(expr) = item else {
            continue;
        };
        if is_plain_column(expr) {
            continue;
        }
        let Some(text) = source_text(expr, sql, &line_starts) else {
            continue;
        };
        let alias = Ident::with_quote('"', text);
        *item = SelectItem::ExprWithAlias {
            expr: expr.clone(),
            alias,
        };
    }
}

/// A column reference keeps its own name; `@@var` / `@var` parse as identifiers but are not.
fn is_plain_column(expr: &Expr) -> bool {
    match expr {
        Expr::Identifier(i) => !i.value.starts_with('@'),
        Expr::CompoundIdentifier(parts) => parts.first().is_some_and(|i| !i.value.starts_with('@')),
        _ => false,
    }
}

fn first_select(body: &mut SetExpr) -> Option<&mut sqlparser::ast::Select> {
    match body {
        SetExpr::Select(s) => Some(s),
        SetExpr::Query(q) => first_select(&mut q.body),
        SetExpr::SetOperation { left, .. } => first_select(left),
        _ => None,
    }
}

fn line_starts(sql: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(sql.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// The text of `expr` in `sql`, from its span (1-based line and character column).
fn source_text(expr: &Expr, sql: &str, line_starts: &[usize]) -> Option<String> {
    let span = expr.span();
    let start = offset(sql, line_starts, span.start.line, span.start.column)?;
    let mut end = offset(sql, line_starts, span.end.line, span.end.column)?;
    if matches!(expr, Expr::Function(_)) {
        // sqlparser's span of a call stops before its argument list's closing parenthesis
        // (or before the list itself): extend to the end of the balanced list.
        end = close_call(sql, start, end)?;
    }
    let text = sql.get(start..end)?.trim();
    if text.is_empty() || text.chars().count() > MAX_NAME_CHARS {
        return None;
    }
    Some(text.to_string())
}

/// The offset just past the parenthesised argument list of the call starting at `start`.
fn close_call(sql: &str, start: usize, end: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut seen_open = false;
    for (i, c) in sql.get(start..)?.char_indices() {
        let at = start + i;
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '(') => {
                depth += 1;
                seen_open = true;
            }
            (None, ')') => {
                depth -= 1;
                if depth == 0 && seen_open && at + 1 >= end {
                    return Some(at + 1);
                }
            }
            _ => {}
        }
    }
    None
}

fn offset(sql: &str, line_starts: &[usize], line: u64, column: u64) -> Option<usize> {
    let line_start = *line_starts.get(usize::try_from(line).ok()?.checked_sub(1)?)?;
    let col = usize::try_from(column).ok()?.checked_sub(1)?;
    let rest = sql.get(line_start..)?;
    match rest.char_indices().nth(col) {
        Some((i, _)) => Some(line_start + i),
        None if rest.chars().count() == col => Some(sql.len()),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::MySqlDialect;
    use sqlparser::parser::Parser;

    fn names(sql: &str) -> Vec<String> {
        let mut stmts = Parser::parse_sql(&MySqlDialect {}, sql).expect("parses");
        let sqlparser::ast::Statement::Query(q) = &mut stmts[0] else {
            panic!("not a query")
        };
        name_unaliased_expressions(q, sql);
        let SetExpr::Select(s) = q.body.as_ref() else {
            panic!("not a select")
        };
        s.projection
            .iter()
            .map(|i| match i {
                SelectItem::ExprWithAlias { alias, .. } => alias.value.clone(),
                other => other.to_string(),
            })
            .collect()
    }

    #[test]
    fn expressions_are_named_by_their_text() {
        assert_eq!(
            names("SELECT 1+1, @@version_comment, a, t.b, COUNT(*) AS n FROM t"),
            vec!["1+1", "@@version_comment", "a", "t.b", "n"]
        );
        assert_eq!(
            names("SELECT\n  NOW(),\n  CONCAT('a', 'é')"),
            vec!["NOW()", "CONCAT('a', 'é')"]
        );
    }
}
