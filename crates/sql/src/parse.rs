//! Parsing one statement with sqlparser's MySQL dialect, with MySQL-style
//! syntax errors.

use sqlparser::ast::Statement;
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace};

use crate::error::SqlError;

/// Maximum expression nesting accepted; deeper input is rejected instead of
/// risking stack exhaustion in the parser and the rewriter.
const RECURSION_LIMIT: usize = 64;

/// Parses exactly one statement.
pub(crate) fn parse_one(sql: &str) -> Result<Statement, SqlError> {
    let dialect = MySqlDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| SqlError::syntax_at(sql, error_offset(sql, &e.to_string())))?;
    let tokens = mysql_operators(tokens);
    let mut statements = Parser::new(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(|e| SqlError::syntax_at(sql, error_offset(sql, &e.to_string())))?;
    match statements.len() {
        1 => Ok(statements.remove(0)),
        0 => Err(SqlError::syntax_at(sql, 0)),
        _ => Err(SqlError::syntax_at(sql, sql.len())),
    }
}

/// Table options accepted and ignored (MariaDB/MySQL storage hints).
const IGNORED_TABLE_OPTIONS: [&str; 8] = [
    "PAGE_CHECKSUM",
    "TRANSACTIONAL",
    "STATS_AUTO_RECALC",
    "STATS_SAMPLE_PAGES",
    "PACK_KEYS",
    "CHECKSUM",
    "DELAY_KEY_WRITE",
    "IETF_QUOTES",
];

fn is_char_type_end(t: &Token) -> bool {
    match t {
        Token::RParen => true,
        Token::Word(w) => matches!(
            w.value.to_ascii_uppercase().as_str(),
            "CHAR" | "VARCHAR" | "TEXT" | "TINYTEXT" | "MEDIUMTEXT" | "LONGTEXT"
        ),
        _ => false,
    }
}

fn word_is(t: Option<&TokenWithSpan>, kw: &str) -> bool {
    matches!(t.map(|t| &t.token), Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw))
}

/// Token-level rewrites for MySQL operators sqlparser does not parse the
/// MySQL way: `a MOD b` → `%`, `&&` → AND, `||` → OR (MySQL's default
/// sql_mode), `!x` → NOT, `LOCK IN SHARE MODE` → `FOR SHARE`.
fn mysql_operators(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let significant: Vec<usize> = tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| !matches!(t.token, Token::Whitespace(_)))
        .map(|(i, _)| i)
        .collect();
    let mut out = tokens.clone();
    let space = Token::Whitespace(Whitespace::Space);
    let is_ddl = significant.first().is_some_and(|&i| {
        word_is(Some(&tokens[i]), "CREATE") || word_is(Some(&tokens[i]), "ALTER")
    });
    let mut inserts = Vec::new();
    let mut depth = 0usize;
    for (k, &i) in significant.iter().enumerate() {
        let next = |n: usize| significant.get(k + n).map(|&j| &tokens[j]);
        let t = &tokens[i];
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            _ => {}
        }
        let replacement = match &t.token {
            // MariaDB table options sqlparser does not know: `NAME=value` dropped.
            Token::Word(w)
                if is_ddl
                    && depth == 0
                    && w.quote_style.is_none()
                    && IGNORED_TABLE_OPTIONS
                        .iter()
                        .any(|o| w.value.eq_ignore_ascii_case(o))
                    && matches!(next(1).map(|t| &t.token), Some(Token::Eq)) =>
            {
                if let (Some(&eq), Some(&value)) = (significant.get(k + 1), significant.get(k + 2))
                {
                    out[eq].token = space.clone();
                    out[value].token = space.clone();
                }
                Some(space.clone())
            }
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("MOD") => {
                let is_call = matches!(next(1).map(|t| &t.token), Some(Token::LParen));
                (!is_call && k > 0).then_some(Token::Mod)
            }
            // `VARCHAR(10) BINARY` column attribute → a binary collation.
            Token::Word(w)
                if is_ddl
                    && w.quote_style.is_none()
                    && w.value.eq_ignore_ascii_case("BINARY")
                    && k > 0
                    && is_char_type_end(&tokens[significant[k - 1]].token) =>
            {
                out[i].token = Token::make_keyword("COLLATE");
                inserts.push((i + 1, t.span));
                continue;
            }
            Token::Overlap => Some(Token::make_keyword("AND")),
            Token::StringConcat => Some(Token::make_keyword("OR")),
            Token::ExclamationMark => Some(Token::make_keyword("NOT")),
            Token::Word(w)
                if w.quote_style.is_none()
                    && w.value.eq_ignore_ascii_case("LOCK")
                    && word_is(next(1), "IN")
                    && word_is(next(2), "SHARE")
                    && word_is(next(3), "MODE") =>
            {
                out[significant[k + 1]].token = space.clone();
                out[significant[k + 3]].token = space.clone();
                Some(Token::make_keyword("FOR"))
            }
            _ => None,
        };
        if let Some(r) = replacement {
            out[i].token = r;
        }
    }
    // Insert back to front so earlier positions stay valid.
    for (at, span) in inserts.into_iter().rev() {
        out.insert(
            at,
            TokenWithSpan::new(Token::make_word("binary_attr", None), span),
        );
        out.insert(at, TokenWithSpan::new(space.clone(), span));
    }
    out
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
            let col_bytes: usize = l
                .chars()
                .take(col.saturating_sub(1))
                .map(char::len_utf8)
                .sum();
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
