//! Numeric functions: ROUND, TRUNCATE, FLOOR, CEIL, MOD, POW, LOG…, RAND,
//! BIT_COUNT, INET_ATON/INET_NTOA.

use rand::{Rng, SeedableRng};
use rusqlite::Connection;

use crate::decimal::{round_f64, Mode};
use crate::error::FunctionError;
use crate::null_if_any_null;
use crate::registry::{pure, volatile, with_flags, Arity};
use crate::value::{to_number, SqlValue};

type R = Result<SqlValue, FunctionError>;

const ONE: Arity = Arity::Exactly(&[1]);
const TWO: Arity = Arity::Exactly(&[2]);

/// Registers the numeric functions.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    pure(conn, &["floor"], ONE, |a| integral(a, f64::floor))?;
    pure(conn, &["ceil", "ceiling"], ONE, |a| integral(a, f64::ceil))?;
    pure(conn, &["round"], Arity::Exactly(&[1, 2]), |a| {
        round(a, Mode::HalfAwayFromZero)
    })?;
    pure(conn, &["truncate"], TWO, |a| round(a, Mode::Truncate))?;
    pure(conn, &["mod"], TWO, modulo)?;
    pure(conn, &["abs"], ONE, abs)?;
    pure(conn, &["sign"], ONE, sign)?;
    pure(conn, &["pow", "power"], TWO, |a| real2(a, f64::powf))?;
    pure(conn, &["sqrt"], ONE, |a| {
        real1(a, |x| (x >= 0.0).then(|| x.sqrt()))
    })?;
    pure(conn, &["exp"], ONE, |a| real1(a, |x| Some(x.exp())))?;
    pure(conn, &["ln"], ONE, |a| {
        real1(a, |x| (x > 0.0).then(|| x.ln()))
    })?;
    pure(conn, &["log"], ONE, |a| {
        real1(a, |x| (x > 0.0).then(|| x.ln()))
    })?;
    pure(conn, &["log"], TWO, |a| {
        real2(a, |b, x| {
            if b <= 0.0 || b == 1.0 || x <= 0.0 {
                f64::NAN
            } else {
                x.ln() / b.ln()
            }
        })
    })?;
    pure(conn, &["log2"], ONE, |a| {
        real1(a, |x| (x > 0.0).then(|| x.log2()))
    })?;
    pure(conn, &["log10"], ONE, |a| {
        real1(a, |x| (x > 0.0).then(|| x.log10()))
    })?;
    pure(conn, &["pi"], Arity::Exactly(&[0]), |_| {
        Ok(SqlValue::Real(std::f64::consts::PI))
    })?;
    pure(conn, &["degrees"], ONE, |a| {
        real1(a, |x| Some(x.to_degrees()))
    })?;
    pure(conn, &["radians"], ONE, |a| {
        real1(a, |x| Some(x.to_radians()))
    })?;
    pure(conn, &["sin"], ONE, |a| real1(a, |x| Some(x.sin())))?;
    pure(conn, &["cos"], ONE, |a| real1(a, |x| Some(x.cos())))?;
    pure(conn, &["tan"], ONE, |a| real1(a, |x| Some(x.tan())))?;
    pure(conn, &["cot"], ONE, |a| {
        real1(a, |x| (x.tan() != 0.0).then(|| 1.0 / x.tan()))
    })?;
    pure(conn, &["asin"], ONE, |a| real1(a, |x| Some(x.asin())))?;
    pure(conn, &["acos"], ONE, |a| real1(a, |x| Some(x.acos())))?;
    pure(conn, &["atan"], ONE, |a| real1(a, |x| Some(x.atan())))?;
    pure(conn, &["atan", "atan2"], TWO, |a| real2(a, f64::atan2))?;
    pure(conn, &["bit_count"], ONE, |a| {
        Ok(a[0].as_i64().map_or(SqlValue::Null, |n| {
            SqlValue::Integer(i64::from(n.count_ones()))
        }))
    })?;
    pure(conn, &["inet_aton"], ONE, |a| {
        Ok(a[0]
            .as_text()
            .and_then(|s| inet_aton(&s))
            .map_or(SqlValue::Null, SqlValue::Integer))
    })?;
    pure(conn, &["inet_ntoa"], ONE, |a| {
        Ok(a[0]
            .as_i64()
            .and_then(inet_ntoa)
            .map_or(SqlValue::Null, SqlValue::Text))
    })?;
    pure(conn, &["format"], Arity::Exactly(&[2, 3]), format)?;
    with_flags(
        conn,
        &["rand"],
        Arity::Exactly(&[0, 1]),
        volatile(),
        rand_fn,
    )
}

