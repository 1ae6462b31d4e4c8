//! Date and time functions against MySQL's documented results.
mod support;
use support::*;

#[test]
fn parts() {
    let (c, _) = conn();
    assert_eq!(text(&c, "date('2003-12-31 01:02:03')"), "2003-12-31");
    assert_eq!(text(&c, "time('2003-12-31 01:02:03')"), "01:02:03");
    assert_eq!(
        text(&c, "time('2003-12-31 01:02:03.000123')"),
        "01:02:03.000123"
    );
    assert_eq!(int(&c, "year('1987-01-01')"), 1987);
    assert_eq!(int(&c, "month('2008-02-03')"), 2);
    assert_eq!(int(&c, "dayofmonth('2007-02-03')"), 3);
    assert_eq!(int(&c, "day(20070203)"), 3);
    assert_eq!(int(&c, "hour('10:05:03')"), 10);
    assert_eq!(int(&c, "hour('272:59:59')"), 272);
    assert_eq!(int(&c, "hour('2024-01-15')"), 0);
    assert_eq!(text(&c, "time('120101')"), "12:01:01");
    assert_eq!(int(&c, "minute('2008-02-03 10:05:03')"), 5);
    assert_eq!(int(&c, "second('10:05:03')"), 3);
    assert_eq!(int(&c, "microsecond('12:00:00.123456')"), 123_456);
    assert_eq!(int(&c, "microsecond('2019-12-31 23:59:59.000010')"), 10);
    assert_eq!(int(&c, "dayofweek('2007-02-03')"), 7);
    assert_eq!(int(&c, "weekday('2008-02-03 22:23:00')"), 6);
    assert_eq!(int(&c, "weekday('2007-11-06')"), 1);
    assert_eq!(int(&c, "dayofyear('2007-02-03')"), 34);
    assert_eq!(int(&c, "quarter('2008-04-01')"), 2);
    assert_eq!(int(&c, "week('2008-02-20')"), 7);
    assert_eq!(int(&c, "week('2008-02-20', 1)"), 8);
    assert_eq!(int(&c, "week('2008-12-31', 1)"), 53);
    assert_eq!(int(&c, "weekofyear('2008-02-20')"), 8);
    assert_eq!(int(&c, "yearweek('1987-01-01')"), 198_652);
    assert_eq!(text(&c, "monthname('2008-02-03')"), "February");
    assert_eq!(text(&c, "dayname('2007-02-03')"), "Saturday");
    assert_eq!(text(&c, "last_day('2003-02-05')"), "2003-02-28");
    assert_eq!(text(&c, "last_day('2004-02-05')"), "2004-02-29");
    assert_eq!(text(&c, "last_day('2004-01-01 01:01:01')"), "2004-01-31");
    null(&c, "last_day('2003-03-32')");
    null(&c, "year('not a date')");
    null(&c, "month(NULL)");
}

#[test]
fn formatting() {
    let (c, _) = conn();
    assert_eq!(
        text(&c, "date_format('2009-10-04 22:23:00', '%W %M %Y')"),
        "Sunday October 2009"
    );
    assert_eq!(
        text(&c, "date_format('2007-10-04 22:23:00', '%H:%i:%s')"),
        "22:23:00"
    );
    assert_eq!(
        text(
            &c,
            "date_format('1900-10-04 22:23:00', '%D %y %a %d %m %b %j')"
        ),
        "4th 00 Thu 04 10 Oct 277"
    );
    assert_eq!(
        text(
            &c,
            "date_format('1997-10-04 22:23:00', '%H %k %I %r %T %S %w')"
        ),
        "22 22 10 10:23:00 PM 22:23:00 00 6"
    );
    assert_eq!(text(&c, "date_format('1999-01-01', '%X %V')"), "1998 52");
    assert_eq!(
        text(
            &c,
            "date_format('2024-03-05 07:08:09.012345', '%e/%c %l%p %f %U %u')"
        ),
        "5/3 7AM 012345 09 10"
    );
    assert_eq!(
        text(&c, "time_format('100:00:00', '%H %k %h %I %l')"),
        "100 100 04 04 4"
    );
    assert_eq!(
        text(&c, "str_to_date('01,5,2013', '%d,%m,%Y')"),
        "2013-05-01"
    );
    assert_eq!(
        text(&c, "str_to_date('May 1, 2013', '%M %d,%Y')"),
        "2013-05-01"
    );
    assert_eq!(
        text(&c, "str_to_date('a09:30:17', 'a%h:%i:%s')"),
        "09:30:17"
    );
    null(&c, "str_to_date('a09:30:17', '%h:%i:%s')");
    assert_eq!(text(&c, "str_to_date('09:30:17a', '%h:%i:%s')"), "09:30:17");
    assert_eq!(
        text(
            &c,
            "str_to_date('2013-05-01 10:30:00', '%Y-%m-%d %H:%i:%s')"
        ),
        "2013-05-01 10:30:00"
    );
    null(&c, "str_to_date('2013-02-30', '%Y-%m-%d')");
}

