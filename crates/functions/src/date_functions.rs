//! Date and time functions: NOW(), DATE_FORMAT(), DATE_ADD(), TIMESTAMPDIFF()…

use std::sync::Arc;

use rusqlite::Connection;

use crate::date_format::{self, DAY_NAMES, MONTH_NAMES};
use crate::error::FunctionError;
use crate::interval::{self, Field};
use crate::null_if_any_null;
use crate::registry::{pure, session, Arity};
use crate::session::{current_time_micros, SessionContext};
use crate::temporal::{
    clamp_time, format_date, format_datetime, format_time, to_datetime, to_time, DateTime, Parsed,
    MICROS_PER_SEC,
};
use crate::value::{f64_to_i64, SqlValue};

type R = Result<SqlValue, FunctionError>;

const ZERO_OR_ONE: Arity = Arity::Exactly(&[0, 1]);
const ONE: Arity = Arity::Exactly(&[1]);
const TWO: Arity = Arity::Exactly(&[2]);
const THREE: Arity = Arity::Exactly(&[3]);

/// Registers the date and time functions.
pub fn register(conn: &Connection, ctx: &Arc<SessionContext>) -> rusqlite::Result<()> {
    register_clock(conn, ctx)?;
    register_parts(conn)?;
    register_arithmetic(conn)?;
    register_conversions(conn)
}

fn register_clock(conn: &Connection, ctx: &Arc<SessionContext>) -> rusqlite::Result<()> {
    session(
        conn,
        ctx,
        &["now", "current_timestamp", "localtime", "localtimestamp"],
        ZERO_OR_ONE,
        now,
    )?;
    session(conn, ctx, &["sysdate"], ZERO_OR_ONE, sysdate)?;
    session(
        conn,
        ctx,
        &["curdate", "current_date"],
        Arity::Exactly(&[0]),
        curdate,
    )?;
    session(
        conn,
        ctx,
        &["curtime", "current_time"],
        ZERO_OR_ONE,
        curtime,
    )?;
    session(conn, ctx, &["utc_timestamp"], ZERO_OR_ONE, utc_timestamp)?;
    session(conn, ctx, &["utc_date"], Arity::Exactly(&[0]), utc_date)?;
    session(conn, ctx, &["utc_time"], ZERO_OR_ONE, utc_time)?;
    session(conn, ctx, &["unix_timestamp"], ZERO_OR_ONE, unix_timestamp)?;
    session(
        conn,
        ctx,
        &["from_unixtime"],
        Arity::Exactly(&[1, 2]),
        from_unixtime,
    )
}

fn register_parts(conn: &Connection) -> rusqlite::Result<()> {
    pure(conn, &["date"], ONE, date)?;
    pure(conn, &["time"], ONE, time)?;
    pure(conn, &["year"], ONE, |a| {
        date_part(a, |d| i64::from(d.year))
    })?;
    pure(conn, &["month"], ONE, |a| {
        date_part(a, |d| i64::from(d.month))
    })?;
    pure(conn, &["day", "dayofmonth"], ONE, |a| {
        date_part(a, |d| i64::from(d.day))
    })?;
    pure(conn, &["quarter"], ONE, |a| {
        date_part(a, |d| i64::from(d.month.div_ceil(3)))
    })?;
    pure(conn, &["dayofweek"], ONE, |a| {
        date_part(a, |d| i64::from((d.weekday() + 1) % 7 + 1))
    })?;
    pure(conn, &["weekday"], ONE, |a| {
        date_part(a, |d| i64::from(d.weekday()))
    })?;
    pure(conn, &["dayofyear"], ONE, |a| {
        date_part(a, |d| i64::from(d.day_of_year()))
    })?;
    pure(conn, &["to_days"], ONE, |a| date_part(a, |d| d.daynr()))?;
    pure(conn, &["to_seconds"], ONE, |a| {
        date_part(a, |d| d.daynr() * 86_400 + d.time_micros() / MICROS_PER_SEC)
    })?;
    pure(conn, &["weekofyear"], ONE, |a| {
        date_part(a, |d| i64::from(date_format::week(d, 3)))
    })?;
    pure(conn, &["week"], Arity::Exactly(&[1, 2]), week)?;
    pure(conn, &["yearweek"], Arity::Exactly(&[1, 2]), yearweek)?;
    pure(conn, &["monthname"], ONE, |a| {
        date_text(a, |d| MONTH_NAMES[(d.month - 1) as usize].to_string())
    })?;
    pure(conn, &["dayname"], ONE, |a| {
        date_text(a, |d| DAY_NAMES[d.weekday() as usize].to_string())
    })?;
    pure(conn, &["last_day"], ONE, last_day)?;
    pure(conn, &["hour"], ONE, |a| {
        time_part(a, |t| t / 3_600_000_000)
    })?;
    pure(conn, &["minute"], ONE, |a| {
        time_part(a, |t| t / 60_000_000 % 60)
    })?;
    pure(conn, &["second"], ONE, |a| {
        time_part(a, |t| t / MICROS_PER_SEC % 60)
    })?;
    pure(conn, &["microsecond"], ONE, |a| {
        time_part(a, |t| t % MICROS_PER_SEC)
    })?;
    pure(conn, &["extract_unit"], TWO, extract_unit)
}

