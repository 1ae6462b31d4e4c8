//! Aggregates through SQL.
mod support;
use borealis_functions::SqlValue;
use support::*;

fn table(c: &rusqlite::Connection) {
    c.execute_batch(
        "CREATE TABLE n (g TEXT, x);
         INSERT INTO n VALUES ('a', 2), ('a', 4), ('a', 4), ('a', 4), ('a', 5), ('a', 5), ('a', 7), ('a', 9),
                              ('b', 12), ('b', NULL), ('c', NULL);",
    )
    .unwrap();
}

#[test]
fn bit_aggregates() {
    let (c, _) = conn();
    c.execute_batch("CREATE TABLE b (x); INSERT INTO b VALUES (5), (7), (13), (NULL);")
        .unwrap();
    assert_eq!(int(&c, "bit_and(x) FROM b"), 5);
    assert_eq!(int(&c, "bit_or(x) FROM b"), 15);
    assert_eq!(int(&c, "bit_xor(x) FROM b"), 5 ^ 7 ^ 13);
    assert_eq!(
        text(&c, "bit_and(x) FROM b WHERE x > 100"),
        "18446744073709551615"
    );
    assert_eq!(int(&c, "bit_or(x) FROM b WHERE x > 100"), 0);
}

#[test]
fn spread_aggregates() {
    let (c, _) = conn();
    table(&c);
    assert_eq!(real(&c, "std(x) FROM n WHERE g = 'a'"), 2.0);
    assert_eq!(real(&c, "stddev_pop(x) FROM n WHERE g = 'a'"), 2.0);
    assert_eq!(real(&c, "variance(x) FROM n WHERE g = 'a'"), 4.0);
    assert_eq!(real(&c, "var_pop(x) FROM n WHERE g = 'a'"), 4.0);
    assert!((real(&c, "var_samp(x) FROM n WHERE g = 'a'") - 32.0 / 7.0).abs() < 1e-12);
    assert!(
        (real(&c, "stddev_samp(x) FROM n WHERE g = 'a'") - (32.0f64 / 7.0).sqrt()).abs() < 1e-12
    );
    assert_eq!(real(&c, "stddev(x) FROM n WHERE g = 'b'"), 0.0);
    null(&c, "var_samp(x) FROM n WHERE g = 'b'");
    null(&c, "std(x) FROM n WHERE g = 'c'");
    null(&c, "std(x) FROM n WHERE g = 'zzz'");
    let per_group: Vec<SqlValue> = c
        .prepare("SELECT var_pop(x) FROM n GROUP BY g ORDER BY g")
        .unwrap()
        .query_map([], |r| {
            r.get::<_, rusqlite::types::Value>(0).map(SqlValue::from)
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        per_group,
        [SqlValue::Real(4.0), SqlValue::Real(0.0), SqlValue::Null]
    );
}