#[test]
fn interval_arithmetic() {
    let (c, _) = conn();
    assert_eq!(
        text(&c, "date_add_interval('2018-05-01', 1, 'DAY')"),
        "2018-05-02"
    );
    assert_eq!(
        text(&c, "date_sub_interval('2018-05-01', 1, 'YEAR')"),
        "2017-05-01"
    );
    assert_eq!(
        text(&c, "date_add_interval('2020-12-31 23:59:59', 1, 'SECOND')"),
        "2021-01-01 00:00:00"
    );
    assert_eq!(
        text(
            &c,
            "date_add_interval('2018-12-31 23:59:59', '1:1', 'MINUTE_SECOND')"
        ),
        "2019-01-01 00:01:00"
    );
    assert_eq!(
        text(
            &c,
            "date_sub_interval('2025-01-01 00:00:00', '1 1:1:1', 'DAY_SECOND')"
        ),
        "2024-12-30 22:58:59"
    );
    assert_eq!(
        text(
            &c,
            "date_add_interval('1900-01-01 00:00:00', '-1 10', 'DAY_HOUR')"
        ),
        "1899-12-30 14:00:00"
    );
    assert_eq!(
        text(&c, "date_sub_interval('1998-01-02', 31, 'DAY')"),
        "1997-12-02"
    );
    assert_eq!(
        text(
            &c,
            "date_add_interval('1992-12-31 23:59:59.000002', '1.999999', 'SECOND_MICROSECOND')"
        ),
        "1993-01-01 00:00:01.000001"
    );
    assert_eq!(
        text(&c, "date_add_interval('2024-01-31', 1, 'MONTH')"),
        "2024-02-29"
    );
    assert_eq!(
        text(&c, "date_add_interval('2023-01-31', 1, 'MONTH')"),
        "2023-02-28"
    );
    assert_eq!(
        text(&c, "date_add_interval('2024-02-29', 1, 'YEAR')"),
        "2025-02-28"
    );
    assert_eq!(
        text(&c, "date_add_interval('2024-01-01', 1, 'QUARTER')"),
        "2024-04-01"
    );
    assert_eq!(
        text(&c, "date_add_interval('2024-01-01', 2, 'WEEK')"),
        "2024-01-15"
    );
    assert_eq!(
        text(&c, "date_add_interval('2024-01-01', 1, 'HOUR')"),
        "2024-01-01 01:00:00"
    );
    assert_eq!(
        text(&c, "date_add_interval('2024-01-01', 1.5, 'SECOND')"),
        "2024-01-01 00:00:01.500000"
    );
    null(&c, "date_add_interval('9999-12-31', 1, 'DAY')");
    null(&c, "date_add_interval('2024-13-01', 1, 'DAY')");
    null(&c, "date_add_interval('2024-01-01', NULL, 'DAY')");
    assert!(c
        .query_row(
            "SELECT date_add_interval('2024-01-01', 1, 'FORTNIGHT')",
            [],
            |r| r.get::<_, String>(0)
        )
        .is_err());
    assert_eq!(text(&c, "adddate('2008-01-02', 31)"), "2008-02-02");
    assert_eq!(
        text(&c, "date_add_interval('10:00:00', 90, 'MINUTE')"),
        "11:30:00"
    );
    assert_eq!(
        text(&c, "date_sub_interval('10:00:00', 11, 'HOUR')"),
        "-01:00:00"
    );
    null(&c, "date_add_interval('10:00:00', 1, 'MONTH')");
    assert_eq!(
        text(
            &c,
            "addtime('2007-12-31 23:59:59.999999', '1 1:1:1.000002')"
        ),
        "2008-01-02 01:01:01.000001"
    );
    assert_eq!(
        text(&c, "addtime('01:00:00.999999', '02:00:00.999998')"),
        "03:00:01.999997"
    );
    assert_eq!(text(&c, "subtime('01:00:00', '02:00:00')"), "-01:00:00");
}

#[test]
fn differences() {
    let (c, _) = conn();
    assert_eq!(int(&c, "datediff('2007-12-31 23:59:59', '2007-12-30')"), 1);
    assert_eq!(
        int(&c, "datediff('2010-11-30 23:59:59', '2010-12-31')"),
        -31
    );
    null(&c, "datediff('2010-11-31', '2010-12-31')");
    assert_eq!(
        text(
            &c,
            "timediff('2000-01-01 00:00:00', '2000-01-01 00:00:00.000001')"
        ),
        "-00:00:00.000001"
    );
    assert_eq!(
        text(
            &c,
            "timediff('2008-12-31 23:59:59.000001', '2008-12-30 01:01:01.000002')"
        ),
        "46:58:57.999999"
    );
    assert_eq!(text(&c, "timediff('10:00:00', '08:30:00')"), "01:30:00");
    null(&c, "timediff('2008-12-31 23:59:59', '10:00:00')");
    assert_eq!(
        int(&c, "timestampdiff('MONTH', '2003-02-01', '2003-05-01')"),
        3
    );
    assert_eq!(
        int(&c, "timestampdiff('YEAR', '2002-05-01', '2001-01-01')"),
        -1
    );
    assert_eq!(
        int(
            &c,
            "timestampdiff('MINUTE', '2003-02-01', '2003-05-01 12:05:55')"
        ),
        128_885
    );
    assert_eq!(
        int(
            &c,
            "timestampdiff('DAY', '2024-01-01 10:00', '2024-01-03 09:00:00')"
        ),
        1
    );
    assert_eq!(
        int(
            &c,
            "timestampdiff('SECOND', '2024-01-01', '2024-01-01 00:01:00')"
        ),
        60
    );
    assert_eq!(int(&c, "period_add(200801, 2)"), 200_803);
    assert_eq!(int(&c, "period_diff(200802, 200703)"), 11);
}

