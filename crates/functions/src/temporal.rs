//! Core date/time values: parsing MySQL's textual and numeric forms,
//! calendar arithmetic and the canonical output formats.
//!
//! Dates use the proleptic Gregorian calendar, years 0..=9999 like MySQL.

use crate::value::SqlValue;

/// Microseconds per second.
pub const MICROS_PER_SEC: i64 = 1_000_000;
/// Microseconds per day.
pub const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SEC;
/// MySQL's `TO_DAYS('1970-01-01')`.
pub const UNIX_EPOCH_DAYNR: i64 = 719_528;
/// Largest TIME magnitude MySQL allows: 838:59:59 (in microseconds, without fraction).
pub const MAX_TIME_MICROS: i64 = (838 * 3600 + 59 * 60 + 59) * MICROS_PER_SEC + 999_999;

/// A calendar date and time of day (MySQL DATE / DATETIME value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime {
    /// 0..=9999.
    pub year: i32,
    /// 1..=12.
    pub month: u32,
    /// 1..=31.
    pub day: u32,
    /// 0..=23.
    pub hour: u32,
    /// 0..=59.
    pub minute: u32,
    /// 0..=59.
    pub second: u32,
    /// 0..=999_999.
    pub micro: u32,
}

/// A parsed DATE/DATETIME together with what the input spelled out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// The value.
    pub dt: DateTime,
    /// The input had a time part (DATETIME rather than DATE).
    pub has_time: bool,
    /// The input had a fractional-seconds part.
    pub has_fraction: bool,
}

/// True for leap years in the Gregorian calendar.
pub fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in `month` of `year` (0 for an invalid month).
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl DateTime {
    /// A validated date-time; `None` when any field is out of range.
    pub fn new(
        year: i64,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
        micro: u32,
    ) -> Option<Self> {
        let year = i32::try_from(year).ok()?;
        let ok = (0..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month)
            && hour < 24
            && minute < 60
            && second < 60
            && micro < 1_000_000;
        ok.then_some(DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
            micro,
        })
    }

    /// Midnight of the given date.
    pub fn date(year: i64, month: u32, day: u32) -> Option<Self> {
        Self::new(year, month, day, 0, 0, 0, 0)
    }

    /// MySQL's `TO_DAYS()`: days since year 0.
    pub fn daynr(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day) + UNIX_EPOCH_DAYNR
    }

    /// The date for a MySQL day number; `None` outside years 0..=9999.
    pub fn from_daynr(daynr: i64) -> Option<Self> {
        let (y, m, d) = civil_from_days(daynr.checked_sub(UNIX_EPOCH_DAYNR)?);
        Self::date(y, m, d)
    }

    /// Microseconds within the day.
    pub fn time_micros(&self) -> i64 {
        ((i64::from(self.hour) * 60 + i64::from(self.minute)) * 60 + i64::from(self.second))
            * MICROS_PER_SEC
            + i64::from(self.micro)
    }

    /// Microseconds since 1970-01-01 00:00:00 (this value read as UTC).
    pub fn epoch_micros(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * MICROS_PER_DAY + self.time_micros()
    }

    /// The date-time for microseconds since the epoch; `None` outside 0..=9999.
    pub fn from_epoch_micros(micros: i64) -> Option<Self> {
        let days = micros.div_euclid(MICROS_PER_DAY);
        let rest = micros.rem_euclid(MICROS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let secs = rest / MICROS_PER_SEC;
        Self::new(
            y,
            m,
            d,
            (secs / 3600) as u32,
            (secs / 60 % 60) as u32,
            (secs % 60) as u32,
            (rest % MICROS_PER_SEC) as u32,
        )
    }

    /// Day of the week, 0 = Monday … 6 = Sunday (MySQL's `WEEKDAY()`).
    pub fn weekday(&self) -> u32 {
        ((self.daynr() + 5).rem_euclid(7)) as u32
    }

    /// Day of the year, 1..=366.
    pub fn day_of_year(&self) -> u32 {
        (self.daynr() - days_from_civil(self.year, 1, 1) - UNIX_EPOCH_DAYNR + 1) as u32
    }

    /// The date part only.
    pub fn date_part(&self) -> Self {
        DateTime {
            hour: 0,
            minute: 0,
            second: 0,
            micro: 0,
            ..*self
        }
    }
}

