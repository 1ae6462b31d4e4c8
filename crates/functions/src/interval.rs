//! INTERVAL units: parsing interval values, adding them to date-times,
//! `TIMESTAMPDIFF()` and `EXTRACT()`.

use crate::error::FunctionError;
use crate::temporal::{days_in_month, DateTime, MICROS_PER_DAY, MICROS_PER_SEC};
use crate::value::{f64_to_i64, SqlValue};

/// One field of an interval or of EXTRACT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// Years.
    Year,
    /// Quarters (3 months).
    Quarter,
    /// Months.
    Month,
    /// Weeks (7 days).
    Week,
    /// Days.
    Day,
    /// Hours.
    Hour,
    /// Minutes.
    Minute,
    /// Seconds.
    Second,
    /// Microseconds.
    Microsecond,
}

impl Field {
    /// `(months, microseconds)` in one unit of this field.
    fn size(self) -> (i64, i64) {
        match self {
            Field::Year => (12, 0),
            Field::Quarter => (3, 0),
            Field::Month => (1, 0),
            Field::Week => (0, 7 * MICROS_PER_DAY),
            Field::Day => (0, MICROS_PER_DAY),
            Field::Hour => (0, 3600 * MICROS_PER_SEC),
            Field::Minute => (0, 60 * MICROS_PER_SEC),
            Field::Second => (0, MICROS_PER_SEC),
            Field::Microsecond => (0, 1),
        }
    }

    /// True for fields that are part of a calendar date.
    pub fn is_date_field(self) -> bool {
        matches!(
            self,
            Field::Year | Field::Quarter | Field::Month | Field::Week | Field::Day
        )
    }
}

/// An interval unit: one field or a compound like `DAY_SECOND`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unit {
    /// The fields, largest first.
    pub fields: &'static [Field],
}

/// Parses a unit name (case-insensitive; `DAYS`/`MONTHS` plural forms too).
pub fn parse_unit(function: &'static str, name: &str) -> Result<Unit, FunctionError> {
    use Field::*;
    let upper = name.trim().to_ascii_uppercase();
    let fields: &'static [Field] = match upper.trim_end_matches('S') {
        "YEAR" => &[Year],
        "QUARTER" => &[Quarter],
        "MONTH" => &[Month],
        "WEEK" => &[Week],
        "DAY" => &[Day],
        "HOUR" => &[Hour],
        "MINUTE" => &[Minute],
        "SECOND" => &[Second],
        "MICROSECOND" => &[Microsecond],
        "YEAR_MONTH" => &[Year, Month],
        "DAY_HOUR" => &[Day, Hour],
        "DAY_MINUTE" => &[Day, Hour, Minute],
        "DAY_SECOND" => &[Day, Hour, Minute, Second],
        "DAY_MICROSECOND" => &[Day, Hour, Minute, Second, Microsecond],
        "HOUR_MINUTE" => &[Hour, Minute],
        "HOUR_SECOND" => &[Hour, Minute, Second],
        "HOUR_MICROSECOND" => &[Hour, Minute, Second, Microsecond],
        "MINUTE_SECOND" => &[Minute, Second],
        "MINUTE_MICROSECOND" => &[Minute, Second, Microsecond],
        "SECOND_MICROSECOND" => &[Second, Microsecond],
        _ => {
            return Err(FunctionError::UnsupportedUnit {
                function,
                unit: name.to_string(),
            });
        }
    };
    Ok(Unit { fields })
}

/// A signed interval: calendar months plus exact microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Interval {
    /// Months (years and quarters folded in).
    pub months: i64,
    /// Microseconds (weeks, days and clock fields folded in).
    pub micros: i64,
}

impl Interval {
    /// The interval pointing the other way.
    pub fn negate(self) -> Option<Self> {
        Some(Interval {
            months: self.months.checked_neg()?,
            micros: self.micros.checked_neg()?,
        })
    }
}