#[test]
fn extract_and_conversions() {
    let (c, _) = conn();
    assert_eq!(int(&c, "extract_unit('YEAR', '2019-07-02')"), 2019);
    assert_eq!(
        int(&c, "extract_unit('YEAR_MONTH', '2019-07-02 01:02:03')"),
        201_907
    );
    assert_eq!(
        int(&c, "extract_unit('DAY_MINUTE', '2019-07-02 01:02:03')"),
        20_102
    );
    assert_eq!(
        int(
            &c,
            "extract_unit('MICROSECOND', '2003-01-02 10:30:00.000123')"
        ),
        123
    );
    assert_eq!(int(&c, "extract_unit('HOUR', '10:30:00')"), 10);
    assert_eq!(int(&c, "to_days(950501)"), 728_779);
    assert_eq!(int(&c, "to_days('2007-10-07')"), 733_321);
    assert_eq!(text(&c, "from_days(730669)"), "2000-07-03");
    assert_eq!(text(&c, "makedate(2011, 31)"), "2011-01-31");
    assert_eq!(text(&c, "makedate(2011, 32)"), "2011-02-01");
    assert_eq!(text(&c, "makedate(2011, 365)"), "2011-12-31");
    assert_eq!(text(&c, "makedate(2014, 365)"), "2014-12-31");
    null(&c, "makedate(2011, 0)");
    assert_eq!(text(&c, "maketime(12, 15, 30)"), "12:15:30");
    assert_eq!(text(&c, "sec_to_time(2378)"), "00:39:38");
    assert_eq!(text(&c, "sec_to_time(-3600)"), "-01:00:00");
    assert_eq!(int(&c, "time_to_sec('22:23:00')"), 80_580);
    assert_eq!(int(&c, "time_to_sec('00:39:38')"), 2378);
    assert_eq!(
        text(&c, "convert_tz('2004-01-01 12:00:00', '+00:00', '+10:00')"),
        "2004-01-01 22:00:00"
    );
    assert_eq!(
        text(&c, "convert_tz('2004-01-01 12:00:00', '+01:00', '-05:30')"),
        "2004-01-01 05:30:00"
    );
    null(&c, "convert_tz('2004-01-01 12:00:00', 'GMT', 'MET')");
    assert_eq!(
        int(&c, "unix_timestamp('2015-11-13 10:20:19')"),
        1_447_410_019
    );
    assert_eq!(text(&c, "from_unixtime(1447430881)"), "2015-11-13 16:08:01");
    assert_eq!(
        text(&c, "from_unixtime(1447430881, '%Y %D %M %h:%i:%s %x')"),
        "2015 13th November 04:08:01 2015"
    );
    assert!(
        (real(&c, "unix_timestamp('2015-11-13 10:20:19.012')") - 1_447_410_019.012).abs() < 1e-6
    );
}

#[test]
fn clock_is_frozen_per_statement_and_follows_time_zone() {
    let (c, ctx) = conn();
    ctx.begin_statement(1);
    let now = text(&c, "now()");
    assert_eq!(now.len(), 19);
    // CURRENT_TIMESTAMP is an SQLite keyword: the translator emits now().
    assert_eq!(text(&c, "localtimestamp()"), now);
    assert_eq!(text(&c, "\"current_timestamp\"()"), now);
    assert_eq!(text(&c, "now(3)").len(), 23);
    assert_eq!(text(&c, "curdate()"), now[..10]);
    assert_eq!(text(&c, "curtime()"), now[11..]);
    assert_eq!(text(&c, "utc_timestamp()"), now);
    let unix = int(&c, "unix_timestamp()");
    assert_eq!(int(&c, "unix_timestamp(now())"), unix);
    ctx.set_time_zone_offset_secs(3600);
    let shifted = text(&c, "now()");
    assert_eq!(
        int(
            &c,
            &format!("timestampdiff('SECOND', '{now}', '{shifted}')")
        ),
        3600
    );
    assert_eq!(text(&c, "utc_timestamp()"), now);
    assert_eq!(int(&c, "unix_timestamp(now())"), unix);
    assert_eq!(text(&c, "sysdate()").len(), 19);
    null(&c, "now(7)");
}

#[test]
fn timestamp_function() {
    let (c, _) = conn();
    assert_eq!(text(&c, "timestamp('2003-12-31')"), "2003-12-31 00:00:00");
    assert_eq!(
        text(&c, "timestamp('2003-12-31 12:00:00', '12:00:00')"),
        "2004-01-01 00:00:00"
    );
    null(&c, "timestamp('nope')");
}