fn register_arithmetic(conn: &Connection) -> rusqlite::Result<()> {
    pure(conn, &["date_add_interval"], THREE, |a| date_add(a, false))?;
    pure(conn, &["date_sub_interval"], THREE, |a| date_add(a, true))?;
    pure(conn, &["adddate"], TWO, |a| {
        date_add(&[a[0].clone(), a[1].clone(), day_unit()], false)
    })?;
    pure(conn, &["subdate"], TWO, |a| {
        date_add(&[a[0].clone(), a[1].clone(), day_unit()], true)
    })?;
    pure(conn, &["addtime"], TWO, |a| add_time(a, false))?;
    pure(conn, &["subtime"], TWO, |a| add_time(a, true))?;
    pure(conn, &["datediff"], TWO, datediff)?;
    pure(conn, &["timediff"], TWO, timediff)?;
    pure(conn, &["timestampdiff"], THREE, timestampdiff)?;
    pure(conn, &["period_add"], TWO, period_add)?;
    pure(conn, &["period_diff"], TWO, period_diff)
}

fn register_conversions(conn: &Connection) -> rusqlite::Result<()> {
    pure(conn, &["date_format"], TWO, date_format_fn)?;
    pure(conn, &["time_format"], TWO, time_format)?;
    pure(conn, &["str_to_date"], TWO, str_to_date)?;
    pure(conn, &["makedate"], TWO, makedate)?;
    pure(conn, &["maketime"], THREE, maketime)?;
    pure(conn, &["sec_to_time"], ONE, sec_to_time)?;
    pure(conn, &["time_to_sec"], ONE, time_to_sec)?;
    pure(conn, &["from_days"], ONE, from_days)?;
    pure(conn, &["convert_tz"], THREE, convert_tz)?;
    pure(conn, &["timestamp"], Arity::Exactly(&[1, 2]), timestamp)
}

/// MySQL `TIMESTAMP(expr)` / `TIMESTAMP(expr, time)`: a DATETIME.
fn timestamp(args: &[SqlValue]) -> R {
    null_if_any_null!(args);
    let Some(p) = to_datetime(&args[0]) else {
        return Ok(SqlValue::Null);
    };
    let Some(extra) = args.get(1) else {
        return Ok(datetime_result(Some(p.dt), fsp_of(&p)));
    };
    let Some((t, frac)) = to_time(extra) else {
        return Ok(SqlValue::Null);
    };
    let fsp = if p.has_fraction || frac { 6 } else { 0 };
    Ok(datetime_result(
        DateTime::from_epoch_micros(p.dt.epoch_micros() + t),
        fsp,
    ))
}

fn day_unit() -> SqlValue {
    SqlValue::Text("DAY".into())
}

/// Fractional-seconds precision argument: 0..=6, else NULL result.
fn fsp_arg(args: &[SqlValue]) -> Option<u32> {
    match args.first() {
        None => Some(0),
        Some(v) => v
            .as_i64()
            .and_then(|f| u32::try_from(f).ok())
            .filter(|f| *f <= 6),
    }
}