/// `YYYY-MM-DD`.
pub fn format_date(dt: &DateTime) -> String {
    format!("{:04}-{:02}-{:02}", dt.year, dt.month, dt.day)
}

/// `YYYY-MM-DD HH:MM:SS` with `fsp` (0..=6) fractional digits.
pub fn format_datetime(dt: &DateTime, fsp: u32) -> String {
    let mut s = format!(
        "{} {:02}:{:02}:{:02}",
        format_date(dt),
        dt.hour,
        dt.minute,
        dt.second
    );
    push_fraction(&mut s, dt.micro, fsp);
    s
}

fn push_fraction(s: &mut String, micro: u32, fsp: u32) {
    let fsp = fsp.min(6);
    if fsp > 0 {
        let digits = format!("{micro:06}");
        s.push('.');
        s.push_str(&digits[..fsp as usize]);
    }
}

/// `[-]HH:MM:SS` with `fsp` fractional digits; `micros` is a signed duration.
pub fn format_time(micros: i64, fsp: u32) -> String {
    let neg = micros < 0;
    let abs = micros.unsigned_abs();
    let secs = abs / 1_000_000;
    let mut s = format!(
        "{}{:02}:{:02}:{:02}",
        if neg { "-" } else { "" },
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    push_fraction(&mut s, (abs % 1_000_000) as u32, fsp);
    s
}

/// Clamps a duration to MySQL's TIME range (±838:59:59.999999).
pub fn clamp_time(micros: i64) -> i64 {
    micros.clamp(-MAX_TIME_MICROS, MAX_TIME_MICROS)
}

/// A run of digits in the input and the character that preceded it.
#[derive(Debug)]
struct Group<'a> {
    sep: Option<char>,
    digits: &'a str,
}

fn digit_groups(s: &str) -> Option<Vec<Group<'_>>> {
    // A date-time has at most 7 groups; more means this is not one. Bounded
    // so a long string costs nothing.
    const MAX_GROUPS: usize = 8;
    let mut groups = Vec::new();
    let mut sep: Option<char> = None;
    let mut start: Option<usize> = None;
    for (i, c) in s.char_indices() {
        if c.is_ascii_digit() {
            if start.is_none() {
                start = Some(i);
            }
            continue;
        }
        if let Some(st) = start.take() {
            groups.push(Group {
                sep,
                digits: &s[st..i],
            });
            if groups.len() > MAX_GROUPS {
                return None;
            }
        }
        if !(c.is_ascii_punctuation() || c == ' ' || c == 'T' || c == 't') {
            return None;
        }
        sep = Some(c);
    }
    if let Some(st) = start {
        groups.push(Group {
            sep,
            digits: &s[st..],
        });
    }
    (groups.len() <= MAX_GROUPS).then_some(groups)
}

fn num(s: &str) -> Option<u32> {
    if s.len() > 9 {
        return None;
    }
    s.parse().ok()
}

/// Fraction digits → microseconds (first six digits, right-padded).
fn fraction_micros(digits: &str) -> Option<u32> {
    let d: String = digits.chars().take(6).collect();
    let padded = format!("{d:0<6}");
    padded.parse().ok()
}

fn expand_year(digits: &str, value: u32) -> i64 {
    if digits.len() <= 2 {
        if value < 70 {
            2000 + i64::from(value)
        } else {
            1900 + i64::from(value)
        }
    } else {
        i64::from(value)
    }
}