/// Builds an interval from `value` in `unit`; `None` for NULL or unparsable values.
pub fn interval(value: &SqlValue, unit: Unit) -> Option<Interval> {
    if value.is_null() {
        return None;
    }
    if let [field] = unit.fields {
        let (m, us) = field.size();
        if *field == Field::Second {
            let micros = value.as_f64()? * MICROS_PER_SEC as f64;
            if !micros.is_finite() || micros.abs() > 9.0e18 {
                return None;
            }
            return Some(Interval {
                months: 0,
                micros: f64_to_i64(micros),
            });
        }
        let n = value.as_i64()?;
        return Some(Interval {
            months: n.checked_mul(m)?,
            micros: n.checked_mul(us)?,
        });
    }
    compound_interval(&value.as_text()?, unit)
}

fn compound_interval(text: &str, unit: Unit) -> Option<Interval> {
    let trimmed = text.trim();
    let (negative, body) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let groups: Vec<&str> = body
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect();
    if groups.is_empty() || groups.len() > unit.fields.len() {
        return None;
    }
    // Too few values: MySQL assumes the leftmost fields were left out.
    let skip = unit.fields.len() - groups.len();
    let mut iv = Interval::default();
    for (field, digits) in unit.fields[skip..].iter().zip(&groups) {
        let n: i64 = digits.parse().ok()?;
        let (m, us) = field.size();
        iv.months = iv.months.checked_add(n.checked_mul(m)?)?;
        iv.micros = iv.micros.checked_add(n.checked_mul(us)?)?;
    }
    if negative {
        iv.negate()
    } else {
        Some(iv)
    }
}

/// Adds `months` with MySQL's day-of-month clamping (Jan 31 + 1 month = Feb 28/29).
pub fn add_months(dt: &DateTime, months: i64) -> Option<DateTime> {
    let total = i64::from(dt.year).checked_mul(12)? + i64::from(dt.month) - 1 + months;
    let year = total.div_euclid(12);
    let month = (total.rem_euclid(12) + 1) as u32;
    let max_day = days_in_month(i32::try_from(year).ok()?, month);
    let day = dt.day.min(max_day);
    DateTime::new(year, month, day, dt.hour, dt.minute, dt.second, dt.micro)
}

/// `dt + iv`; `None` when the result leaves years 0..=9999.
pub fn add_interval(dt: &DateTime, iv: Interval) -> Option<DateTime> {
    let shifted = if iv.months != 0 {
        add_months(dt, iv.months)?
    } else {
        *dt
    };
    if iv.micros == 0 {
        return Some(shifted);
    }
    DateTime::from_epoch_micros(shifted.epoch_micros().checked_add(iv.micros)?)
}

/// `TIMESTAMPDIFF(unit, a, b)`: `b - a` in whole units, truncated toward zero.
pub fn timestamp_diff(field: Field, a: &DateTime, b: &DateTime) -> i64 {
    let (months_per_unit, micros_per_unit) = field.size();
    if months_per_unit > 0 {
        let (early, late, sign) = if b >= a { (a, b, 1) } else { (b, a, -1) };
        let mut months = (i64::from(late.year) - i64::from(early.year)) * 12
            + i64::from(late.month)
            - i64::from(early.month);
        if (late.day, late.time_micros()) < (early.day, early.time_micros()) {
            months -= 1;
        }
        return sign * (months / months_per_unit);
    }
    (b.epoch_micros() - a.epoch_micros()) / micros_per_unit
}

/// The value of one field of a date-time (for EXTRACT).
pub fn field_value(field: Field, dt: &DateTime) -> i64 {
    match field {
        Field::Year => i64::from(dt.year),
        Field::Quarter => i64::from(dt.month.div_ceil(3)),
        Field::Month => i64::from(dt.month),
        Field::Week => i64::from(crate::date_format::week(dt, 0)),
        Field::Day => i64::from(dt.day),
        Field::Hour => i64::from(dt.hour),
        Field::Minute => i64::from(dt.minute),
        Field::Second => i64::from(dt.second),
        Field::Microsecond => i64::from(dt.micro),
    }
}