fn local_now(ctx: &SessionContext, micros: i64) -> Option<DateTime> {
    let offset = i64::from(ctx.time_zone_offset_secs()) * MICROS_PER_SEC;
    DateTime::from_epoch_micros(micros + offset)
}

fn datetime_result(dt: Option<DateTime>, fsp: u32) -> SqlValue {
    dt.map_or(SqlValue::Null, |d| SqlValue::Text(format_datetime(&d, fsp)))
}

fn now(ctx: &SessionContext, args: &[SqlValue]) -> R {
    let Some(fsp) = fsp_arg(args) else {
        return Ok(SqlValue::Null);
    };
    Ok(datetime_result(local_now(ctx, ctx.statement_time()), fsp))
}

fn sysdate(ctx: &SessionContext, args: &[SqlValue]) -> R {
    let Some(fsp) = fsp_arg(args) else {
        return Ok(SqlValue::Null);
    };
    Ok(datetime_result(local_now(ctx, current_time_micros()), fsp))
}

fn curdate(ctx: &SessionContext, _: &[SqlValue]) -> R {
    Ok(local_now(ctx, ctx.statement_time())
        .map_or(SqlValue::Null, |d| SqlValue::Text(format_date(&d))))
}

fn curtime(ctx: &SessionContext, args: &[SqlValue]) -> R {
    let Some(fsp) = fsp_arg(args) else {
        return Ok(SqlValue::Null);
    };
    Ok(
        local_now(ctx, ctx.statement_time()).map_or(SqlValue::Null, |d| {
            SqlValue::Text(format_time(d.time_micros(), fsp))
        }),
    )
}

fn utc_timestamp(ctx: &SessionContext, args: &[SqlValue]) -> R {
    let Some(fsp) = fsp_arg(args) else {
        return Ok(SqlValue::Null);
    };
    Ok(datetime_result(
        DateTime::from_epoch_micros(ctx.statement_time()),
        fsp,
    ))
}

fn utc_date(ctx: &SessionContext, _: &[SqlValue]) -> R {
    Ok(DateTime::from_epoch_micros(ctx.statement_time())
        .map_or(SqlValue::Null, |d| SqlValue::Text(format_date(&d))))
}

fn utc_time(ctx: &SessionContext, args: &[SqlValue]) -> R {
    let Some(fsp) = fsp_arg(args) else {
        return Ok(SqlValue::Null);
    };
    Ok(
        DateTime::from_epoch_micros(ctx.statement_time()).map_or(SqlValue::Null, |d| {
            SqlValue::Text(format_time(d.time_micros(), fsp))
        }),
    )
}

fn unix_timestamp(ctx: &SessionContext, args: &[SqlValue]) -> R {
    let Some(arg) = args.first() else {
        return Ok(SqlValue::Integer(
            ctx.statement_time().div_euclid(MICROS_PER_SEC),
        ));
    };
    let Some(p) = to_datetime(arg) else {
        return Ok(SqlValue::Null);
    };
    let offset = i64::from(ctx.time_zone_offset_secs()) * MICROS_PER_SEC;
    let micros = p.dt.epoch_micros() - offset;
    if micros < 0 {
        return Ok(SqlValue::Integer(0));
    }
    if p.has_fraction {
        return Ok(SqlValue::Real(micros as f64 / MICROS_PER_SEC as f64));
    }
    Ok(SqlValue::Integer(micros / MICROS_PER_SEC))
}

fn from_unixtime(ctx: &SessionContext, args: &[SqlValue]) -> R {
    null_if_any_null!(args);
    let (micros, fsp) = match &args[0] {
        SqlValue::Integer(i) => (i.checked_mul(MICROS_PER_SEC), 0),
        other => {
            let Some(f) = other.as_f64() else {
                return Ok(SqlValue::Null);
            };
            let fsp = if f.fract() != 0.0 { 6 } else { 0 };
            let us = f * MICROS_PER_SEC as f64;
            let ok = us.is_finite() && us.abs() < 9.0e18;
            (ok.then(|| f64_to_i64(us)), fsp)
        }
    };
    let Some(micros) = micros.filter(|m| *m >= 0) else {
        return Ok(SqlValue::Null);
    };
    let Some(dt) = local_now(ctx, micros) else {
        return Ok(SqlValue::Null);
    };
    match args.get(1) {
        Some(fmt) => Ok(fmt.as_text().map_or(SqlValue::Null, |f| {
            SqlValue::Text(date_format::date_format(&dt, &f, false))
        })),
        None => Ok(SqlValue::Text(format_datetime(&dt, fsp))),
    }
}

