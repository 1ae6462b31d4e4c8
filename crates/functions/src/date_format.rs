//! MySQL's `DATE_FORMAT()` specifiers, `STR_TO_DATE()` parsing and week numbers.

use crate::temporal::{days_from_civil, is_leap, DateTime, UNIX_EPOCH_DAYNR};

/// English month names, January first.
pub const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// English day names, Monday first (MySQL's WEEKDAY() order).
pub const DAY_NAMES: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

const WEEK_MONDAY_FIRST: u32 = 1;
const WEEK_YEAR: u32 = 2;
const WEEK_FIRST_WEEKDAY: u32 = 4;

fn daynr_of(year: i32, month: u32, day: u32) -> i64 {
    days_from_civil(year, month, day) + UNIX_EPOCH_DAYNR
}

fn days_in_year(year: i32) -> i64 {
    if is_leap(year) {
        366
    } else {
        365
    }
}

fn calc_weekday(daynr: i64, sunday_first: bool) -> i64 {
    (daynr + 5 + i64::from(sunday_first)).rem_euclid(7)
}

/// MySQL's `calc_week()`: week number and the year it belongs to.
fn calc_week(dt: &DateTime, behaviour: u32) -> (u32, i32) {
    let daynr = dt.daynr();
    let mut first_daynr = daynr_of(dt.year, 1, 1);
    let monday_first = behaviour & WEEK_MONDAY_FIRST != 0;
    let mut week_year = behaviour & WEEK_YEAR != 0;
    let first_weekday = behaviour & WEEK_FIRST_WEEKDAY != 0;
    let mut weekday = calc_weekday(first_daynr, !monday_first);
    let mut year = dt.year;

    if dt.month == 1 && i64::from(dt.day) <= 7 - weekday {
        if !week_year && ((first_weekday && weekday != 0) || (!first_weekday && weekday >= 4)) {
            return (0, year);
        }
        week_year = true;
        year -= 1;
        let days = days_in_year(year);
        first_daynr -= days;
        weekday = (weekday + 53 * 7 - days).rem_euclid(7);
    }
    let days = if (first_weekday && weekday != 0) || (!first_weekday && weekday >= 4) {
        daynr - (first_daynr + (7 - weekday))
    } else {
        daynr - (first_daynr - weekday)
    };
    if week_year && days >= 52 * 7 {
        let wd = (weekday + days_in_year(year)).rem_euclid(7);
        if (!first_weekday && wd < 4) || (first_weekday && wd == 0) {
            return (1, year + 1);
        }
    }
    ((days / 7 + 1) as u32, year)
}

/// MySQL's `WEEK(date, mode)` for modes 0..=7.
pub fn week(dt: &DateTime, mode: i64) -> u32 {
    let mut behaviour = (mode & 7) as u32;
    if behaviour & WEEK_MONDAY_FIRST == 0 {
        behaviour ^= WEEK_FIRST_WEEKDAY;
    }
    calc_week(dt, behaviour).0
}

/// MySQL's `YEARWEEK(date, mode)`.
pub fn yearweek(dt: &DateTime, mode: i64) -> i64 {
    let mut behaviour = (mode & 7) as u32 | WEEK_YEAR;
    if behaviour & WEEK_MONDAY_FIRST == 0 {
        behaviour ^= WEEK_FIRST_WEEKDAY;
    }
    let (w, y) = calc_week(dt, behaviour);
    i64::from(y) * 100 + i64::from(w)
}

fn ordinal_suffix(day: u32) -> &'static str {
    match (day % 100, day % 10) {
        (11..=13, _) => "th",
        (_, 1) => "st",
        (_, 2) => "nd",
        (_, 3) => "rd",
        _ => "th",
    }
}

fn hour12(hour: u32) -> u32 {
    match hour % 12 {
        0 => 12,
        h => h,
    }
}

/// Formats `dt` with MySQL `DATE_FORMAT()` specifiers. `is_zero_date` marks a
/// TIME value (no calendar date): name specifiers then yield nothing.
pub fn date_format(dt: &DateTime, fmt: &str, is_zero_date: bool) -> String {
    let mut out = String::with_capacity(fmt.len() * 2);
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(spec) = chars.next() else { break };
        push_specifier(&mut out, dt, spec, is_zero_date);
    }
    out
}

