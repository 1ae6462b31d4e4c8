//! Every registered function with random arguments of random types must not
//! panic (rusqlite turns a panic into an SQL error, so a panic hook counts them).
mod support;

use std::cell::Cell;
use std::sync::Once;

use borealis_functions::SqlValue;
use proptest::prelude::*;
use rusqlite::Connection;
use support::conn;

thread_local! {
    /// Panics seen on this thread (tests run on separate threads).
    static PANICS: Cell<usize> = const { Cell::new(0) };
}
static HOOK: Once = Once::new();

fn install_hook() {
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.with(|p| p.set(p.get() + 1));
            default(info);
        }));
    });
}

/// `(name, narg)` of every application-defined function on the connection.
fn functions(c: &Connection) -> Vec<(String, i64)> {
    let mut stmt = c
        .prepare(
            "SELECT DISTINCT name, narg FROM pragma_function_list
             WHERE builtin = 0 AND name <> 'sleep' ORDER BY name, narg",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn call(c: &Connection, name: &str, args: &[SqlValue]) {
    let placeholders = vec!["?"; args.len()].join(", ");
    let sql = format!("SELECT \"{name}\"({placeholders})");
    let Ok(mut stmt) = c.prepare(&sql) else {
        return;
    };
    // Errors are fine (MySQL raises some too); panics are not.
    let _ = stmt.query_row(rusqlite::params_from_iter(args.iter()), |r| {
        r.get::<_, rusqlite::types::Value>(0)
    });
}

fn interesting() -> Vec<SqlValue> {
    let mut v = vec![
        SqlValue::Null,
        SqlValue::Integer(0),
        SqlValue::Integer(1),
        SqlValue::Integer(-1),
        SqlValue::Integer(7),
        SqlValue::Integer(i64::MAX),
        SqlValue::Integer(i64::MIN),
        SqlValue::Integer(20_240_229),
        SqlValue::Integer(99_991_231_235_959),
        SqlValue::Real(0.5),
        SqlValue::Real(-2.5),
        SqlValue::Real(1e300),
        SqlValue::Real(-1e-300),
        SqlValue::Real(20_240_229_101_010.25),
        SqlValue::Blob(vec![]),
        SqlValue::Blob(vec![0xff, 0x00, 0xc3]),
    ];
    for s in [
        "",
        " ",
        "abc",
        "ABC",
        "héllo",
        "€",
        "2024-02-29",
        "2024-02-29 23:59:59.999999",
        "9999-12-31 23:59:59",
        "0000-00-00",
        "10:20:30",
        "-838:59:59",
        "1 2:3:4",
        "%Y-%m-%d %H:%i:%s %f %D %U %x",
        "%",
        "%%%",
        "DAY",
        "YEAR_MONTH",
        "DAY_MICROSECOND",
        "MICROSECOND",
        "-1 10",
        "1.999999",
        "(",
        "[[:<:]]",
        "a,b,c",
        ",",
        "+10:00",
        "-14:00",
        "utc",
        "1e308",
        "-9223372036854775808",
        "18446744073709551616",
        "\u{0}",
        "\\",
        "'",
        "\"abc\"",
        "\"\\u12\"",
        "127.0.0.1",
        "4D7953514C",
        "YWJj====",
    ] {
        v.push(SqlValue::Text(s.to_string()));
    }
    v
}

#[test]
fn every_function_survives_interesting_values() {
    install_hook();
    let (c, _) = conn();
    let values = interesting();
    for (name, narg) in functions(&c) {
        let arity = if narg < 0 { 3 } else { narg as usize };
        for pos in 0..arity.max(1) {
            for v in &values {
                let mut args = vec![SqlValue::Integer(2); arity];
                if arity == 0 {
                    call(&c, &name, &args);
                    continue;
                }
                args[pos] = v.clone();
                call(&c, &name, &args);
            }
        }
    }
    assert_eq!(PANICS.with(Cell::get), 0, "a function panicked");
}

fn arb_value() -> impl Strategy<Value = SqlValue> {
    prop_oneof![
        Just(SqlValue::Null),
        any::<i64>().prop_map(SqlValue::Integer),
        (-100_000i64..100_000).prop_map(SqlValue::Integer),
        any::<f64>().prop_map(SqlValue::Real),
        ".{0,24}".prop_map(SqlValue::Text),
        "[0-9 :.T%a-zA-Z_-]{0,24}".prop_map(SqlValue::Text),
        prop::collection::vec(any::<u8>(), 0..16).prop_map(SqlValue::Blob),
        prop::sample::select(interesting()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn random_calls_never_panic(pick in any::<prop::sample::Index>(), args in prop::collection::vec(arb_value(), 0..6)) {
        install_hook();
        thread_local! {
            static CONN: (Connection, Vec<(String, i64)>) = {
                let (c, _) = conn();
                let f = functions(&c);
                (c, f)
            };
        }
        CONN.with(|(c, fns)| {
            let (name, narg) = &fns[pick.index(fns.len())];
            let n = if *narg < 0 { args.len() } else { (*narg as usize).min(args.len()) };
            let mut call_args: Vec<SqlValue> = args[..n].to_vec();
            call_args.resize(if *narg < 0 { n } else { *narg as usize }, SqlValue::Integer(1));
            call(c, name, &call_args);
        });
        prop_assert_eq!(PANICS.with(Cell::get), 0);
    }
}
