//! JSON helpers SQLite's JSON1 lacks: MySQL's `JSON_UNQUOTE()`.

use rusqlite::Connection;

use crate::error::FunctionError;
use crate::registry::{pure, Arity};
use crate::value::SqlValue;

/// Registers `json_unquote`.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    pure(conn, &["json_unquote"], Arity::Exactly(&[1]), json_unquote)
}

fn json_unquote(args: &[SqlValue]) -> Result<SqlValue, FunctionError> {
    let Some(s) = args[0].as_text() else {
        return Ok(SqlValue::Null);
    };
    Ok(SqlValue::Text(unquote(&s).unwrap_or(s)))
}

/// Unquotes a JSON string literal; `None` when `s` is not one (MySQL then
/// returns the input unchanged).
pub fn unquote(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            '/' => out.push('/'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = u32::from_str_radix(&hex, 16).ok()?;
                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquote_rules() {
        assert_eq!(unquote("\"abc\"").as_deref(), Some("abc"));
        assert_eq!(unquote(r#""a\"b\n\u0041""#).as_deref(), Some("a\"b\nA"));
        assert_eq!(unquote("[1,2]"), None);
        assert_eq!(unquote("\""), None);
    }
}
