//! `SqlValue` and MySQL-style conversions between value types.
//!
//! MySQL converts implicitly: a string used as a number takes its numeric
//! prefix (`'12abc'` → 12, `'abc'` → 0); a number used as a string is its
//! decimal text. These helpers implement those rules for SQLite values.

use rusqlite::types::{ToSqlOutput, Value, ValueRef};

/// A SQL value as seen by the functions: SQLite's five storage classes.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// SQL NULL.
    Null,
    /// A 64-bit signed integer.
    Integer(i64),
    /// A double.
    Real(f64),
    /// UTF-8 text.
    Text(String),
    /// Raw bytes (MySQL binary strings).
    Blob(Vec<u8>),
}

impl From<ValueRef<'_>> for SqlValue {
    fn from(v: ValueRef<'_>) -> Self {
        match v {
            ValueRef::Null => SqlValue::Null,
            ValueRef::Integer(i) => SqlValue::Integer(i),
            ValueRef::Real(f) => SqlValue::Real(f),
            ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
        }
    }
}

impl From<Value> for SqlValue {
    fn from(v: Value) -> Self {
        match v {
            Value::Null => SqlValue::Null,
            Value::Integer(i) => SqlValue::Integer(i),
            Value::Real(f) => SqlValue::Real(f),
            Value::Text(t) => SqlValue::Text(t),
            Value::Blob(b) => SqlValue::Blob(b),
        }
    }
}

impl From<SqlValue> for Value {
    fn from(v: SqlValue) -> Self {
        match v {
            SqlValue::Null => Value::Null,
            SqlValue::Integer(i) => Value::Integer(i),
            SqlValue::Real(f) => Value::Real(f),
            SqlValue::Text(t) => Value::Text(t),
            SqlValue::Blob(b) => Value::Blob(b),
        }
    }
}

impl rusqlite::ToSql for SqlValue {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            SqlValue::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            SqlValue::Integer(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            SqlValue::Real(f) if f.is_finite() => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            // MySQL never produces NaN/Inf: those results are NULL.
            SqlValue::Real(_) => ToSqlOutput::Borrowed(ValueRef::Null),
            SqlValue::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            SqlValue::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

impl rusqlite::types::FromSql for SqlValue {
    fn column_result(value: ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        Ok(SqlValue::from(value))
    }
}

impl From<Option<String>> for SqlValue {
    fn from(v: Option<String>) -> Self {
        v.map_or(SqlValue::Null, SqlValue::Text)
    }
}

impl From<Option<i64>> for SqlValue {
    fn from(v: Option<i64>) -> Self {
        v.map_or(SqlValue::Null, SqlValue::Integer)
    }
}

impl From<Option<f64>> for SqlValue {
    fn from(v: Option<f64>) -> Self {
        match v {
            Some(f) if f.is_finite() => SqlValue::Real(f),
            _ => SqlValue::Null,
        }
    }
}

impl SqlValue {
    /// True for SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, SqlValue::Null)
    }

    /// True for text or blob values (MySQL strings).
    pub fn is_string(&self) -> bool {
        matches!(self, SqlValue::Text(_) | SqlValue::Blob(_))
    }

    /// The value as a MySQL string; `None` for NULL.
    pub fn as_text(&self) -> Option<String> {
        match self {
            SqlValue::Null => None,
            SqlValue::Integer(i) => Some(i.to_string()),
            SqlValue::Real(f) => Some(format_real(*f)),
            SqlValue::Text(t) => Some(t.clone()),
            SqlValue::Blob(b) => Some(String::from_utf8_lossy(b).into_owned()),
        }
    }

    /// The value's bytes as a MySQL string; `None` for NULL.
    pub fn as_bytes(&self) -> Option<Vec<u8>> {
        match self {
            SqlValue::Blob(b) => Some(b.clone()),
            other => other.as_text().map(String::into_bytes),
        }
    }

    /// The value as a double (string → numeric prefix); `None` for NULL.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            SqlValue::Null => None,
            SqlValue::Integer(i) => Some(*i as f64),
            SqlValue::Real(f) => Some(*f),
            SqlValue::Text(t) => Some(parse_number_prefix(t)),
            SqlValue::Blob(b) => Some(parse_number_prefix(&String::from_utf8_lossy(b))),
        }
    }

    /// The value as an integer, rounding like MySQL (half away from zero,
    /// saturating at the i64 range); `None` for NULL.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            SqlValue::Integer(i) => Some(*i),
            SqlValue::Text(t) => Some(parse_int_prefix(t)),
            other => other.as_f64().map(f64_to_i64),
        }
    }

    /// MySQL truthiness: NULL is unknown (`None`), numbers are true when non-zero,
    /// strings are converted to numbers first.
    pub fn truth(&self) -> Option<bool> {
        match self {
            SqlValue::Null => None,
            SqlValue::Integer(i) => Some(*i != 0),
            other => other.as_f64().map(|f| f != 0.0),
        }
    }
}