/// `EXTRACT(unit FROM dt)`: compound units concatenate their fields
/// (`DAY_MINUTE` of 2019-07-02 01:02:03 is 20102).
pub fn extract(unit: Unit, dt: &DateTime) -> i64 {
    unit.fields.iter().fold(0i64, |acc, f| {
        let width = if *f == Field::Microsecond {
            1_000_000
        } else {
            100
        };
        acc.saturating_mul(width)
            .saturating_add(field_value(*f, dt))
    })
}

/// `EXTRACT` of clock-only units from a signed TIME duration (hours may exceed 23).
pub fn extract_time(unit: Unit, micros: i64) -> i64 {
    let sign = if micros < 0 { -1 } else { 1 };
    let abs = micros.unsigned_abs() as i64;
    let secs = abs / MICROS_PER_SEC;
    let value = unit.fields.iter().fold(0i64, |acc, f| {
        let (width, v) = match f {
            Field::Hour => (100, secs / 3600),
            Field::Minute => (100, secs / 60 % 60),
            Field::Second => (100, secs % 60),
            _ => (1_000_000, abs % MICROS_PER_SEC),
        };
        acc.saturating_mul(width).saturating_add(v)
    });
    sign * value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime {
        DateTime::new(y, mo, d, h, mi, s, 0).unwrap()
    }

    #[test]
    fn month_clamping() {
        let r = add_months(&dt(2020, 1, 31, 0, 0, 0), 1).unwrap();
        assert_eq!((r.month, r.day), (2, 29));
        let r = add_months(&dt(2021, 3, 31, 0, 0, 0), -1).unwrap();
        assert_eq!((r.month, r.day), (2, 28));
        assert!(add_months(&dt(9999, 12, 1, 0, 0, 0), 1).is_none());
    }

    #[test]
    fn compound_values() {
        let u = parse_unit("t", "minute_second").unwrap();
        let iv = interval(&SqlValue::Text("1:1".into()), u).unwrap();
        assert_eq!(iv.micros, 61 * MICROS_PER_SEC);
        let u = parse_unit("t", "DAY_SECOND").unwrap();
        let iv = interval(&SqlValue::Text("-1 10".into()), u).unwrap();
        assert_eq!(iv.micros, -(70 * MICROS_PER_SEC));
        assert!(parse_unit("t", "FORTNIGHT").is_err());
    }

    #[test]
    fn diffs_match_mysql_docs() {
        let a = dt(2003, 2, 1, 0, 0, 0);
        assert_eq!(
            timestamp_diff(Field::Month, &a, &dt(2003, 5, 1, 0, 0, 0)),
            3
        );
        assert_eq!(
            timestamp_diff(
                Field::Year,
                &dt(2002, 5, 1, 0, 0, 0),
                &dt(2001, 1, 1, 0, 0, 0)
            ),
            -1
        );
        assert_eq!(
            timestamp_diff(Field::Minute, &a, &dt(2003, 2, 1, 12, 5, 55)),
            725
        );
        assert_eq!(
            timestamp_diff(
                Field::Month,
                &dt(2020, 1, 31, 0, 0, 0),
                &dt(2020, 2, 29, 0, 0, 0)
            ),
            0
        );
    }

    #[test]
    fn extract_matches_mysql_docs() {
        let t = dt(2019, 7, 2, 1, 2, 3);
        assert_eq!(extract(parse_unit("t", "YEAR_MONTH").unwrap(), &t), 201_907);
        assert_eq!(extract(parse_unit("t", "DAY_MINUTE").unwrap(), &t), 20_102);
        let u = parse_unit("t", "HOUR").unwrap();
        assert_eq!(extract_time(u, -100 * 3600 * MICROS_PER_SEC), -100);
    }
}
