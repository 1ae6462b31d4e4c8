//! Session functions and auto-increment, through SQL.
mod support;
use borealis_functions::SqlValue;
use support::*;

#[test]
fn identity_functions() {
    let (c, ctx) = conn();
    null(&c, "database()");
    ctx.set_database(Some("shop".into()));
    assert_eq!(text(&c, "database()"), "shop");
    assert_eq!(text(&c, "schema()"), "shop");
    ctx.set_user("app@10.0.0.7".into());
    assert_eq!(text(&c, "user()"), "app@10.0.0.7");
    assert_eq!(text(&c, "current_user()"), "app@10.0.0.7");
    assert_eq!(text(&c, "session_user()"), "app@10.0.0.7");
    ctx.set_version("8.0.36-borealis-test".into());
    assert_eq!(text(&c, "version()"), "8.0.36-borealis-test");
    assert_eq!(int(&c, "connection_id()"), 42);
    ctx.set_row_count(3);
    assert_eq!(int(&c, "row_count()"), 3);
    ctx.set_found_rows(17);
    assert_eq!(int(&c, "found_rows()"), 17);
}

#[test]
fn last_insert_id_semantics() {
    let (c, ctx) = conn();
    assert_eq!(int(&c, "last_insert_id()"), 0);
    ctx.set_last_insert_id(5);
    assert_eq!(int(&c, "last_insert_id()"), 5);
    assert_eq!(int(&c, "last_insert_id(100) + 1"), 101);
    assert_eq!(ctx.last_insert_id(), 100);
    assert_eq!(int(&c, "last_insert_id()"), 100);
    c.execute_batch("CREATE TABLE seq (id INTEGER); INSERT INTO seq VALUES (7);")
        .unwrap();
    c.execute("UPDATE seq SET id = last_insert_id(id + 1)", [])
        .unwrap();
    assert_eq!(ctx.last_insert_id(), 8);
}

#[test]
fn variables() {
    let (c, ctx) = conn();
    null(&c, "borealis_uservar('x')");
    ctx.set_user_var("X", SqlValue::Text("hello".into()));
    assert_eq!(text(&c, "borealis_uservar('x')"), "hello");
    assert_eq!(int(&c, "borealis_set_uservar('n', 5)"), 5);
    assert_eq!(ctx.user_var("N"), Some(SqlValue::Integer(5)));
    null(&c, "borealis_sysvar('autocommit')");
    ctx.set_sysvar_lookup(Box::new(|name| match name.to_ascii_lowercase().as_str() {
        "autocommit" | "session.autocommit" => Some(SqlValue::Integer(1)),
        "global.max_connections" => Some(SqlValue::Integer(151)),
        _ => None,
    }));
    assert_eq!(int(&c, "borealis_sysvar('autocommit')"), 1);
    assert_eq!(int(&c, "borealis_sysvar('global.max_connections')"), 151);
    null(&c, "borealis_sysvar('nope')");
}

#[test]
fn auto_increment_across_writers() {
    let (c, ctx) = conn();
    ctx.set_auto_increment(16, 3);
    c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);")
        .unwrap();
    let insert = "INSERT INTO t (id, v) SELECT borealis_autoinc('t', (SELECT max(id) FROM t)), 'x'";
    ctx.begin_statement(1);
    c.execute(insert, []).unwrap();
    assert_eq!(ctx.generated_id(), Some(3));
    ctx.begin_statement(1);
    assert_eq!(ctx.generated_id(), None);
    c.execute(insert, []).unwrap();
    assert_eq!(ctx.generated_id(), Some(19));
    // Another writer (slot 5) inserted 21; the next id here is above it.
    c.execute("INSERT INTO t VALUES (21, 'other')", []).unwrap();
    ctx.begin_statement(1);
    c.execute(insert, []).unwrap();
    assert_eq!(ctx.generated_id(), Some(35));
    // Multi-row statement: each row gets the next value even though
    // max(id) is evaluated before the rows are inserted.
    ctx.begin_statement(1);
    c.execute(
        "INSERT INTO t (id, v) SELECT borealis_autoinc('t', m), 'y' FROM
           (SELECT (SELECT max(id) FROM t) AS m FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3))",
        [],
    )
    .unwrap();
    assert_eq!(ctx.generated_id(), Some(51));
    let ids: Vec<i64> = c
        .prepare("SELECT id FROM t ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(ids, [3, 19, 21, 35, 51, 67, 83]);
    assert!(ids.iter().filter(|&&i| i != 21).all(|i| i % 16 == 3));
}

#[test]
fn misc_info_functions() {
    let (c, _) = conn();
    assert_eq!(int(&c, "sleep(0.01)"), 0);
    assert_eq!(int(&c, "sleep(-1)"), 0);
    assert_eq!(text(&c, "charset('abc')"), "utf8mb4");
    assert_eq!(text(&c, "collation(x'00')"), "binary");
}
