//! String functions with MySQL semantics (character positions, NULL rules,
//! case-insensitive searching under the default collation).

use std::cmp::Ordering;

use rusqlite::Connection;

use crate::collation::{compare_ci, eq_ci, fold_char};
use crate::error::FunctionError;
use crate::null_if_any_null;
use crate::registry::{pure, Arity};
use crate::value::SqlValue;

type R = Result<SqlValue, FunctionError>;

/// Largest string a function may build (MySQL's default `max_allowed_packet`,
/// 64 MiB); larger results are NULL, as in MySQL.
pub const MAX_RESULT_BYTES: u64 = 64 * 1024 * 1024;

const ONE: Arity = Arity::Exactly(&[1]);
const TWO: Arity = Arity::Exactly(&[2]);
const THREE: Arity = Arity::Exactly(&[3]);

/// Registers the string functions.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    pure(conn, &["concat"], Arity::AtLeast(1), concat)?;
    pure(conn, &["concat_ws"], Arity::AtLeast(2), concat_ws)?;
    pure(conn, &["length", "octet_length"], ONE, |a| {
        Ok(a[0]
            .as_bytes()
            .map_or(SqlValue::Null, |b| SqlValue::Integer(b.len() as i64)))
    })?;
    pure(conn, &["char_length", "character_length"], ONE, char_length)?;
    pure(conn, &["lower", "lcase"], ONE, |a| {
        map_text(a, |s| s.to_lowercase())
    })?;
    pure(conn, &["upper", "ucase"], ONE, |a| {
        map_text(a, |s| s.to_uppercase())
    })?;
    pure(conn, &["reverse"], ONE, |a| {
        map_text(a, |s| s.chars().rev().collect())
    })?;
    pure(conn, &["ltrim"], ONE, |a| {
        map_text(a, |s| s.trim_start_matches(' ').to_string())
    })?;
    pure(conn, &["rtrim"], ONE, |a| {
        map_text(a, |s| s.trim_end_matches(' ').to_string())
    })?;
    pure(conn, &["trim"], ONE, |a| {
        map_text(a, |s| s.trim_matches(' ').to_string())
    })?;
    pure(conn, &["trim", "trim_both"], TWO, |a| {
        trim_with(a, true, true)
    })?;
    pure(conn, &["trim_leading"], TWO, |a| trim_with(a, true, false))?;
    pure(conn, &["trim_trailing"], TWO, |a| trim_with(a, false, true))?;
    pure(conn, &["left"], TWO, left)?;
    pure(conn, &["right"], TWO, right)?;
    pure(
        conn,
        &["substring", "substr", "mid"],
        Arity::Exactly(&[2, 3]),
        substring,
    )?;
    pure(conn, &["substring_index"], THREE, substring_index)?;
    pure(conn, &["locate"], Arity::Exactly(&[2, 3]), locate)?;
    pure(conn, &["position"], TWO, locate)?;
    pure(conn, &["instr"], TWO, |a| {
        locate(&[a[1].clone(), a[0].clone()])
    })?;
    pure(conn, &["lpad"], THREE, |a| pad(a, true))?;
    pure(conn, &["rpad"], THREE, |a| pad(a, false))?;
    pure(conn, &["repeat"], TWO, repeat)?;
    pure(conn, &["space"], ONE, space)?;
    // INSERT is an SQLite keyword: call it as "insert"(…) or borealis_insert(…).
    pure(
        conn,
        &["insert", "borealis_insert"],
        Arity::Exactly(&[4]),
        insert,
    )?;
    pure(conn, &["field"], Arity::AtLeast(2), field)?;
    pure(conn, &["find_in_set"], TWO, find_in_set)?;
    pure(conn, &["elt"], Arity::AtLeast(2), elt)?;
    pure(conn, &["strcmp"], TWO, strcmp)?;
    pure(conn, &["ascii"], ONE, ascii)?;
    pure(conn, &["ord"], ONE, ord)?;
    pure(conn, &["char"], Arity::AtLeast(1), char_fn)?;
    pure(conn, &["quote"], ONE, quote)
}

/// Text result, or a blob when the bytes are not UTF-8 (MySQL binary string).
pub fn bytes_result(bytes: Vec<u8>) -> SqlValue {
    match String::from_utf8(bytes) {
        Ok(s) => SqlValue::Text(s),
        Err(e) => SqlValue::Blob(e.into_bytes()),
    }
}

fn checked_size(function: &'static str, size: u64) -> Result<bool, FunctionError> {
    if size > MAX_RESULT_BYTES {
        tracing::debug!(
            function,
            size,
            "result larger than max_allowed_packet; returning NULL"
        );
        return Ok(false);
    }
    Ok(true)
}