fn push_specifier(out: &mut String, dt: &DateTime, spec: char, zero: bool) {
    use std::fmt::Write;
    let month_name = || {
        MONTH_NAMES
            .get((dt.month as usize).wrapping_sub(1))
            .copied()
    };
    let day_name = || (!zero).then(|| DAY_NAMES[dt.weekday() as usize]);
    // Writing to a String cannot fail.
    let _ = match spec {
        'Y' => write!(out, "{:04}", dt.year),
        'y' => write!(out, "{:02}", dt.year % 100),
        'm' => write!(out, "{:02}", dt.month),
        'c' => write!(out, "{}", dt.month),
        'd' => write!(out, "{:02}", dt.day),
        'e' => write!(out, "{}", dt.day),
        'D' => write!(out, "{}{}", dt.day, ordinal_suffix(dt.day)),
        'H' => write!(out, "{:02}", dt.hour),
        'k' => write!(out, "{}", dt.hour),
        'h' | 'I' => write!(out, "{:02}", hour12(dt.hour)),
        'l' => write!(out, "{}", hour12(dt.hour)),
        'i' => write!(out, "{:02}", dt.minute),
        's' | 'S' => write!(out, "{:02}", dt.second),
        'f' => write!(out, "{:06}", dt.micro),
        'p' => write!(out, "{}", if dt.hour < 12 { "AM" } else { "PM" }),
        'T' => write!(out, "{:02}:{:02}:{:02}", dt.hour, dt.minute, dt.second),
        'r' => write!(
            out,
            "{:02}:{:02}:{:02} {}",
            hour12(dt.hour),
            dt.minute,
            dt.second,
            if dt.hour < 12 { "AM" } else { "PM" }
        ),
        'M' => write!(out, "{}", month_name().unwrap_or("")),
        'b' => write!(out, "{}", month_name().map_or("", |n| &n[..3])),
        'W' => write!(out, "{}", day_name().unwrap_or("")),
        'a' => write!(out, "{}", day_name().map_or("", |n| &n[..3])),
        'w' if !zero => write!(out, "{}", (dt.weekday() + 1) % 7),
        'j' if !zero => write!(out, "{:03}", dt.day_of_year()),
        'U' if !zero => write!(out, "{:02}", calc_week(dt, WEEK_FIRST_WEEKDAY).0),
        'u' if !zero => write!(out, "{:02}", calc_week(dt, WEEK_MONDAY_FIRST).0),
        'V' if !zero => write!(
            out,
            "{:02}",
            calc_week(dt, WEEK_YEAR | WEEK_FIRST_WEEKDAY).0
        ),
        'v' if !zero => write!(out, "{:02}", calc_week(dt, WEEK_MONDAY_FIRST | WEEK_YEAR).0),
        'X' if !zero => write!(
            out,
            "{:04}",
            calc_week(dt, WEEK_YEAR | WEEK_FIRST_WEEKDAY).1
        ),
        'x' if !zero => write!(out, "{:04}", calc_week(dt, WEEK_MONDAY_FIRST | WEEK_YEAR).1),
        'w' | 'j' | 'U' | 'u' | 'V' | 'v' | 'X' | 'x' => Ok(()),
        other => write!(out, "{other}"),
    };
}

/// What `STR_TO_DATE()` found in its input.
#[derive(Debug, Default, Clone, Copy)]
pub struct ScannedDate {
    /// Year, month, day when the format had date specifiers.
    pub date: Option<(i64, u32, u32)>,
    /// Hour, minute, second, microsecond when it had time specifiers.
    pub time: Option<(u32, u32, u32, u32)>,
}