fn date(args: &[SqlValue]) -> R {
    Ok(to_datetime(&args[0]).map_or(SqlValue::Null, |p| SqlValue::Text(format_date(&p.dt))))
}

fn time(args: &[SqlValue]) -> R {
    Ok(to_time(&args[0]).map_or(SqlValue::Null, |(t, frac)| {
        SqlValue::Text(format_time(t, if frac { 6 } else { 0 }))
    }))
}

fn date_part(args: &[SqlValue], f: impl Fn(&DateTime) -> i64) -> R {
    Ok(to_datetime(&args[0]).map_or(SqlValue::Null, |p| SqlValue::Integer(f(&p.dt))))
}

fn date_text(args: &[SqlValue], f: impl Fn(&DateTime) -> String) -> R {
    Ok(to_datetime(&args[0]).map_or(SqlValue::Null, |p| SqlValue::Text(f(&p.dt))))
}

fn time_part(args: &[SqlValue], f: impl Fn(i64) -> i64) -> R {
    // MySQL's HOUR()/MINUTE()… return the magnitude of a negative TIME.
    Ok(to_time(&args[0]).map_or(SqlValue::Null, |(t, _)| SqlValue::Integer(f(t.abs()))))
}

fn mode_arg(args: &[SqlValue]) -> Option<i64> {
    args.get(1).map_or(Some(0), SqlValue::as_i64)
}

fn week(args: &[SqlValue]) -> R {
    let (Some(p), Some(mode)) = (to_datetime(&args[0]), mode_arg(args)) else {
        return Ok(SqlValue::Null);
    };
    Ok(SqlValue::Integer(i64::from(date_format::week(&p.dt, mode))))
}

fn yearweek(args: &[SqlValue]) -> R {
    let (Some(p), Some(mode)) = (to_datetime(&args[0]), mode_arg(args)) else {
        return Ok(SqlValue::Null);
    };
    Ok(SqlValue::Integer(date_format::yearweek(&p.dt, mode)))
}

fn last_day(args: &[SqlValue]) -> R {
    let Some(p) = to_datetime(&args[0]) else {
        return Ok(SqlValue::Null);
    };
    let d = p.dt;
    let last = crate::temporal::days_in_month(d.year, d.month);
    Ok(DateTime::date(i64::from(d.year), d.month, last)
        .map_or(SqlValue::Null, |x| SqlValue::Text(format_date(&x))))
}

fn unit_arg(function: &'static str, v: &SqlValue) -> Result<Option<interval::Unit>, FunctionError> {
    match v.as_text() {
        None => Ok(None),
        Some(name) => interval::parse_unit(function, &name).map(Some),
    }
}

fn extract_unit(args: &[SqlValue]) -> R {
    let Some(unit) = unit_arg("extract", &args[0])? else {
        return Ok(SqlValue::Null);
    };
    if unit.fields.iter().any(|f| f.is_date_field()) {
        return Ok(to_datetime(&args[1]).map_or(SqlValue::Null, |p| {
            SqlValue::Integer(interval::extract(unit, &p.dt))
        }));
    }
    Ok(to_time(&args[1]).map_or(SqlValue::Null, |(t, _)| {
        SqlValue::Integer(interval::extract_time(unit, t))
    }))
}

fn date_add(args: &[SqlValue], subtract: bool) -> R {
    let Some(unit) = unit_arg("date_add", &args[2])? else {
        return Ok(SqlValue::Null);
    };
    let iv = interval::interval(&args[1], unit);
    let iv = if subtract {
        iv.and_then(|i| i.negate())
    } else {
        iv
    };
    let Some(iv) = iv else {
        return Ok(SqlValue::Null);
    };
    let Some(p) = to_datetime(&args[0]) else {
        return Ok(add_to_time(&args[0], iv, unit));
    };
    let Some(result) = interval::add_interval(&p.dt, iv) else {
        return Ok(SqlValue::Null);
    };
    let date_only_unit = unit.fields.iter().all(|f| f.is_date_field());
    if !p.has_time && date_only_unit {
        return Ok(SqlValue::Text(format_date(&result)));
    }
    let micro_unit = unit.fields.contains(&Field::Microsecond);
    let fsp = if p.has_fraction || micro_unit || result.micro != 0 {
        6
    } else {
        0
    };
    Ok(SqlValue::Text(format_datetime(&result, fsp)))
}