/// Parses an all-digits date-time: YYYYMMDD, YYMMDD, YYYYMMDDHHMMSS, YYMMDDHHMMSS.
fn parse_packed(digits: &str, fraction: Option<&str>) -> Option<Parsed> {
    let (ylen, has_time) = match digits.len() {
        8 => (4, false),
        6 => (2, false),
        14 => (4, true),
        12 => (2, true),
        _ => return None,
    };
    let y = num(&digits[..ylen])?;
    let year = expand_year(&digits[..ylen], y);
    let part = |i: usize| num(&digits[ylen + 2 * i..ylen + 2 * i + 2]);
    let (h, mi, s) = if has_time {
        (part(2)?, part(3)?, part(4)?)
    } else {
        (0, 0, 0)
    };
    let micro = match fraction {
        Some(f) if has_time => fraction_micros(f)?,
        _ => 0,
    };
    let dt = DateTime::new(year, part(0)?, part(1)?, h, mi, s, micro)?;
    Some(Parsed {
        dt,
        has_time,
        has_fraction: has_time && fraction.is_some(),
    })
}

/// Parses MySQL's DATE / DATETIME text forms: `YYYY-MM-DD`, `YY-MM-DD`,
/// `YYYY-MM-DD HH:MM:SS[.ffffff]`, `T` separator, any punctuation delimiter,
/// and packed digit forms. Invalid or zero dates give `None`.
pub fn parse_datetime_text(s: &str) -> Option<Parsed> {
    let s = s.trim();
    let groups = digit_groups(s)?;
    match groups.as_slice() {
        [g] => return parse_packed(g.digits, None),
        [g, f] if f.sep == Some('.') && (g.digits.len() == 14 || g.digits.len() == 12) => {
            return parse_packed(g.digits, Some(f.digits));
        }
        _ => {}
    }
    if groups.len() < 3 || groups[1].sep == Some(':') {
        return None;
    }
    let y = num(groups[0].digits)?;
    let year = expand_year(groups[0].digits, y);
    let month = num(groups[1].digits)?;
    let day = num(groups[2].digits)?;
    let field = |i: usize| groups.get(i).map_or(Some(0), |g| num(g.digits));
    let (hour, minute, second) = (field(3)?, field(4)?, field(5)?);
    if groups.len() == 4 || groups.len() == 5 && groups[4].sep == Some('.') {
        // "YYYY-MM-DD HH" or "HH.frac": MySQL rejects these as datetimes.
        return None;
    }
    let fraction = groups.get(6);
    if let Some(f) = fraction {
        if f.sep != Some('.') {
            return None;
        }
    }
    if groups.len() > 7 {
        return None;
    }
    let micro = match fraction {
        Some(f) => fraction_micros(f.digits)?,
        None => 0,
    };
    let dt = DateTime::new(year, month, day, hour, minute, second, micro)?;
    Some(Parsed {
        dt,
        has_time: groups.len() > 3,
        has_fraction: fraction.is_some(),
    })
}

/// Converts any SQL value to a DATE/DATETIME the way MySQL does for
/// temporal function arguments; `None` for NULL or invalid values.
pub fn to_datetime(v: &SqlValue) -> Option<Parsed> {
    match v {
        SqlValue::Null => None,
        SqlValue::Integer(i) => parse_datetime_text(&i.to_string()),
        SqlValue::Real(f) => {
            let text = format!("{f:.6}");
            let (int, frac) = text.split_once('.')?;
            let mut p = parse_packed(int, Some(frac))?;
            p.has_fraction = p.dt.micro != 0;
            Some(p)
        }
        SqlValue::Text(t) => parse_datetime_text(t),
        SqlValue::Blob(b) => parse_datetime_text(&String::from_utf8_lossy(b)),
    }
}