fn concat(args: &[SqlValue]) -> R {
    null_if_any_null!(args);
    let mut out = Vec::new();
    for a in args {
        out.extend(a.as_bytes().unwrap_or_default());
        if !checked_size("concat", out.len() as u64)? {
            return Ok(SqlValue::Null);
        }
    }
    Ok(bytes_result(out))
}

fn concat_ws(args: &[SqlValue]) -> R {
    let Some(sep) = args[0].as_bytes() else {
        return Ok(SqlValue::Null);
    };
    let mut out = Vec::new();
    let mut first = true;
    for part in args[1..].iter().filter_map(SqlValue::as_bytes) {
        if !first {
            out.extend_from_slice(&sep);
        }
        first = false;
        out.extend(part);
        if !checked_size("concat_ws", out.len() as u64)? {
            return Ok(SqlValue::Null);
        }
    }
    Ok(bytes_result(out))
}

fn char_length(args: &[SqlValue]) -> R {
    Ok(match &args[0] {
        SqlValue::Null => SqlValue::Null,
        SqlValue::Blob(b) => SqlValue::Integer(b.len() as i64),
        other => SqlValue::Integer(other.as_text().map_or(0, |s| s.chars().count()) as i64),
    })
}

fn map_text(args: &[SqlValue], f: impl Fn(&str) -> String) -> R {
    Ok(match &args[0] {
        SqlValue::Null => SqlValue::Null,
        other => SqlValue::Text(f(&other.as_text().unwrap_or_default())),
    })
}

fn trim_with(args: &[SqlValue], leading: bool, trailing: bool) -> R {
    null_if_any_null!(args);
    let (Some(s), Some(rem)) = (args[0].as_text(), args[1].as_text()) else {
        return Ok(SqlValue::Null);
    };
    let mut rest = s.as_str();
    if !rem.is_empty() {
        if leading {
            while let Some(r) = rest.strip_prefix(rem.as_str()) {
                rest = r;
            }
        }
        if trailing {
            while let Some(r) = rest.strip_suffix(rem.as_str()) {
                rest = r;
            }
        }
    }
    Ok(SqlValue::Text(rest.to_string()))
}

fn text_and_int(args: &[SqlValue]) -> Option<(Vec<char>, i64)> {
    Some((args[0].as_text()?.chars().collect(), args[1].as_i64()?))
}

fn left(args: &[SqlValue]) -> R {
    let Some((chars, n)) = text_and_int(args) else {
        return Ok(SqlValue::Null);
    };
    let n = n.clamp(0, chars.len() as i64) as usize;
    Ok(SqlValue::Text(chars[..n].iter().collect()))
}

fn right(args: &[SqlValue]) -> R {
    let Some((chars, n)) = text_and_int(args) else {
        return Ok(SqlValue::Null);
    };
    let n = n.clamp(0, chars.len() as i64) as usize;
    Ok(SqlValue::Text(chars[chars.len() - n..].iter().collect()))
}

/// MySQL SUBSTRING: 1-based `pos`, negative counts from the end, 0 → ''.
pub fn substring_chars(chars: &[char], pos: i64, len: Option<i64>) -> String {
    let n = chars.len() as i64;
    let start = match pos {
        0 => return String::new(),
        p if p > 0 => p - 1,
        p => n + p,
    };
    if start < 0 || start >= n {
        return String::new();
    }
    let end = match len {
        Some(l) if l <= 0 => return String::new(),
        Some(l) => start.saturating_add(l).min(n),
        None => n,
    };
    chars[start as usize..end as usize].iter().collect()
}

fn substring(args: &[SqlValue]) -> R {
    null_if_any_null!(args);
    let Some((chars, pos)) = text_and_int(args) else {
        return Ok(SqlValue::Null);
    };
    let len = args.get(2).and_then(SqlValue::as_i64);
    Ok(SqlValue::Text(substring_chars(&chars, pos, len)))
}

fn substring_index(args: &[SqlValue]) -> R {
    null_if_any_null!(args);
    let (Some(s), Some(delim), Some(count)) =
        (args[0].as_text(), args[1].as_text(), args[2].as_i64())
    else {
        return Ok(SqlValue::Null);
    };
    if delim.is_empty() || count == 0 {
        return Ok(SqlValue::Text(String::new()));
    }
    let positions: Vec<usize> = s.match_indices(delim.as_str()).map(|(i, _)| i).collect();
    let k = count.unsigned_abs();
    if k > positions.len() as u64 {
        return Ok(SqlValue::Text(s));
    }
    let k = k as usize;
    let result = if count > 0 {
        &s[..positions[k - 1]]
    } else {
        &s[positions[positions.len() - k] + delim.len()..]
    };
    Ok(SqlValue::Text(result.to_string()))
}

