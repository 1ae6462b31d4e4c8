//! Golden translations (MySQL text → SQLite text or plan), with an empty
//! catalog and current database `test`.

use borealis_sql::*;
use proptest::prelude::*;

fn ctx<'a>(cat: &'a EmptyCatalog, db: Option<&'a str>) -> Ctx<'a> {
    Ctx {
        current_db: db,
        catalog: cat,
        schema_version: 1,
    }
}

fn kinds(sql: &str) -> Result<Vec<StatementKind>, SqlError> {
    let cat = EmptyCatalog;
    let tr = Translator::new(8);
    tr.translate(sql, &ctx(&cat, Some("test")))
        .map(|v| v.iter().map(|t| t.kind.clone()).collect())
}

fn one(sql: &str) -> StatementKind {
    let mut k = kinds(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert_eq!(k.len(), 1, "{sql}");
    k.remove(0)
}

fn sql(mysql: &str) -> String {
    match one(mysql) {
        StatementKind::Query { sql, .. } | StatementKind::Dml { sql, .. } => sql,
        other => panic!("{mysql}: {other:?}"),
    }
}

#[test]
fn golden_queries() {
    let cases = [
        ("SELECT @@version_comment LIMIT 1", "SELECT borealis_sysvar('version_comment') AS \"@@version_comment\" LIMIT 1"),
        ("SELECT c FROM sbtest1 WHERE id=?", "SELECT \"c\" FROM \"test.sbtest1\" WHERE \"id\" = ?"),
        ("SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c", "SELECT DISTINCT \"c\" FROM \"test.sbtest1\" WHERE \"id\" BETWEEN ? AND ? ORDER BY \"c\""),
        ("SELECT AVG(id) FROM (SELECT * FROM sbtest1 FORCE KEY (PRIMARY) LIMIT 100) t", "SELECT AVG(\"id\") AS \"AVG(id)\" FROM (SELECT * FROM \"test.sbtest1\" LIMIT 100) \"t\""),
        ("SELECT * FROM t1 JOIN db2.t2 ON t1.id = t2.id WHERE t1.x = \"str\"", "SELECT * FROM \"test.t1\" JOIN \"db2.t2\" ON \"test.t1\".\"id\" = \"db2.t2\".\"id\" WHERE \"test.t1\".\"x\" = 'str'"),
        ("SELECT `order`.`select` FROM `order`", "SELECT \"test.order\".\"select\" FROM \"test.order\""),
        ("SELECT db.t.c FROM db.t", "SELECT \"db.t\".\"c\" FROM \"db.t\""),
        ("SELECT a || b, a && b FROM t", "SELECT \"a\" OR \"b\" AS \"a || b\", \"a\" AND \"b\" AS \"a && b\" FROM \"test.t\""),
        ("SELECT a DIV 2, a MOD 3 FROM t", "SELECT CAST((\"a\") / (2) AS INTEGER) AS \"a DIV 2\", \"a\" % 3 AS \"a MOD 3\" FROM \"test.t\""),
        ("SELECT a <=> b FROM t", "SELECT \"a\" IS NOT DISTINCT FROM \"b\" AS \"a <=> b\" FROM \"test.t\""),
        ("SELECT a FROM t WHERE a RLIKE '^x'", "SELECT \"a\" FROM \"test.t\" WHERE \"a\" REGEXP '^x'"),
        ("SELECT 1 FROM DUAL", "SELECT 1 AS \"1\""),
        ("SELECT NOW(), CURRENT_TIMESTAMP, CURDATE(), LOCALTIME", "SELECT now() AS \"NOW()\", now() AS \"CURRENT_TIMESTAMP, CURDATE()\", curdate() AS \"CURDATE()\", now()"),
        ("SELECT d + INTERVAL 1 DAY FROM t", "SELECT date_add_interval(\"d\", 1, 'DAY') AS \"d + INTERVAL 1\" FROM \"test.t\""),
        ("SELECT DATE_SUB(d, INTERVAL 2 HOUR) FROM t", "SELECT date_add_interval(\"d\", -(2), 'HOUR') AS \"DATE_SUB(d, INTERVAL 2 HOUR)\" FROM \"test.t\""),
        ("SELECT EXTRACT(MONTH FROM d) FROM t", "SELECT extract_unit('MONTH', \"d\") AS \"d\" FROM \"test.t\""),
        ("SELECT CAST(x AS UNSIGNED), CAST(x AS CHAR(3)), CAST(x AS DATE), CONVERT(x USING utf8mb4) FROM t", "SELECT CAST(\"x\" AS INTEGER) AS \"x\", CAST(\"x\" AS TEXT) AS \"x\", date(\"x\") AS \"x\", \"x\" AS \"x USING utf8mb4\" FROM \"test.t\""),
        ("SELECT GROUP_CONCAT(a ORDER BY b SEPARATOR ';') FROM t", "SELECT group_concat(\"a\", ';' ORDER BY \"b\") AS \"GROUP_CONCAT(a ORDER BY b SEPARATOR ';')\" FROM \"test.t\""),
        ("SELECT @a, @@global.max_connections, @@SESSION.sql_mode", "SELECT borealis_uservar('a') AS \"@a\", borealis_sysvar('global.max_connections') AS \"@@global.max_connections\", borealis_sysvar('sql_mode') AS \"@@SESSION.sql_mode\""),
        ("SELECT 0x41, b'101'", "SELECT X'41' AS \"0x41\", 5 AS \"b'101'\""),
        ("SELECT BINARY a = 'A' FROM t", "SELECT (\"a\" COLLATE BINARY) = 'A' AS \"a = 'A'\" FROM \"test.t\""),
        ("SELECT _utf8mb4'x', DATE '2024-01-01'", "SELECT 'x' AS \"'x'\", '2024-01-01' AS \"'2024-01-01'\""),
        ("SELECT a FROM t WHERE s = 'a\\'b'", "SELECT \"a\" FROM \"test.t\" WHERE \"s\" = 'a''b'"),
        ("SELECT a FROM t LIMIT 5, 10", "SELECT \"a\" FROM \"test.t\" LIMIT 5, 10"),
        ("WITH c AS (SELECT 1 AS x) SELECT c.x FROM c", "WITH \"c\" AS (SELECT 1 AS \"x\") SELECT \"c\".\"x\" FROM \"c\""),
        ("SELECT x.a FROM t AS x", "SELECT \"x\".\"a\" FROM \"test.t\" AS \"x\""),
        ("SELECT table_name FROM information_schema.TABLES", "SELECT \"table_name\" FROM \"information_schema.TABLES\""),
        ("SELECT a FROM t WHERE a LIKE 'x' COLLATE utf8mb4_bin", "SELECT \"a\" FROM \"test.t\" WHERE \"a\" LIKE ('x' COLLATE BINARY)"),
    ];
    for (mysql, expected) in cases {
        assert_eq!(sql(mysql), expected, "{mysql}");
    }
}

#[test]
fn query_flags() {
    let flags = |s: &str| match one(s) {
        StatementKind::Query {
            locking,
            found_rows_sql,
            sql,
        } => (locking, found_rows_sql.is_some(), sql),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        flags("SELECT a FROM t FOR UPDATE"),
        (true, false, "SELECT \"a\" FROM \"test.t\"".into())
    );
    assert_eq!(
        flags("SELECT a FROM t LOCK IN SHARE MODE"),
        (true, false, "SELECT \"a\" FROM \"test.t\"".into())
    );
    assert_eq!(
        flags("SELECT SQL_CALC_FOUND_ROWS a FROM t LIMIT 1"),
        (false, true, "SELECT \"a\" FROM \"test.t\" LIMIT 1".into())
    );
    match one("SELECT SQL_CALC_FOUND_ROWS a FROM t ORDER BY a LIMIT 5, 1") {
        StatementKind::Query { found_rows_sql, .. } => assert_eq!(
            found_rows_sql.as_deref(),
            Some("SELECT count(*) FROM (SELECT \"a\" FROM \"test.t\")")
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        flags("SELECT SQL_NO_CACHE HIGH_PRIORITY a FROM t USE INDEX (i)"),
        (false, false, "SELECT \"a\" FROM \"test.t\"".into())
    );
}

#[test]
fn golden_dml() {
    let cases = [
        ("UPDATE sbtest1 SET k=k+1 WHERE id=?", "UPDATE \"test.sbtest1\" SET \"k\" = \"k\" + 1 WHERE \"id\" = ?"),
        ("DELETE FROM sbtest1 WHERE id=?", "DELETE FROM \"test.sbtest1\" WHERE \"id\" = ?"),
        ("INSERT INTO sbtest1 (id, k, c, pad) VALUES (?, ?, ?, ?)", "INSERT INTO \"test.sbtest1\" (\"id\", \"k\", \"c\", \"pad\") VALUES (?, ?, ?, ?)"),
        ("INSERT IGNORE INTO t (a) VALUES (1), (2)", "INSERT OR IGNORE INTO \"test.t\" (\"a\") VALUES (1), (2)"),
        ("REPLACE INTO t (a) VALUES (1)", "INSERT OR REPLACE INTO \"test.t\" (\"a\") VALUES (1)"),
        ("INSERT INTO t SET a = 1, b = 'x'", "INSERT INTO \"test.t\" (\"a\", \"b\") VALUES (1, 'x')"),
        ("INSERT INTO t (a, b) VALUES (1, 2) ON DUPLICATE KEY UPDATE b = VALUES(b)", "INSERT INTO \"test.t\" (\"a\", \"b\") VALUES (1, 2) ON CONFLICT DO UPDATE SET \"b\" = excluded.b"),
        ("INSERT INTO t (a) VALUES (1) AS new ON DUPLICATE KEY UPDATE a = new.a + 1", "INSERT INTO \"test.t\" (\"a\") VALUES (1) ON CONFLICT DO UPDATE SET \"a\" = excluded.\"a\" + 1"),
        ("UPDATE t SET a = 1 WHERE b = 2 ORDER BY c LIMIT 3", "UPDATE \"test.t\" SET \"a\" = 1 WHERE rowid IN (SELECT rowid FROM \"test.t\" WHERE \"b\" = 2 ORDER BY \"c\" LIMIT 3)"),
        ("DELETE FROM t LIMIT 5", "DELETE FROM \"test.t\" WHERE rowid IN (SELECT rowid FROM \"test.t\" LIMIT 5)"),
    ];
    for (mysql, expected) in cases {
        assert_eq!(sql(mysql), expected, "{mysql}");
    }
    match one("REPLACE INTO db2.t VALUES (1)") {
        StatementKind::Dml { verb, table, .. } => {
            assert_eq!(verb, DmlVerb::Replace);
            assert_eq!(table, ("db2".to_string(), "t".to_string()));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        kinds("UPDATE t JOIN u ON t.a = u.a SET t.b = 1"),
        Err(SqlError::Unsupported(_))
    ));
}

#[test]
fn session_statements() {
    assert_eq!(
        one("SET NAMES utf8mb4"),
        StatementKind::SetNames {
            charset: "utf8mb4".into(),
            collation: None
        }
    );
    assert_eq!(
        one("SET autocommit=0"),
        StatementKind::Set(vec![SetItem {
            scope: Scope::Session,
            name: "autocommit".into(),
            value: SetValue::Expr("0".into())
        }])
    );
    assert_eq!(
        one("SET @a := 1, GLOBAL read_only = ON, @@sql_mode = 'ANSI', x = DEFAULT"),
        StatementKind::Set(vec![
            SetItem {
                scope: Scope::User,
                name: "a".into(),
                value: SetValue::Expr("1".into())
            },
            SetItem {
                scope: Scope::Global,
                name: "read_only".into(),
                value: SetValue::Keyword("ON".into())
            },
            SetItem {
                scope: Scope::Session,
                name: "sql_mode".into(),
                value: SetValue::Expr("'ANSI'".into())
            },
            SetItem {
                scope: Scope::Session,
                name: "x".into(),
                value: SetValue::Default
            },
        ])
    );
    assert_eq!(
        one("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"),
        StatementKind::SetTransaction {
            scope: Some(Scope::Session),
            isolation: Some("READ COMMITTED".into()),
            read_only: None
        }
    );
    assert_eq!(
        one("START TRANSACTION READ ONLY"),
        StatementKind::Begin {
            read_only: true,
            consistent_snapshot: false
        }
    );
    assert_eq!(
        one("START TRANSACTION WITH CONSISTENT SNAPSHOT"),
        StatementKind::Begin {
            read_only: false,
            consistent_snapshot: true
        }
    );
    assert_eq!(
        one("begin"),
        StatementKind::Begin {
            read_only: false,
            consistent_snapshot: false
        }
    );
    assert_eq!(one("COMMIT"), StatementKind::Commit);
    assert_eq!(one("ROLLBACK"), StatementKind::Rollback);
    assert_eq!(
        one("ROLLBACK TO SAVEPOINT s"),
        StatementKind::RollbackToSavepoint("s".into())
    );
    assert_eq!(one("SAVEPOINT s"), StatementKind::Savepoint("s".into()));
    assert_eq!(
        one("RELEASE SAVEPOINT s"),
        StatementKind::ReleaseSavepoint("s".into())
    );
    assert_eq!(one("USE `shop`"), StatementKind::Use("shop".into()));
    assert_eq!(
        one("KILL QUERY 5"),
        StatementKind::Kill {
            query_only: true,
            id: 5
        }
    );
    assert_eq!(one("LOCK TABLES t WRITE"), StatementKind::LockTables);
    assert_eq!(one("UNLOCK TABLES"), StatementKind::UnlockTables);
    assert_eq!(one("FLUSH TABLES"), StatementKind::Noop);
    assert_eq!(one("ALTER TABLE t ENGINE=InnoDB"), StatementKind::Noop);
    assert_eq!(
        one("ALTER TABLE db.t CONVERT TO CHARACTER SET utf8mb4"),
        StatementKind::Noop
    );
    assert_eq!(one("ALTER TABLE `t` DISABLE KEYS"), StatementKind::Noop);
    assert_eq!(one("ANALYZE TABLE sbtest1"), StatementKind::Noop);
    assert_eq!(one("/* nothing */"), StatementKind::Noop);
    assert_eq!(one("SHOW WARNINGS"), StatementKind::Show(Show::Warnings));
    assert_eq!(
        one("SHOW VARIABLES LIKE 'sql_mode'"),
        StatementKind::Show(Show::Variables {
            global: false,
            like: Some("sql_mode".into()),
            where_sql: None
        })
    );
    for s in [
        "XA START 'x'",
        "GRANT ALL ON *.* TO u",
        "LOAD DATA INFILE 'f' INTO TABLE t",
        "CREATE USER u",
        "CREATE VIEW v AS SELECT 1",
        "CREATE TRIGGER x BEFORE INSERT ON t FOR EACH ROW SET @a = 1",
    ] {
        let err = kinds(s).unwrap_err();
        assert_eq!(err.mysql_code().0, 1235, "{s}: {err}");
    }
}

#[test]
fn no_database_selected() {
    let cat = EmptyCatalog;
    let tr = Translator::new(4);
    let err = tr
        .translate("SELECT * FROM t", &ctx(&cat, None))
        .unwrap_err();
    assert_eq!(err, SqlError::NoDatabaseSelected);
    assert_eq!(err.mysql_code(), (1046, "3D000"));
    assert!(tr.translate("SELECT 1", &ctx(&cat, None)).is_ok());
    assert!(tr.translate("SELECT * FROM db.t", &ctx(&cat, None)).is_ok());
}

#[test]
fn multi_statement_and_errors() {
    let k = kinds("select 1; select 2; selec 3; select 4").unwrap();
    assert_eq!(k.len(), 3);
    assert!(
        matches!(&k[2], StatementKind::Failed(SqlError::Syntax { near, .. }) if near == "selec 3")
    );
    match kinds("SELECT * FORM t").unwrap_err() {
        SqlError::Syntax { near, line } => {
            assert_eq!(line, 1);
            assert!(
                near.starts_with("FORM t") || near.starts_with("t"),
                "{near}"
            );
        }
        other => panic!("{other:?}"),
    }
    let k = kinds("/*!40101 SET NAMES utf8 */; SELECT ';' ; ").unwrap();
    assert_eq!(k.len(), 2);
    assert_eq!(
        kinds("/*M!999999\\- enable the sandbox mode */").unwrap(),
        vec![StatementKind::Noop]
    );
}

#[test]
fn cache_hits() {
    let cat = EmptyCatalog;
    let tr = Translator::new(2);
    let c = ctx(&cat, Some("test"));
    let a = tr.translate("SELECT 1", &c).unwrap();
    let b = tr.translate("SELECT 1", &c).unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
    let other_db = ctx(&cat, Some("x"));
    let d = tr.translate("SELECT 1", &other_db).unwrap();
    assert!(!std::sync::Arc::ptr_eq(&a, &d));
    tr.translate("SELECT 2", &c).unwrap();
    tr.translate("SELECT 3", &c).unwrap();
    assert_eq!(tr.cached(), 2);
}

#[test]
fn ddl_plans() {
    match one("CREATE TABLE sbtest1(id INTEGER NOT NULL AUTO_INCREMENT, k INTEGER DEFAULT '0' NOT NULL, c CHAR(120) DEFAULT '' NOT NULL, pad CHAR(60) DEFAULT '' NOT NULL, PRIMARY KEY (id)) /*! ENGINE = innodb */") {
        StatementKind::Ddl { statements, skip_if } => {
            assert_eq!(skip_if, None);
            assert_eq!(statements[0], "CREATE TABLE \"test.sbtest1\" (\"id\" INTEGER PRIMARY KEY, \"k\" INT NOT NULL DEFAULT 0, \"c\" CHAR(120) NOT NULL DEFAULT '' COLLATE NOCASE, \"pad\" CHAR(60) NOT NULL DEFAULT '' COLLATE NOCASE)");
            assert!(statements.iter().any(|s| s.starts_with("INSERT INTO \"information_schema.COLUMNS\"")));
        }
        other => panic!("{other:?}"),
    }
    match one("CREATE TABLE IF NOT EXISTS t (a INT, b VARCHAR(3) BINARY, c CHAR(2) BINARY NOT NULL, e ENUM('x','y'), s SET('p','q'), UNIQUE KEY (a), KEY ab (a, b))") {
        StatementKind::Ddl { statements, skip_if } => {
            assert_eq!(skip_if, Some(SkipIf::TableExists { db: "test".into(), table: "t".into() }));
            assert_eq!(statements[0], "CREATE TABLE \"test.t\" (\"a\" INT, \"b\" VARCHAR(3), \"c\" CHAR(2) NOT NULL, \"e\" ENUM COLLATE NOCASE CHECK (\"e\" IN ('x', 'y', '')), \"s\" SET_TEXT COLLATE NOCASE)");
            assert_eq!(statements[1], "CREATE UNIQUE INDEX \"test.t.a\" ON \"test.t\" (\"a\")");
            assert_eq!(statements[2], "CREATE INDEX \"test.t.ab\" ON \"test.t\" (\"a\", \"b\")");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        one("DROP DATABASE IF EXISTS foo"),
        StatementKind::DropDatabase {
            name: "foo".into(),
            if_exists: true
        }
    );
    assert!(matches!(
        one("CREATE DATABASE foo"),
        StatementKind::CreateDatabase { .. }
    ));
    assert_eq!(
        one("DROP TABLE IF EXISTS nope"),
        StatementKind::Ddl {
            statements: vec![],
            skip_if: None
        }
    );
    assert_eq!(
        kinds("DROP TABLE nope").unwrap_err().to_string(),
        "Unknown table 'test.nope'"
    );
}

#[test]
fn bootstrap_is_complete() {
    let all = bootstrap_statements().join("\n");
    for t in [
        "SCHEMATA",
        "TABLES",
        "COLUMNS",
        "STATISTICS",
        "KEY_COLUMN_USAGE",
        "REFERENTIAL_CONSTRAINTS",
        "ROUTINES",
        "TRIGGERS",
        "VIEWS",
        "FILES",
        "PARTITIONS",
        "ENGINES",
        "CHARACTER_SETS",
        "COLLATIONS",
    ] {
        assert!(all.contains(&format!("\"information_schema.{t}\"")), "{t}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn never_panics(s in "\\PC{0,80}") {
        let _ = kinds(&s);
    }

    #[test]
    fn never_panics_sqlish(s in "(SELECT|INSERT|UPDATE|SET|SHOW|CREATE TABLE|ALTER TABLE|DROP|'|\"|`|;|/\\*!|\\*/|--|#|\\(|\\)|,|=|@|@@|\\?|a|1| |INTERVAL|DIV|FROM|WHERE|VALUES){0,20}") {
        let _ = kinds(&s);
    }

    #[test]
    fn split_respects_quotes(parts in proptest::collection::vec("[a-z ;]{0,8}", 1..5)) {
        // Each part is put in a string literal; the only splitting `;` are ours.
        let stmts: Vec<String> = parts.iter().map(|p| format!("SELECT '{p}'")).collect();
        let text = stmts.join(";");
        let pieces = split_statements(&text);
        prop_assert_eq!(pieces.len(), stmts.len());
        for (piece, s) in pieces.iter().zip(&stmts) {
            prop_assert_eq!(*piece, s.trim());
        }
    }
}
