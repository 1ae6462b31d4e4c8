//! Conversions between SQLite values and MySQL values, driven by the MySQL column type.

use borealis_functions::exact_decimal::round_text;
use borealis_protocol::Value;
use borealis_sql::{MysqlType, TypeInfo};
use rusqlite::types::{Value as SqlValue, ValueRef};

/// A SQLite result value as the client should see it for a column of type `ti`.
/// `binary`: the binary protocol wants typed date/time values; the text protocol wants text.
pub fn to_mysql(v: ValueRef<'_>, ti: &TypeInfo, binary: bool) -> Value {
    match v {
        ValueRef::Null => Value::NULL,
        ValueRef::Integer(i) => from_integer(i, ti),
        ValueRef::Real(f) => from_real(f, ti),
        ValueRef::Text(t) => from_text(t, ti, binary),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    }
}

fn from_integer(i: i64, ti: &TypeInfo) -> Value {
    match ti.column_type {
        MysqlType::Float => Value::Float(i as f32),
        MysqlType::Double => Value::Double(i as f64),
        MysqlType::NewDecimal => Value::Bytes(format_decimal_int(i, ti.decimals).into_bytes()),
        t if is_integer(t) && ti.unsigned && i >= 0 => Value::UInt(i as u64),
        t if is_integer(t) => Value::Int(i),
        _ if ti.is_text => Value::Bytes(i.to_string().into_bytes()),
        _ => Value::Int(i),
    }
}

fn from_real(f: f64, ti: &TypeInfo) -> Value {
    match ti.column_type {
        MysqlType::Float => Value::Float(f as f32),
        MysqlType::Double => Value::Double(f),
        MysqlType::NewDecimal => Value::Bytes(format_decimal_real(f, ti.decimals).into_bytes()),
        t if is_integer(t) && ti.unsigned && f >= 0.0 => Value::UInt(f as u64),
        t if is_integer(t) => Value::Int(f as i64),
        _ if ti.is_text => Value::Bytes(format_double(f).into_bytes()),
        _ => Value::Double(f),
    }
}

fn from_text(t: &[u8], ti: &TypeInfo, binary: bool) -> Value {
    if ti.column_type == MysqlType::NewDecimal {
        // DECIMAL columns store exact text; both protocols send decimals as text.
        return Value::Bytes(format_decimal_text(t, ti.decimals));
    }
    if binary {
        let s = std::str::from_utf8(t).unwrap_or("");
        match ti.column_type {
            MysqlType::Date | MysqlType::DateTime | MysqlType::Timestamp => {
                if let Some(v) = parse_datetime(s) {
                    return v;
                }
            }
            MysqlType::Time => {
                if let Some(v) = parse_time(s) {
                    return v;
                }
            }
            t if is_integer(t) => {
                if let Ok(i) = s.trim().parse::<i64>() {
                    return from_integer(i, ti);
                }
            }
            MysqlType::Float | MysqlType::Double => {
                if let Ok(f) = s.trim().parse::<f64>() {
                    return from_real(f, ti);
                }
            }
            _ => {}
        }
    }
    Value::Bytes(t.to_vec())
}

fn is_integer(t: MysqlType) -> bool {
    matches!(
        t,
        MysqlType::Tiny
            | MysqlType::Short
            | MysqlType::Int24
            | MysqlType::Long
            | MysqlType::LongLong
            | MysqlType::Year
    )
}

fn format_decimal_int(i: i64, scale: u8) -> String {
    if scale == 0 {
        i.to_string()
    } else {
        format!("{i}.{}", "0".repeat(scale as usize))
    }
}

/// A DECIMAL value stored as text, with exactly `scale` fraction digits
/// (rounded half away from zero on the digits, never through f64). Text that
/// is not a number is passed through unchanged.
fn format_decimal_text(t: &[u8], scale: u8) -> Vec<u8> {
    std::str::from_utf8(t)
        .ok()
        .and_then(|s| round_text(s, u32::from(scale)))
        .map_or_else(|| t.to_vec(), String::into_bytes)
}

/// A REAL in a DECIMAL column (older tables, arithmetic): rounded from its
/// shortest round-trip digits, so 1.005 is "1.01" as MySQL prints it, not the
/// binary value's "1.00".
fn format_decimal_real(f: f64, scale: u8) -> String {
    if !f.is_finite() {
        return format_double(f);
    }
    round_text(&format!("{f:e}"), u32::from(scale)).unwrap_or_else(|| format_double(f))
}