/// Rounds a double to i64 (half away from zero), saturating; NaN → 0.
pub fn f64_to_i64(f: f64) -> i64 {
    if f.is_nan() {
        return 0;
    }
    let r = f.round();
    if r >= i64::MAX as f64 {
        i64::MAX
    } else if r <= i64::MIN as f64 {
        i64::MIN
    } else {
        r as i64
    }
}

/// Formats a double the way MySQL prints a DOUBLE: shortest round-trip form,
/// without a trailing ".0" for integral values.
pub fn format_real(f: f64) -> String {
    if f.is_finite() && f == f.trunc() && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// Length in bytes of the longest numeric prefix of `s` (after leading
/// whitespace): `[+-]digits[.digits][e[+-]digits]`. Returns (start, end).
fn numeric_prefix(s: &str) -> (usize, usize, bool) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    let start = i;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    let mut is_integer = true;
    if i < b.len() && b[i] == b'.' {
        let frac_start = i + 1;
        let mut j = frac_start;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if digits > 0 || j > frac_start {
            digits += j - frac_start;
            i = j;
            is_integer = false;
        }
    }
    if digits == 0 {
        return (start, start, true);
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let exp_start = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > exp_start {
            i = j;
            is_integer = false;
        }
    }
    (start, i, is_integer)
}

/// MySQL string → number: the numeric prefix, or 0 when there is none.
pub fn parse_number_prefix(s: &str) -> f64 {
    let (start, end, _) = numeric_prefix(s);
    s.get(start..end)
        .and_then(|p| p.parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// MySQL string → integer: exact for integer prefixes, rounded otherwise.
pub fn parse_int_prefix(s: &str) -> i64 {
    let (start, end, is_integer) = numeric_prefix(s);
    let Some(p) = s.get(start..end) else { return 0 };
    if is_integer {
        if let Ok(i) = p.parse::<i64>() {
            return i;
        }
    }
    f64_to_i64(p.parse::<f64>().unwrap_or(0.0))
}

/// A numeric view of a string when it is *entirely* a number (used to keep
/// integers exact when MySQL would treat `'42'` as 42).
pub fn parse_exact_number(s: &str) -> Option<SqlValue> {
    let (start, end, is_integer) = numeric_prefix(s);
    if start == end || !s[end..].trim().is_empty() {
        return None;
    }
    let p = &s[start..end];
    if is_integer {
        if let Ok(i) = p.parse::<i64>() {
            return Some(SqlValue::Integer(i));
        }
    }
    p.parse::<f64>().ok().map(SqlValue::Real)
}

/// Converts a value to a number for arithmetic: integers stay exact, strings
/// that are whole integers become integers, everything else a double.
pub fn to_number(v: &SqlValue) -> Option<SqlValue> {
    match v {
        SqlValue::Null => None,
        SqlValue::Integer(i) => Some(SqlValue::Integer(*i)),
        SqlValue::Real(f) => Some(SqlValue::Real(*f)),
        SqlValue::Text(t) => {
            Some(parse_exact_number(t).unwrap_or(SqlValue::Real(parse_number_prefix(t))))
        }
        SqlValue::Blob(b) => {
            let t = String::from_utf8_lossy(b);
            Some(parse_exact_number(&t).unwrap_or(SqlValue::Real(parse_number_prefix(&t))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_prefix_rules() {
        assert_eq!(parse_number_prefix("12abc"), 12.0);
        assert_eq!(parse_number_prefix("  -3.5e2x"), -350.0);
        assert_eq!(parse_number_prefix("abc"), 0.0);
        assert_eq!(parse_number_prefix(".5"), 0.5);
        assert_eq!(parse_number_prefix("1e"), 1.0);
        assert_eq!(parse_int_prefix("42.6xyz"), 43);
        assert_eq!(parse_int_prefix("9223372036854775807"), i64::MAX);
        assert_eq!(parse_int_prefix("-"), 0);
    }

    #[test]
    fn truthiness() {
        assert_eq!(SqlValue::Text("0.0".into()).truth(), Some(false));
        assert_eq!(SqlValue::Text("1abc".into()).truth(), Some(true));
        assert_eq!(SqlValue::Text("abc".into()).truth(), Some(false));
        assert_eq!(SqlValue::Null.truth(), None);
        assert_eq!(SqlValue::Real(0.1).truth(), Some(true));
    }

    #[test]
    fn real_formatting() {
        assert_eq!(format_real(3.0), "3");
        assert_eq!(format_real(0.1), "0.1");
        assert_eq!(format_real(-2.5), "-2.5");
    }
}