/// 1-based case-insensitive position of `needle` in `hay` at or after
/// character `from` (1-based); 0 when absent.
pub fn locate_ci(needle: &str, hay: &str, from: i64) -> i64 {
    let hay: Vec<char> = hay.chars().map(fold_char).collect();
    let needle: Vec<char> = needle.chars().map(fold_char).collect();
    if from < 1 || from > hay.len() as i64 + 1 {
        return 0;
    }
    let start = (from - 1) as usize;
    if needle.is_empty() {
        return from;
    }
    if needle.len() > hay.len() {
        return 0;
    }
    (start..=hay.len() - needle.len())
        .find(|&i| hay[i..i + needle.len()] == needle[..])
        .map_or(0, |i| i as i64 + 1)
}

fn locate(args: &[SqlValue]) -> R {
    null_if_any_null!(args);
    let (Some(needle), Some(hay)) = (args[0].as_text(), args[1].as_text()) else {
        return Ok(SqlValue::Null);
    };
    let from = args.get(2).and_then(SqlValue::as_i64).unwrap_or(1);
    Ok(SqlValue::Integer(locate_ci(&needle, &hay, from)))
}

fn pad(args: &[SqlValue], left: bool) -> R {
    null_if_any_null!(args);
    let (Some(s), Some(len), Some(padding)) =
        (args[0].as_text(), args[1].as_i64(), args[2].as_text())
    else {
        return Ok(SqlValue::Null);
    };
    if len < 0 || !checked_size("lpad", (len as u64).saturating_mul(4))? {
        return Ok(SqlValue::Null);
    }
    let len = len as usize;
    let chars: Vec<char> = s.chars().collect();
    if len <= chars.len() {
        return Ok(SqlValue::Text(chars[..len].iter().collect()));
    }
    if padding.is_empty() {
        return Ok(SqlValue::Null);
    }
    let fill: String = padding.chars().cycle().take(len - chars.len()).collect();
    Ok(SqlValue::Text(if left { fill + &s } else { s + &fill }))
}

fn repeat(args: &[SqlValue]) -> R {
    null_if_any_null!(args);
    let (Some(s), Some(n)) = (args[0].as_text(), args[1].as_i64()) else {
        return Ok(SqlValue::Null);
    };
    if n <= 0 || s.is_empty() {
        return Ok(SqlValue::Text(String::new()));
    }
    if !checked_size("repeat", (s.len() as u64).saturating_mul(n as u64))? {
        return Ok(SqlValue::Null);
    }
    Ok(SqlValue::Text(s.repeat(n as usize)))
}

fn space(args: &[SqlValue]) -> R {
    let Some(n) = args[0].as_i64() else {
        return Ok(SqlValue::Null);
    };
    if n <= 0 {
        return Ok(SqlValue::Text(String::new()));
    }
    if !checked_size("space", n as u64)? {
        return Ok(SqlValue::Null);
    }
    Ok(SqlValue::Text(" ".repeat(n as usize)))
}

fn insert(args: &[SqlValue]) -> R {
    null_if_any_null!(args);
    let (Some(s), Some(pos), Some(len), Some(new)) = (
        args[0].as_text(),
        args[1].as_i64(),
        args[2].as_i64(),
        args[3].as_text(),
    ) else {
        return Ok(SqlValue::Null);
    };
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len() as i64;
    if pos < 1 || pos > n {
        return Ok(SqlValue::Text(s));
    }
    let start = (pos - 1) as usize;
    let end = if len < 0 {
        n
    } else {
        (pos - 1).saturating_add(len).min(n)
    } as usize;
    let mut out: String = chars[..start].iter().collect();
    out.push_str(&new);
    out.extend(&chars[end..]);
    Ok(SqlValue::Text(out))
}

/// MySQL equality for FIELD()/NULLIF(): strings case-insensitively when both
/// are strings, numbers numerically otherwise.
pub fn mysql_eq(a: &SqlValue, b: &SqlValue) -> Option<bool> {
    mysql_cmp(a, b).map(|o| o == Ordering::Equal)
}

/// MySQL comparison of two values; `None` when either is NULL.
pub fn mysql_cmp(a: &SqlValue, b: &SqlValue) -> Option<Ordering> {
    match (a, b) {
        (SqlValue::Null, _) | (_, SqlValue::Null) => None,
        (SqlValue::Integer(x), SqlValue::Integer(y)) => Some(x.cmp(y)),
        (SqlValue::Blob(x), SqlValue::Blob(y)) => Some(x.cmp(y)),
        (SqlValue::Blob(x), y) => Some(x.as_slice().cmp(&y.as_bytes()?[..])),
        (x, SqlValue::Blob(y)) => Some(x.as_bytes()?.as_slice().cmp(y)),
        (SqlValue::Text(x), SqlValue::Text(y)) => Some(compare_ci(x, y)),
        (x, y) => x.as_f64()?.partial_cmp(&y.as_f64()?),
    }
}