/// MySQL prints doubles in their shortest round-trip form.
pub fn format_double(f: f64) -> String {
    if f.is_finite() && f == f.trunc() && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// Parses 'YYYY-MM-DD[ HH:MM:SS[.ffffff]]' into a binary-protocol date value.
pub fn parse_datetime(s: &str) -> Option<Value> {
    let s = s.trim();
    let (date, time) = match s.split_once([' ', 'T']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut dp = date.splitn(3, '-');
    let y: u16 = dp.next()?.parse().ok()?;
    let m: u8 = dp.next()?.parse().ok()?;
    let d: u8 = dp.next()?.parse().ok()?;
    let (h, mi, sec, us) = match time {
        Some(t) => parse_hms(t)?,
        None => (0, 0, 0, 0),
    };
    if h > 23 {
        return None;
    }
    Some(Value::Date(y, m, d, h as u8, mi, sec, us))
}

/// Parses '[-]H:MM:SS[.ffffff]' (hours may exceed 24) into a binary-protocol time value.
pub fn parse_time(s: &str) -> Option<Value> {
    let s = s.trim();
    let (neg, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (h, mi, sec, us) = parse_hms(rest)?;
    Some(Value::Time(neg, h / 24, (h % 24) as u8, mi, sec, us))
}

fn parse_hms(t: &str) -> Option<(u32, u8, u8, u32)> {
    let (main, frac) = match t.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (t, None),
    };
    let mut p = main.splitn(3, ':');
    let h: u32 = p.next()?.parse().ok()?;
    let mi: u8 = p.next().unwrap_or("0").parse().ok()?;
    let sec: u8 = p.next().unwrap_or("0").parse().ok()?;
    let us = match frac {
        Some(f) if !f.is_empty() && f.len() <= 6 => {
            f.parse::<u32>().ok()? * 10u32.pow(6 - f.len() as u32)
        }
        Some(_) => return None,
        None => 0,
    };
    if mi > 59 || sec > 59 {
        return None;
    }
    Some((h, mi, sec, us))
}

/// A statement parameter from the binary protocol as a SQLite value.
pub fn param_to_sqlite(v: &Value) -> SqlValue {
    match v {
        Value::NULL => SqlValue::Null,
        Value::Int(i) => SqlValue::Integer(*i),
        Value::UInt(u) => match i64::try_from(*u) {
            Ok(i) => SqlValue::Integer(i),
            Err(_) => SqlValue::Text(u.to_string()),
        },
        Value::Float(f) => SqlValue::Real(f64::from(*f)),
        Value::Double(f) => SqlValue::Real(*f),
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) => SqlValue::Text(s.to_string()),
            Err(_) => SqlValue::Blob(b.clone()),
        },
        Value::Date(y, m, d, h, mi, s, us) => {
            let mut t = format!("{y:04}-{m:02}-{d:02}");
            if (*h, *mi, *s, *us) != (0, 0, 0, 0) {
                t.push_str(&format!(" {h:02}:{mi:02}:{s:02}"));
                if *us != 0 {
                    t.push_str(&format!(".{us:06}"));
                }
            }
            SqlValue::Text(t)
        }
        Value::Time(neg, days, h, mi, s, us) => {
            let hours = u64::from(*days) * 24 + u64::from(*h);
            let mut t = format!("{}{hours:02}:{mi:02}:{s:02}", if *neg { "-" } else { "" });
            if *us != 0 {
                t.push_str(&format!(".{us:06}"));
            }
            SqlValue::Text(t)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_round_trip() {
        let v = parse_datetime("2024-02-29 13:04:05.250").expect("valid");
        assert_eq!(v, Value::Date(2024, 2, 29, 13, 4, 5, 250_000));
        assert_eq!(
            param_to_sqlite(&v),
            SqlValue::Text("2024-02-29 13:04:05.250000".into())
        );
        assert!(parse_datetime("garbage").is_none());
        assert!(parse_datetime("2024-01-01 25:00:00").is_none());
    }

    #[test]
    fn time_with_days() {
        assert_eq!(
            parse_time("-49:00:01"),
            Some(Value::Time(true, 2, 1, 0, 1, 0))
        );
        assert_eq!(
            param_to_sqlite(&Value::Time(true, 2, 1, 0, 1, 0)),
            SqlValue::Text("-49:00:01".into())
        );
    }

    fn decimal(scale: u8) -> TypeInfo {
        borealis_sql::type_info(&format!("decimal(20,{scale})"))
    }

    fn shown(v: ValueRef<'_>, scale: u8) -> Value {
        to_mysql(v, &decimal(scale), false)
    }

    fn bytes(s: &str) -> Value {
        Value::Bytes(s.as_bytes().to_vec())
    }

    #[test]
    fn decimal_text_uses_the_scale() {
        assert_eq!(shown(ValueRef::Text(b"12.5"), 2), bytes("12.50"));
        assert_eq!(
            shown(ValueRef::Text(b"12345678901234.567890"), 6),
            bytes("12345678901234.567890")
        );
        assert_eq!(shown(ValueRef::Text(b"1.005"), 2), bytes("1.01"));
        assert_eq!(shown(ValueRef::Text(b"-1.005"), 2), bytes("-1.01"));
        assert_eq!(shown(ValueRef::Text(b"-0.001"), 2), bytes("0.00"));
        assert_eq!(
            shown(ValueRef::Text(b"0.30000000000000004"), 6),
            bytes("0.300000")
        );
        assert_eq!(shown(ValueRef::Text(b"7"), 0), bytes("7"));
        assert_eq!(
            shown(ValueRef::Text(b"not a number"), 2),
            bytes("not a number")
        );
        // The binary protocol sends DECIMAL as text too.
        assert_eq!(
            to_mysql(ValueRef::Text(b"2.5"), &decimal(3), true),
            bytes("2.500")
        );
    }

    #[test]
    fn decimal_numbers_use_the_scale() {
        assert_eq!(shown(ValueRef::Integer(-12), 2), bytes("-12.00"));
        assert_eq!(shown(ValueRef::Integer(12), 0), bytes("12"));
        assert_eq!(shown(ValueRef::Real(1.005), 2), bytes("1.01"));
        assert_eq!(shown(ValueRef::Real(0.1 + 0.2), 2), bytes("0.30"));
        assert_eq!(shown(ValueRef::Real(-2.5), 0), bytes("-3"));
        assert_eq!(
            shown(ValueRef::Real(1e20), 1),
            bytes("100000000000000000000.0")
        );
    }

    #[test]
    fn big_unsigned_params_keep_precision() {
        assert_eq!(
            param_to_sqlite(&Value::UInt(u64::MAX)),
            SqlValue::Text(u64::MAX.to_string())
        );
    }
}