fn integral(args: &[SqlValue], f: fn(f64) -> f64) -> R {
    Ok(match to_number(&args[0]) {
        None => SqlValue::Null,
        Some(SqlValue::Integer(i)) => SqlValue::Integer(i),
        Some(n) => {
            let r = f(n.as_f64().unwrap_or(0.0));
            if r.is_finite() && r.abs() < 9.2e18 {
                SqlValue::Integer(r as i64)
            } else {
                SqlValue::from(Some(r))
            }
        }
    })
}

fn pow10(places: u32) -> Option<i64> {
    10i64.checked_pow(places)
}

/// Integer rounding to a negative number of places (`ROUND(1234, -2)` = 1200).
fn round_integer(i: i64, places: i64, mode: Mode) -> SqlValue {
    if places >= 0 {
        return SqlValue::Integer(i);
    }
    let Some(unit) = u32::try_from(-places).ok().and_then(pow10) else {
        return SqlValue::Integer(0);
    };
    let rem = i % unit;
    let down = i - rem;
    let rounded = match mode {
        Mode::Truncate => Some(down),
        Mode::HalfAwayFromZero if rem.abs() * 2 >= unit => down.checked_add(unit * i.signum()),
        Mode::HalfAwayFromZero => Some(down),
    };
    rounded.map_or(
        SqlValue::Real((i as f64 / unit as f64).round() * unit as f64),
        SqlValue::Integer,
    )
}

fn round(args: &[SqlValue], mode: Mode) -> R {
    null_if_any_null!(args);
    let places = match args.get(1) {
        Some(p) => p.as_i64().unwrap_or(0).clamp(-400, 400),
        None => 0,
    };
    Ok(match to_number(&args[0]) {
        None => SqlValue::Null,
        Some(SqlValue::Integer(i)) => round_integer(i, places, mode),
        Some(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            if !x.is_finite() {
                return Ok(SqlValue::Null);
            }
            let r = round_f64(x, places, mode);
            if places <= 0 && r.abs() < 9.2e18 {
                SqlValue::Integer(r as i64)
            } else {
                SqlValue::Real(r)
            }
        }
    })
}

/// MySQL `FORMAT(x, d[, locale])`; the locale is ignored (en_US separators).
fn format(args: &[SqlValue]) -> R {
    if args[0].is_null() || args[1].is_null() {
        return Ok(SqlValue::Null);
    }
    let (Some(x), Some(places)) = (args[0].as_f64(), args[1].as_i64()) else {
        return Ok(SqlValue::Null);
    };
    if !x.is_finite() {
        return Ok(SqlValue::Null);
    }
    Ok(SqlValue::Text(crate::decimal::format_number(x, places)))
}

fn modulo(args: &[SqlValue]) -> R {
    null_if_any_null!(args);
    Ok(match (to_number(&args[0]), to_number(&args[1])) {
        (Some(SqlValue::Integer(_)), Some(SqlValue::Integer(0))) => SqlValue::Null,
        (Some(SqlValue::Integer(a)), Some(SqlValue::Integer(b))) => {
            SqlValue::Integer(a.checked_rem(b).unwrap_or(0))
        }
        (Some(a), Some(b)) => {
            let (a, b) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            if b == 0.0 {
                SqlValue::Null
            } else {
                SqlValue::from(Some(a % b))
            }
        }
        _ => SqlValue::Null,
    })
}

