//! Values in the text protocol: the MySQL text form of every [`Value`].

use std::io::Write;

use mysql_common::constants::ColumnType;
use mysql_common::value::Value;

/// Appends the text form of `value` for a column of type `column_type` (`decimals` =
/// fractional-second digits for temporal columns). `NULL` must be handled by the caller.
pub fn write_text(out: &mut Vec<u8>, value: &Value, column_type: ColumnType, decimals: u8) {
    // Writes into a Vec cannot fail.
    let _ = match value {
        Value::NULL => Ok(()),
        Value::Bytes(b) => {
            out.extend_from_slice(b);
            Ok(())
        }
        Value::Int(i) => write!(out, "{i}"),
        Value::UInt(u) => write!(out, "{u}"),
        Value::Float(f) if fixed_decimals(column_type, decimals) => {
            write!(out, "{:.*}", usize::from(decimals), f)
        }
        Value::Double(d) if fixed_decimals(column_type, decimals) => {
            write!(out, "{:.*}", usize::from(decimals), d)
        }
        Value::Float(f) => {
            write_float(out, f64::from(*f), true);
            Ok(())
        }
        Value::Double(d) => {
            write_float(out, *d, false);
            Ok(())
        }
        Value::Date(y, mo, d, h, mi, s, us) => {
            write_date(out, (*y, *mo, *d, *h, *mi, *s, *us), column_type, decimals)
        }
        Value::Time(neg, days, h, mi, s, us) => {
            write_time(out, (*neg, *days, *h, *mi, *s, *us), decimals)
        }
    };
}

/// FLOAT/DOUBLE columns declared with 1..=30 decimals print exactly that many digits
/// (MySQL's `FLOAT(M,D)`); 0 and 31 ("not fixed") print the shortest form.
fn fixed_decimals(column_type: ColumnType, decimals: u8) -> bool {
    matches!(
        column_type,
        ColumnType::MYSQL_TYPE_FLOAT | ColumnType::MYSQL_TYPE_DOUBLE
    ) && (1..=30).contains(&decimals)
}

type DateParts = (u16, u8, u8, u8, u8, u8, u32);
type TimeParts = (bool, u32, u8, u8, u8, u32);

fn write_date(
    out: &mut Vec<u8>,
    (y, mo, d, h, mi, s, us): DateParts,
    column_type: ColumnType,
    decimals: u8,
) -> std::io::Result<()> {
    write!(out, "{y:04}-{mo:02}-{d:02}")?;
    let date_only = match column_type {
        ColumnType::MYSQL_TYPE_DATE | ColumnType::MYSQL_TYPE_NEWDATE => true,
        ColumnType::MYSQL_TYPE_DATETIME
        | ColumnType::MYSQL_TYPE_TIMESTAMP
        | ColumnType::MYSQL_TYPE_DATETIME2
        | ColumnType::MYSQL_TYPE_TIMESTAMP2 => false,
        _ => h == 0 && mi == 0 && s == 0 && us == 0,
    };
    if date_only {
        return Ok(());
    }
    write!(out, " {h:02}:{mi:02}:{s:02}")?;
    write_fraction(out, us, decimals)
}

fn write_time(
    out: &mut Vec<u8>,
    (neg, days, h, mi, s, us): TimeParts,
    decimals: u8,
) -> std::io::Result<()> {
    let hours = u64::from(days) * 24 + u64::from(h);
    let sign = if neg { "-" } else { "" };
    write!(out, "{sign}{hours:02}:{mi:02}:{s:02}")?;
    write_fraction(out, us, decimals)
}

/// Writes `.ffffff` truncated to `decimals` digits; with `decimals == 0` writes the
/// microseconds only when non-zero (the column type did not say how many digits).
fn write_fraction(out: &mut Vec<u8>, us: u32, decimals: u8) -> std::io::Result<()> {
    let digits = match decimals {
        0 if us == 0 => return Ok(()),
        0 | 7.. => 6,
        n => usize::from(n),
    };
    let text = format!("{:06}", us % 1_000_000);
    out.push(b'.');
    out.extend_from_slice(&text.as_bytes()[..digits]);
    Ok(())
}