/// DATE_ADD on a TIME value: clock units give a TIME, anything else NULL.
fn add_to_time(v: &SqlValue, iv: interval::Interval, unit: interval::Unit) -> SqlValue {
    if iv.months != 0
        || unit
            .fields
            .iter()
            .any(|f| f.is_date_field() && *f != Field::Day)
    {
        return SqlValue::Null;
    }
    let Some((t, frac)) = to_time(v) else {
        return SqlValue::Null;
    };
    let Some(sum) = t.checked_add(iv.micros) else {
        return SqlValue::Null;
    };
    let fsp = if frac || unit.fields.contains(&Field::Microsecond) || sum % MICROS_PER_SEC != 0 {
        6
    } else {
        0
    };
    SqlValue::Text(format_time(clamp_time(sum), fsp))
}

fn add_time(args: &[SqlValue], subtract: bool) -> R {
    null_if_any_null!(args);
    let Some((delta, delta_frac)) = to_time(&args[1]) else {
        return Ok(SqlValue::Null);
    };
    let delta = if subtract { -delta } else { delta };
    if let Some(p) = to_datetime(&args[0]).filter(|p| p.has_time) {
        let r = DateTime::from_epoch_micros(p.dt.epoch_micros() + delta);
        let fsp = if p.has_fraction || delta_frac { 6 } else { 0 };
        return Ok(datetime_result(r, fsp));
    }
    let Some((t, frac)) = to_time(&args[0]) else {
        return Ok(SqlValue::Null);
    };
    let fsp = if frac || delta_frac { 6 } else { 0 };
    Ok(SqlValue::Text(format_time(clamp_time(t + delta), fsp)))
}

fn datediff(args: &[SqlValue]) -> R {
    let (Some(a), Some(b)) = (to_datetime(&args[0]), to_datetime(&args[1])) else {
        return Ok(SqlValue::Null);
    };
    Ok(SqlValue::Integer(a.dt.daynr() - b.dt.daynr()))
}

fn timediff(args: &[SqlValue]) -> R {
    null_if_any_null!(args);
    let full = |v: &SqlValue| to_datetime(v).filter(|p| p.has_time);
    let (micros, frac) = match (full(&args[0]), full(&args[1])) {
        (Some(a), Some(b)) => (
            a.dt.epoch_micros() - b.dt.epoch_micros(),
            a.has_fraction || b.has_fraction,
        ),
        (None, None) => match (to_time(&args[0]), to_time(&args[1])) {
            (Some((a, fa)), Some((b, fb))) => (a - b, fa || fb),
            _ => return Ok(SqlValue::Null),
        },
        // MySQL: mixing a DATETIME and a TIME gives NULL.
        _ => return Ok(SqlValue::Null),
    };
    Ok(SqlValue::Text(format_time(
        clamp_time(micros),
        if frac { 6 } else { 0 },
    )))
}

fn timestampdiff(args: &[SqlValue]) -> R {
    let Some(unit) = unit_arg("timestampdiff", &args[0])? else {
        return Ok(SqlValue::Null);
    };
    let [field] = unit.fields else {
        return Err(FunctionError::UnsupportedUnit {
            function: "timestampdiff",
            unit: args[0].as_text().unwrap_or_default(),
        });
    };
    let (Some(a), Some(b)) = (to_datetime(&args[1]), to_datetime(&args[2])) else {
        return Ok(SqlValue::Null);
    };
    Ok(SqlValue::Integer(interval::timestamp_diff(
        *field, &a.dt, &b.dt,
    )))
}

fn period_months(p: i64) -> i64 {
    let (y, m) = (p / 100, p % 100);
    let y = if y < 70 {
        y + 2000
    } else if y < 100 {
        y + 1900
    } else {
        y
    };
    y * 12 + m - 1
}