struct Scanner<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn number(&mut self, max_digits: usize) -> Option<u32> {
        let start = self.pos;
        while self.pos < self.s.len()
            && self.pos - start < max_digits
            && self.s[self.pos].is_ascii_digit()
        {
            self.pos += 1;
        }
        std::str::from_utf8(&self.s[start..self.pos])
            .ok()?
            .parse()
            .ok()
    }

    fn word(&mut self, names: &[&str], abbreviated: bool) -> Option<usize> {
        let rest = &self.s[self.pos..];
        for (i, name) in names.iter().enumerate() {
            let candidate = if abbreviated { &name[..3] } else { name };
            let n = candidate.len();
            if rest.len() >= n && rest[..n].eq_ignore_ascii_case(candidate.as_bytes()) {
                self.pos += n;
                return Some(i);
            }
        }
        None
    }

    fn literal(&mut self, c: char) -> Option<()> {
        let mut buf = [0u8; 4];
        let bytes = c.encode_utf8(&mut buf).as_bytes();
        if self.s[self.pos..].starts_with(bytes) {
            self.pos += bytes.len();
            Some(())
        } else if c.is_whitespace() || c.is_ascii_punctuation() {
            // MySQL lets any delimiter match any other delimiter.
            let next = *self.s.get(self.pos)?;
            (next.is_ascii_punctuation() || next.is_ascii_whitespace()).then(|| self.pos += 1)
        } else {
            None
        }
    }
}

/// Scans `s` according to a MySQL format string (`STR_TO_DATE`). Supports
/// %Y %y %m %c %d %e %D %H %k %h %I %l %i %s %S %f %p %M %b %W %a %j %T %r %%.
pub fn str_to_date(s: &str, fmt: &str) -> Option<ScannedDate> {
    let mut sc = Scanner {
        s: s.trim_start().as_bytes(),
        pos: 0,
    };
    let (mut year, mut month, mut day) = (None, None, None);
    let (mut hour, mut minute, mut second, mut micro) = (None, None, None, None);
    let mut pm: Option<bool> = None;
    let mut twelve = false;
    let mut yday: Option<u32> = None;
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            if c.is_whitespace() {
                while sc.pos < sc.s.len() && sc.s[sc.pos].is_ascii_whitespace() {
                    sc.pos += 1;
                }
                continue;
            }
            sc.literal(c)?;
            continue;
        }
        let spec = chars.next()?;
        // MySQL skips whitespace in the input before every specifier.
        while sc.pos < sc.s.len() && sc.s[sc.pos].is_ascii_whitespace() {
            sc.pos += 1;
        }
        match spec {
            'Y' => {
                let start = sc.pos;
                let v = sc.number(4)?;
                year = Some(if sc.pos - start <= 2 {
                    expand2(v)
                } else {
                    i64::from(v)
                });
            }
            'y' => year = Some(expand2(sc.number(2)?)),
            'm' | 'c' => month = Some(sc.number(2)?),
            'd' | 'e' => day = Some(sc.number(2)?),
            'D' => {
                day = Some(sc.number(2)?);
                sc.pos = (sc.pos + 2).min(sc.s.len());
            }
            'H' | 'k' => hour = Some(sc.number(2)?),
            'h' | 'I' | 'l' => {
                hour = Some(sc.number(2)?);
                twelve = true;
            }
            'i' => minute = Some(sc.number(2)?),
            's' | 'S' => second = Some(sc.number(2)?),
            'f' => {
                let start = sc.pos;
                let v = sc.number(6)?;
                let digits = sc.pos - start;
                micro = Some(v * 10u32.pow(6 - digits as u32));
            }
            'p' => pm = Some(sc.word(&["AM", "PM"], false)? == 1),
            'M' => month = Some(sc.word(&MONTH_NAMES, false)? as u32 + 1),
            'b' => month = Some(sc.word(&MONTH_NAMES, true)? as u32 + 1),
            'W' => {
                sc.word(&DAY_NAMES, false)?;
            }
            'a' => {
                sc.word(&DAY_NAMES, true)?;
            }
            'j' => yday = Some(sc.number(3)?),
            'T' | 'r' => {
                hour = Some(sc.number(2)?);
                sc.literal(':')?;
                minute = Some(sc.number(2)?);
                sc.literal(':')?;
                second = Some(sc.number(2)?);
                if spec == 'r' {
                    twelve = true;
                    while sc.pos < sc.s.len() && sc.s[sc.pos] == b' ' {
                        sc.pos += 1;
                    }
                    pm = Some(sc.word(&["AM", "PM"], false)? == 1);
                }
            }
            '%' => sc.literal('%')?,
            _ => return None,
        }
    }
    if let (true, Some(h)) = (twelve, hour) {
        if !(1..=12).contains(&h) {
            return None;
        }
        hour = Some(match pm {
            Some(true) => h % 12 + 12,
            _ => h % 12,
        });
    } else if let (Some(is_pm), Some(h)) = (pm, hour) {
        hour = Some(if is_pm && h < 12 { h + 12 } else { h });
    }
    let mut out = ScannedDate::default();
    if let (Some(y), Some(d)) = (year, yday) {
        let dt = DateTime::from_daynr(daynr_of(i32::try_from(y).ok()?, 1, 1) + i64::from(d) - 1)?;
        out.date = Some((i64::from(dt.year), dt.month, dt.day));
    } else if year.is_some() || month.is_some() || day.is_some() {
        out.date = Some((year.unwrap_or(0), month.unwrap_or(0), day.unwrap_or(0)));
    }
    if hour.is_some() || minute.is_some() || second.is_some() || micro.is_some() {
        out.time = Some((
            hour.unwrap_or(0),
            minute.unwrap_or(0),
            second.unwrap_or(0),
            micro.unwrap_or(0),
        ));
    }
    Some(out)
}