/// Parses MySQL TIME text: `[-][D ]HH:MM[:SS][.ffffff]`, `[-]HHMMSS[.ffffff]`,
/// `MMSS`, `SS`. Returns signed microseconds and whether a fraction was given.
pub fn parse_time_text(s: &str) -> Option<(i64, bool)> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, s),
    };
    let (main, fraction) = match body.split_once('.') {
        Some((m, f)) if f.bytes().all(|b| b.is_ascii_digit()) && !f.is_empty() => (m, Some(f)),
        Some(_) => return None,
        None => (body, None),
    };
    let (days, clock) = match main.split_once(' ') {
        Some((d, c)) => (num(d.trim())?, c.trim()),
        None => (0, main),
    };
    let (h, m, sec) = if clock.contains(':') {
        let parts: Vec<&str> = clock.split(':').collect();
        if parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        match parts.as_slice() {
            [h, m] => (num(h)?, num(m)?, 0),
            [h, m, s] => (num(h)?, num(m)?, num(s)?),
            _ => return None,
        }
    } else {
        if clock.is_empty() || !clock.bytes().all(|b| b.is_ascii_digit()) || days > 0 {
            return None;
        }
        let v = num(clock)?;
        (v / 10_000, v / 100 % 100, v % 100)
    };
    if m >= 60 || sec >= 60 {
        return None;
    }
    let micro = match fraction {
        Some(f) => fraction_micros(f)?,
        None => 0,
    };
    let hours = i64::from(days) * 24 + i64::from(h);
    let total =
        ((hours * 60 + i64::from(m)) * 60 + i64::from(sec)) * MICROS_PER_SEC + i64::from(micro);
    let total = clamp_time(total);
    Some((if neg { -total } else { total }, fraction.is_some()))
}

/// Converts any SQL value to a TIME (signed microseconds). A full datetime
/// yields its time of day.
pub fn to_time(v: &SqlValue) -> Option<(i64, bool)> {
    match v {
        SqlValue::Null => None,
        SqlValue::Integer(i) => {
            if i.unsigned_abs() >= 100_000_000 {
                to_datetime(v).map(|p| (p.dt.time_micros(), false))
            } else {
                parse_time_text(&i.to_string())
            }
        }
        SqlValue::Real(f) => parse_time_text(&format!("{f:.6}")),
        SqlValue::Text(_) | SqlValue::Blob(_) => {
            let text = v.as_text()?;
            // A full datetime gives its clock; then a TIME; a bare date is midnight.
            match parse_datetime_text(&text) {
                Some(p) if p.has_time => Some((p.dt.time_micros(), p.has_fraction)),
                Some(_) => parse_time_text(&text).or(Some((0, false))),
                None => parse_time_text(&text),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> Option<DateTime> {
        parse_datetime_text(s).map(|p| p.dt)
    }

    #[test]
    fn civil_roundtrip() {
        for days in [-800_000i64, -1, 0, 1, 59, 365, 10_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y as i32, m, d), days);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(
            DateTime::date(2007, 10, 7).map(|d| d.daynr()),
            Some(733_321)
        );
        assert_eq!(DateTime::date(1, 1, 1).map(|d| d.daynr()), Some(366));
    }

    #[test]
    fn parse_forms() {
        assert_eq!(dt("2024-02-29"), DateTime::date(2024, 2, 29));
        assert_eq!(dt("2023-02-29"), None);
        assert_eq!(dt("0000-00-00"), None);
        assert_eq!(dt("20240115"), DateTime::date(2024, 1, 15));
        assert_eq!(dt("98-12-31"), DateTime::date(1998, 12, 31));
        assert_eq!(dt("2012^12^31"), DateTime::date(2012, 12, 31));
        assert_eq!(
            dt("2024-01-15 10:20:30"),
            DateTime::new(2024, 1, 15, 10, 20, 30, 0)
        );
        assert_eq!(
            dt("2024-01-15T10:20:30.5"),
            DateTime::new(2024, 1, 15, 10, 20, 30, 500_000)
        );
        assert_eq!(
            dt("20240115102030"),
            DateTime::new(2024, 1, 15, 10, 20, 30, 0)
        );
        assert_eq!(dt("12:01:02"), None);
        assert_eq!(dt("hello"), None);
        assert_eq!(dt(""), None);
    }

    #[test]
    fn parse_times() {
        assert_eq!(parse_time_text("10:20:30"), Some((37_230_000_000, false)));
        assert_eq!(parse_time_text("-01:00"), Some((-3_600_000_000, false)));
        assert_eq!(parse_time_text("1 01:00:00"), Some((90_000_000_000, false)));
        assert_eq!(parse_time_text("102030"), Some((37_230_000_000, false)));
        assert_eq!(parse_time_text("900:00:00"), Some((MAX_TIME_MICROS, false)));
        assert_eq!(parse_time_text("10:61:00"), None);
        assert_eq!(format_time(-3_723_500_000, 1), "-01:02:03.5");
    }
}