fn period_add(args: &[SqlValue]) -> R {
    let (Some(p), Some(n)) = (args[0].as_i64(), args[1].as_i64()) else {
        return Ok(SqlValue::Null);
    };
    if p == 0 {
        return Ok(SqlValue::Integer(0));
    }
    let Some(total) = period_months(p.clamp(0, 99_999_999)).checked_add(n) else {
        return Ok(SqlValue::Null);
    };
    let period = total
        .div_euclid(12)
        .checked_mul(100)
        .and_then(|p| p.checked_add(total.rem_euclid(12) + 1));
    Ok(SqlValue::from(period))
}

fn period_diff(args: &[SqlValue]) -> R {
    let (Some(a), Some(b)) = (args[0].as_i64(), args[1].as_i64()) else {
        return Ok(SqlValue::Null);
    };
    Ok(SqlValue::Integer(
        period_months(a.clamp(0, 99_999_999)) - period_months(b.clamp(0, 99_999_999)),
    ))
}

fn date_format_fn(args: &[SqlValue]) -> R {
    null_if_any_null!(args);
    let Some(fmt) = args[1].as_text() else {
        return Ok(SqlValue::Null);
    };
    if let Some(p) = to_datetime(&args[0]) {
        return Ok(SqlValue::Text(date_format::date_format(&p.dt, &fmt, false)));
    }
    Ok(time_as_datetime(&args[0]).map_or(SqlValue::Null, |dt| {
        SqlValue::Text(date_format::date_format(&dt, &fmt, true))
    }))
}

/// A TIME value as a zero-date DateTime (for formatting its clock fields).
fn time_as_datetime(v: &SqlValue) -> Option<DateTime> {
    let (t, _) = to_time(v)?;
    let t = t.abs();
    let secs = t / MICROS_PER_SEC;
    Some(DateTime {
        year: 0,
        month: 0,
        day: 0,
        hour: u32::try_from(secs / 3600).ok()?,
        minute: (secs / 60 % 60) as u32,
        second: (secs % 60) as u32,
        micro: (t % MICROS_PER_SEC) as u32,
    })
}

fn time_format(args: &[SqlValue]) -> R {
    null_if_any_null!(args);
    let Some(fmt) = args[1].as_text() else {
        return Ok(SqlValue::Null);
    };
    Ok(time_as_datetime(&args[0]).map_or(SqlValue::Null, |dt| {
        SqlValue::Text(date_format::date_format(&dt, &fmt, true))
    }))
}

fn str_to_date(args: &[SqlValue]) -> R {
    null_if_any_null!(args);
    let (Some(s), Some(fmt)) = (args[0].as_text(), args[1].as_text()) else {
        return Ok(SqlValue::Null);
    };
    let Some(scanned) = date_format::str_to_date(&s, &fmt) else {
        return Ok(SqlValue::Null);
    };
    let (h, mi, sec, us) = scanned.time.unwrap_or((0, 0, 0, 0));
    let fsp = if fmt.contains("%f") { 6 } else { 0 };
    match scanned.date {
        Some((y, m, d)) => {
            let Some(dt) = DateTime::new(y, m, d, h, mi, sec, us) else {
                return Ok(SqlValue::Null);
            };
            if scanned.time.is_some() {
                Ok(SqlValue::Text(format_datetime(&dt, fsp)))
            } else {
                Ok(SqlValue::Text(format_date(&dt)))
            }
        }
        None if h < 24 && mi < 60 && sec < 60 => {
            let micros = (i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(sec))
                * MICROS_PER_SEC
                + i64::from(us);
            Ok(SqlValue::Text(format_time(micros, fsp)))
        }
        None => Ok(SqlValue::Null),
    }
}