fn abs(args: &[SqlValue]) -> R {
    Ok(match to_number(&args[0]) {
        None => SqlValue::Null,
        Some(SqlValue::Integer(i)) => i
            .checked_abs()
            .map_or(SqlValue::Real((i as f64).abs()), SqlValue::Integer),
        Some(n) => SqlValue::from(n.as_f64().map(f64::abs)),
    })
}

fn sign(args: &[SqlValue]) -> R {
    Ok(match to_number(&args[0]) {
        None => SqlValue::Null,
        Some(SqlValue::Integer(i)) => SqlValue::Integer(i.signum()),
        Some(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            SqlValue::Integer(if x > 0.0 {
                1
            } else if x < 0.0 {
                -1
            } else {
                0
            })
        }
    })
}

fn real1(args: &[SqlValue], f: impl Fn(f64) -> Option<f64>) -> R {
    Ok(SqlValue::from(args[0].as_f64().and_then(f)))
}

fn real2(args: &[SqlValue], f: impl Fn(f64, f64) -> f64) -> R {
    null_if_any_null!(args);
    let (Some(a), Some(b)) = (args[0].as_f64(), args[1].as_f64()) else {
        return Ok(SqlValue::Null);
    };
    Ok(SqlValue::from(Some(f(a, b))))
}

fn rand_fn(args: &[SqlValue]) -> R {
    let value: f64 = match args.first() {
        Some(seed) => {
            let seed = seed.as_i64().unwrap_or(0) as u64;
            rand::rngs::StdRng::seed_from_u64(seed).random()
        }
        None => rand::random(),
    };
    Ok(SqlValue::Real(value))
}

/// MySQL `INET_ATON`, including short forms (`'127.1'` = 127.0.0.1).
pub fn inet_aton(s: &str) -> Option<i64> {
    let mut result: i64 = 0;
    let mut byte: i64 = 0;
    let mut dots = 0;
    let mut last = '\0';
    for c in s.chars() {
        last = c;
        if let Some(d) = c.to_digit(10) {
            byte = byte * 10 + i64::from(d);
            if byte > 255 {
                return None;
            }
        } else if c == '.' {
            dots += 1;
            if dots > 3 {
                return None;
            }
            result = (result << 8) + byte;
            byte = 0;
        } else {
            return None;
        }
    }
    if last == '.' || s.is_empty() {
        return None;
    }
    match dots {
        1 => result <<= 16,
        2 => result <<= 8,
        _ => {}
    }
    Some((result << 8) + byte)
}

/// MySQL `INET_NTOA`.
pub fn inet_ntoa(n: i64) -> Option<String> {
    let n = u32::try_from(n).ok()?;
    let b = n.to_be_bytes();
    Some(format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_matches_mysql_docs() {
        assert_eq!(inet_aton("10.0.5.9"), Some(167_773_449));
        assert_eq!(inet_aton("127.1"), Some(2_130_706_433));
        assert_eq!(inet_aton("1.2.3.4.5"), None);
        assert_eq!(inet_aton("1.2."), None);
        assert_eq!(inet_ntoa(167_773_449).as_deref(), Some("10.0.5.9"));
        assert_eq!(inet_ntoa(-1), None);
    }

    #[test]
    fn integer_rounding() {
        assert_eq!(
            round_integer(1250, -2, Mode::HalfAwayFromZero),
            SqlValue::Integer(1300)
        );
        assert_eq!(
            round_integer(-1250, -2, Mode::HalfAwayFromZero),
            SqlValue::Integer(-1300)
        );
        assert_eq!(
            round_integer(1249, -2, Mode::HalfAwayFromZero),
            SqlValue::Integer(1200)
        );
        assert_eq!(
            round_integer(122, -2, Mode::Truncate),
            SqlValue::Integer(100)
        );
        assert_eq!(round_integer(5, -30, Mode::Truncate), SqlValue::Integer(0));
    }
}
