//! Parsing one statement with sqlparser's MySQL dialect, with MySQL-style
//! syntax errors.

use sqlparser::ast::Statement;
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use crate::error::SqlError;

/// Maximum expression nesting accepted; deeper input is rejected instead of
/// risking stack exhaustion in the parser and the rewriter.
const RECURSION_LIMIT: usize = 64;

/// Parses exactly one statement.
pub(crate) fn parse_one(sql: &str) -> Result<Statement, SqlError> {
    let dialect = MySqlDialect {};
    let mut statements = Parser::new(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| SqlError::syntax_at(sql, error_offset(sql, &e.to_string())))?;
    match statements.len() {
        1 => Ok(statements.remove(0)),
        0 => Err(SqlError::syntax_at(sql, 0)),
        _ => Err(SqlError::syntax_at(sql, sql.len())),
    }
}

/// Byte offset of the `Line: N, Column: M` location in a sqlparser error
/// message, or the end of the statement when there is none (EOF errors).
pub(crate) fn error_offset(sql: &str, message: &str) -> usize {
    let Some(at) = message.rfind("Line: ") else {
        return sql.len();
    };
    let rest = &message[at + 6..];
    let mut nums = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse::<usize>().ok());
    let (Some(line), Some(col)) = (nums.next(), nums.next()) else {
        return sql.len();
    };
    let mut offset = 0;
    for (i, l) in sql.split('\n').enumerate() {
        if i + 1 == line {
            let col_bytes: usize = l.chars().take(col.saturating_sub(1)).map(char::len_utf8).sum();
            return offset + col_bytes;
        }
        offset += l.len() + 1;
    }
    sql.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_error_near() {
        let err = parse_one("SELECT * FORM t").unwrap_err();
        match err {
            SqlError::Syntax { near, line } => {
                assert_eq!(line, 1);
                assert!(near.starts_with("t") || near.starts_with("FORM"), "{near}");
            }
            other => panic!("{other:?}"),
        }
    }
}