fn makedate(args: &[SqlValue]) -> R {
    let (Some(y), Some(doy)) = (args[0].as_i64(), args[1].as_i64()) else {
        return Ok(SqlValue::Null);
    };
    if doy <= 0 || !(0..=9999).contains(&y) {
        return Ok(SqlValue::Null);
    }
    let y = if y < 70 {
        y + 2000
    } else if y < 100 {
        y + 1900
    } else {
        y
    };
    let Some(jan1) = DateTime::date(y, 1, 1) else {
        return Ok(SqlValue::Null);
    };
    // Beyond ~3.7 million days the result is past year 9999 anyway.
    let doy = doy.min(4_000_000);
    Ok(DateTime::from_daynr(jan1.daynr() + doy - 1)
        .map_or(SqlValue::Null, |d| SqlValue::Text(format_date(&d))))
}

fn maketime(args: &[SqlValue]) -> R {
    let (Some(h), Some(m), Some(s)) = (args[0].as_i64(), args[1].as_i64(), args[2].as_f64()) else {
        return Ok(SqlValue::Null);
    };
    if !(0..60).contains(&m) || !(0.0..60.0).contains(&s) {
        return Ok(SqlValue::Null);
    }
    let sign = if h < 0 { -1 } else { 1 };
    let hours = h.unsigned_abs().min(1000) as i64;
    let us = f64_to_i64(s * MICROS_PER_SEC as f64);
    let micros = (hours * 3600 + m * 60) * MICROS_PER_SEC + us;
    let fsp = if s.fract() != 0.0 { 6 } else { 0 };
    Ok(SqlValue::Text(format_time(clamp_time(sign * micros), fsp)))
}

fn sec_to_time(args: &[SqlValue]) -> R {
    let Some(v) = args[0].as_f64() else {
        return Ok(SqlValue::Null);
    };
    let micros = v * MICROS_PER_SEC as f64;
    if !micros.is_finite() {
        return Ok(SqlValue::Null);
    }
    let clamped = micros.clamp(-9.0e18, 9.0e18);
    let fsp = if v.fract() != 0.0 { 6 } else { 0 };
    Ok(SqlValue::Text(format_time(
        clamp_time(f64_to_i64(clamped)),
        fsp,
    )))
}

fn time_to_sec(args: &[SqlValue]) -> R {
    Ok(to_time(&args[0]).map_or(SqlValue::Null, |(t, frac)| {
        if frac && t % MICROS_PER_SEC != 0 {
            SqlValue::Real(t as f64 / MICROS_PER_SEC as f64)
        } else {
            SqlValue::Integer(t / MICROS_PER_SEC)
        }
    }))
}

fn from_days(args: &[SqlValue]) -> R {
    let Some(n) = args[0].as_i64() else {
        return Ok(SqlValue::Null);
    };
    if n < 366 {
        return Ok(SqlValue::Text("0000-00-00".into()));
    }
    Ok(DateTime::from_daynr(n).map_or(SqlValue::Null, |d| SqlValue::Text(format_date(&d))))
}

/// Parses a time zone given as an offset (`+10:00`, `-05:30`) or `UTC`/`+00:00`.
/// Named zones other than UTC are not supported (MySQL without tz tables: NULL).
pub fn parse_tz_offset(tz: &str) -> Option<i64> {
    let tz = tz.trim();
    if tz.eq_ignore_ascii_case("utc")
        || tz.eq_ignore_ascii_case("gmt")
        || tz.eq_ignore_ascii_case("z")
    {
        return Some(0);
    }
    let (sign, rest) = match tz.as_bytes().first()? {
        b'+' => (1, &tz[1..]),
        b'-' => (-1, &tz[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    if !(0..60).contains(&m) || !(0..=14).contains(&h) || (h == 14 && m > 0) {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

fn convert_tz(args: &[SqlValue]) -> R {
    null_if_any_null!(args);
    let Some(p) = to_datetime(&args[0]) else {
        return Ok(SqlValue::Null);
    };
    let (Some(from), Some(to)) = (
        args[1].as_text().and_then(|t| parse_tz_offset(&t)),
        args[2].as_text().and_then(|t| parse_tz_offset(&t)),
    ) else {
        return Ok(SqlValue::Null);
    };
    let micros = p.dt.epoch_micros() + (to - from) * MICROS_PER_SEC;
    Ok(datetime_result(
        DateTime::from_epoch_micros(micros),
        fsp_of(&p),
    ))
}

fn fsp_of(p: &Parsed) -> u32 {
    if p.has_fraction {
        6
    } else {
        0
    }
}