fn expand2(v: u32) -> i64 {
    if v < 70 {
        2000 + i64::from(v)
    } else if v < 100 {
        1900 + i64::from(v)
    } else {
        i64::from(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i64, m: u32, day: u32) -> DateTime {
        DateTime::date(y, m, day).unwrap()
    }

    #[test]
    fn week_modes_match_mysql_docs() {
        assert_eq!(week(&d(2008, 2, 20), 0), 7);
        assert_eq!(week(&d(2008, 2, 20), 1), 8);
        assert_eq!(week(&d(2008, 12, 31), 1), 53);
        assert_eq!(week(&d(2000, 1, 1), 0), 0);
        assert_eq!(week(&d(2000, 1, 1), 2), 52);
        assert_eq!(yearweek(&d(1987, 1, 1), 0), 198_652);
    }

    #[test]
    fn formats_match_mysql_docs() {
        let t = DateTime::new(2009, 10, 4, 22, 23, 0, 0).unwrap();
        assert_eq!(date_format(&t, "%W %M %Y", false), "Sunday October 2009");
        let t = DateTime::new(2007, 10, 4, 22, 23, 0, 0).unwrap();
        assert_eq!(date_format(&t, "%H:%i:%s", false), "22:23:00");
        let t = DateTime::new(1900, 10, 4, 22, 23, 0, 0).unwrap();
        assert_eq!(
            date_format(&t, "%D %y %a %d %m %b %j", false),
            "4th 00 Thu 04 10 Oct 277"
        );
        let t = DateTime::new(1997, 10, 4, 22, 23, 0, 0).unwrap();
        assert_eq!(
            date_format(&t, "%H %k %I %r %T %S %w", false),
            "22 22 10 10:23:00 PM 22:23:00 00 6"
        );
        let t = d(1999, 1, 1);
        assert_eq!(date_format(&t, "%X %V", false), "1998 52");
        assert_eq!(date_format(&d(2006, 6, 1), "%d %Q %%", false), "01 Q %");
    }

    #[test]
    fn scans_match_mysql_docs() {
        let s = str_to_date("01,5,2013", "%d,%m,%Y").unwrap();
        assert_eq!(s.date, Some((2013, 5, 1)));
        assert!(s.time.is_none());
        let s = str_to_date("May 1, 2013", "%M %d,%Y").unwrap();
        assert_eq!(s.date, Some((2013, 5, 1)));
        let s = str_to_date("a09:30:17", "a%h:%i:%s").unwrap();
        assert_eq!(s.time, Some((9, 30, 17, 0)));
        assert!(str_to_date("09:30:17a", "%h:%i:%s").is_some());
        let s = str_to_date("10:30 PM", "%h:%i %p").unwrap();
        assert_eq!(s.time, Some((22, 30, 0, 0)));
        assert!(str_to_date("abc", "%Y").is_none());
    }
}