/// MySQL prints floating point numbers in their shortest round-trip form, switching to
/// exponent notation for very large or very small magnitudes (`1e20`, `1.5e-7`).
fn write_float(out: &mut Vec<u8>, v: f64, single: bool) {
    let _ = if v.is_nan() || v.is_infinite() {
        // MySQL cannot store these; print something a client can still parse.
        write!(
            out,
            "{}",
            if v.is_nan() {
                "NaN"
            } else if v > 0.0 {
                "inf"
            } else {
                "-inf"
            }
        )
    } else {
        let abs = v.abs();
        let limit = if single { 1e8 } else { 1e15 };
        let exponent = abs != 0.0 && (abs >= limit || abs < 1e-4);
        match (exponent, single) {
            (true, true) => write!(out, "{:e}", v as f32),
            (true, false) => write!(out, "{v:e}"),
            (false, true) => write!(out, "{}", v as f32),
            (false, false) => write!(out, "{v}"),
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: Value, t: ColumnType, dec: u8) -> String {
        let mut out = Vec::new();
        write_text(&mut out, &v, t, dec);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn numbers() {
        let s = ColumnType::MYSQL_TYPE_VAR_STRING;
        assert_eq!(text(Value::Int(-42), s, 0), "-42");
        assert_eq!(text(Value::UInt(u64::MAX), s, 0), "18446744073709551615");
        assert_eq!(text(Value::Double(1.5), s, 0), "1.5");
        assert_eq!(text(Value::Double(1.0), s, 0), "1");
        assert_eq!(text(Value::Double(1e20), s, 0), "1e20");
        assert_eq!(text(Value::Double(-1.5e-7), s, 0), "-1.5e-7");
        assert_eq!(text(Value::Float(0.1), s, 0), "0.1");
        assert_eq!(text(Value::Double(0.0), s, 0), "0");
        let d = ColumnType::MYSQL_TYPE_DOUBLE;
        assert_eq!(text(Value::Double(3.5), d, 2), "3.50");
        assert_eq!(text(Value::Double(3.5), d, 31), "3.5");
        assert_eq!(
            text(Value::Float(2.25), ColumnType::MYSQL_TYPE_FLOAT, 1),
            "2.2"
        );
    }

    #[test]
    fn dates_follow_column_type() {
        let d = Value::Date(2024, 2, 29, 0, 0, 0, 0);
        assert_eq!(
            text(d.clone(), ColumnType::MYSQL_TYPE_DATE, 0),
            "2024-02-29"
        );
        assert_eq!(
            text(d.clone(), ColumnType::MYSQL_TYPE_DATETIME, 0),
            "2024-02-29 00:00:00"
        );
        assert_eq!(text(d, ColumnType::MYSQL_TYPE_VAR_STRING, 0), "2024-02-29");
        let dt = Value::Date(1999, 12, 31, 23, 59, 58, 123_400);
        assert_eq!(
            text(dt.clone(), ColumnType::MYSQL_TYPE_DATETIME, 0),
            "1999-12-31 23:59:58.123400"
        );
        assert_eq!(
            text(dt.clone(), ColumnType::MYSQL_TYPE_TIMESTAMP, 3),
            "1999-12-31 23:59:58.123"
        );
        assert_eq!(text(dt, ColumnType::MYSQL_TYPE_DATE, 0), "1999-12-31");
    }

    #[test]
    fn times() {
        let t = ColumnType::MYSQL_TYPE_TIME;
        assert_eq!(text(Value::Time(false, 0, 1, 2, 3, 0), t, 0), "01:02:03");
        assert_eq!(text(Value::Time(true, 2, 1, 0, 0, 0), t, 0), "-49:00:00");
        assert_eq!(
            text(Value::Time(false, 0, 0, 0, 1, 5), t, 6),
            "00:00:01.000005"
        );
    }
}