fn field(args: &[SqlValue]) -> R {
    if args[0].is_null() {
        return Ok(SqlValue::Integer(0));
    }
    let pos = args[1..]
        .iter()
        .position(|c| mysql_eq(&args[0], c) == Some(true));
    Ok(SqlValue::Integer(pos.map_or(0, |p| p as i64 + 1)))
}

fn find_in_set(args: &[SqlValue]) -> R {
    null_if_any_null!(args);
    let (Some(needle), Some(list)) = (args[0].as_text(), args[1].as_text()) else {
        return Ok(SqlValue::Null);
    };
    if needle.contains(',') || list.is_empty() {
        return Ok(SqlValue::Integer(0));
    }
    let pos = list.split(',').position(|item| eq_ci(item, &needle));
    Ok(SqlValue::Integer(pos.map_or(0, |p| p as i64 + 1)))
}

fn elt(args: &[SqlValue]) -> R {
    let Some(n) = args[0].as_i64() else {
        return Ok(SqlValue::Null);
    };
    if n < 1 || n as u64 >= args.len() as u64 {
        return Ok(SqlValue::Null);
    }
    Ok(args[n as usize].clone())
}

fn strcmp(args: &[SqlValue]) -> R {
    null_if_any_null!(args);
    let (a, b) = (&args[0], &args[1]);
    let ord = if matches!(a, SqlValue::Blob(_)) || matches!(b, SqlValue::Blob(_)) {
        a.as_bytes().cmp(&b.as_bytes())
    } else {
        compare_ci(
            &a.as_text().unwrap_or_default(),
            &b.as_text().unwrap_or_default(),
        )
    };
    Ok(SqlValue::Integer(ord as i64))
}

fn ascii(args: &[SqlValue]) -> R {
    Ok(args[0].as_bytes().map_or(SqlValue::Null, |b| {
        SqlValue::Integer(i64::from(*b.first().unwrap_or(&0)))
    }))
}

fn ord(args: &[SqlValue]) -> R {
    let Some(s) = args[0].as_text() else {
        return Ok(SqlValue::Null);
    };
    let Some(c) = s.chars().next() else {
        return Ok(SqlValue::Integer(0));
    };
    let mut buf = [0u8; 4];
    let code = c
        .encode_utf8(&mut buf)
        .bytes()
        .fold(0i64, |acc, b| acc * 256 + i64::from(b));
    Ok(SqlValue::Integer(code))
}

fn char_fn(args: &[SqlValue]) -> R {
    let mut out = Vec::with_capacity(args.len());
    for n in args.iter().filter_map(SqlValue::as_i64) {
        let bytes = (n as u32).to_be_bytes();
        let first = bytes.iter().position(|b| *b != 0).unwrap_or(3);
        out.extend_from_slice(&bytes[first..]);
    }
    Ok(bytes_result(out))
}

fn quote(args: &[SqlValue]) -> R {
    let Some(s) = args[0].as_text() else {
        return Ok(SqlValue::Text("NULL".into()));
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\0' => out.push_str("\\0"),
            '\u{1a}' => out.push_str("\\Z"),
            other => out.push(other),
        }
    }
    out.push('\'');
    Ok(SqlValue::Text(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substring_rules() {
        let c: Vec<char> = "Quadratically".chars().collect();
        assert_eq!(substring_chars(&c, 5, None), "ratically");
        assert_eq!(substring_chars(&c, 5, Some(6)), "ratica");
        assert_eq!(substring_chars(&c, -3, None), "lly");
        assert_eq!(substring_chars(&c, -100, None), "");
        assert_eq!(substring_chars(&c, 0, None), "");
        assert_eq!(substring_chars(&c, 1, Some(i64::MAX)), "Quadratically");
    }

    #[test]
    fn locate_rules() {
        assert_eq!(locate_ci("bar", "foobarbar", 1), 4);
        assert_eq!(locate_ci("xbar", "foobar", 1), 0);
        assert_eq!(locate_ci("bar", "foobarbar", 5), 7);
        assert_eq!(locate_ci("BAR", "foobar", 1), 4);
        assert_eq!(locate_ci("", "abc", 2), 2);
        assert_eq!(locate_ci("a", "", 1), 0);
    }
}
