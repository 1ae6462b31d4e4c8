//! Translations executed on a real SQLite database.

mod common;

use borealis_sql::*;
use common::Db;

const SBTEST: &str = "CREATE TABLE sbtest1(id INTEGER NOT NULL AUTO_INCREMENT, k INTEGER DEFAULT '0' NOT NULL, c CHAR(120) DEFAULT '' NOT NULL, pad CHAR(60) DEFAULT '' NOT NULL, PRIMARY KEY (id)) /*! ENGINE = innodb */";

#[test]
fn sysbench_statements() {
    let mut db = Db::new();
    db.exec("DROP TABLE IF EXISTS sbtest1");
    db.exec(SBTEST);
    db.exec("CREATE INDEX k_1 ON sbtest1(k)");
    db.exec("INSERT INTO sbtest1(k, c, pad) VALUES(5, 'c1', 'p1'),(6, 'c2', 'p2')");
    db.exec("INSERT INTO sbtest1 (id, k, c, pad) VALUES (0, 7, 'c3', 'p3')");
    assert_eq!(
        db.rows("SELECT id, k FROM sbtest1 ORDER BY id"),
        vec![vec!["1", "5"], vec!["2", "6"], vec!["3", "7"]]
    );
    assert_eq!(
        db.rows("SELECT c FROM sbtest1 WHERE id=2"),
        vec![vec!["c2"]]
    );
    assert_eq!(
        db.rows("SELECT c FROM sbtest1 WHERE id BETWEEN 1 AND 2"),
        vec![vec!["c1"], vec!["c2"]]
    );
    assert_eq!(
        db.rows("SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN 1 AND 3"),
        vec![vec!["18"]]
    );
    assert_eq!(
        db.rows("SELECT c FROM sbtest1 WHERE id BETWEEN 1 AND 3 ORDER BY c DESC"),
        vec![vec!["c3"], vec!["c2"], vec!["c1"]]
    );
    assert_eq!(
        db.rows("SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN 1 AND 3 ORDER BY c"),
        vec![vec!["c1"], vec!["c2"], vec!["c3"]]
    );
    db.exec("UPDATE sbtest1 SET k=k+1 WHERE id=1");
    db.exec("UPDATE sbtest1 SET c='x' WHERE id=2");
    db.exec("DELETE FROM sbtest1 WHERE id=3");
    assert_eq!(
        db.rows("SELECT id, k, c FROM sbtest1"),
        vec![vec!["1", "6", "c1"], vec!["2", "6", "x"]]
    );
    let k = db.kind("SELECT c FROM sbtest1 WHERE id=?");
    assert_eq!(
        k,
        StatementKind::Query {
            sql: "SELECT \"c\" FROM \"test.sbtest1\" WHERE \"id\" = ?".into(),
            locking: false,
            found_rows_sql: None
        }
    );
    let t = db
        .translate("INSERT INTO sbtest1 (id, k, c, pad) VALUES (?, ?, ?, ?)")
        .unwrap();
    assert_eq!(t[0].param_count, 4);
    match &t[0].kind {
        StatementKind::Dml {
            sql,
            verb,
            table,
            auto_increment,
        } => {
            assert_eq!(*verb, DmlVerb::Insert);
            assert_eq!(table, &("test".to_string(), "sbtest1".to_string()));
            assert_eq!(auto_increment.as_deref(), Some("id"));
            assert!(
                sql.contains(
                    "COALESCE(NULLIF(CAST(? AS INTEGER), 0), borealis_autoinc('test.sbtest1'"
                ),
                "{sql}"
            );
        }
        other => panic!("{other:?}"),
    }
    db.exec("DROP TABLE IF EXISTS sbtest1");
    assert!(db.translate("SELECT * FROM sbtest1").is_ok());
    assert!(SqliteCatalogExists::check(&db));
}

struct SqliteCatalogExists;
impl SqliteCatalogExists {
    fn check(db: &Db) -> bool {
        common::SqliteCatalog(&db.conn)
            .table("test", "sbtest1")
            .is_none()
    }
}

#[test]
fn catalog_round_trip_and_show() {
    let mut db = Db::new();
    db.exec("CREATE TABLE `users` (
      `id` int(11) unsigned NOT NULL AUTO_INCREMENT,
      `email` varchar(255) NOT NULL,
      `name` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL COMMENT 'display',
      `status` enum('a','b') NOT NULL DEFAULT 'a',
      `score` decimal(10,2) DEFAULT '0.00',
      `created` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
      PRIMARY KEY (`id`),
      UNIQUE KEY `email` (`email`),
      KEY `name_idx` (`name`(10))
    ) ENGINE=InnoDB AUTO_INCREMENT=5 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='people'");
    let meta = common::SqliteCatalog(&db.conn)
        .table("test", "users")
        .unwrap();
    assert_eq!(meta.auto_increment.as_deref(), Some("id"));
    assert_eq!(meta.primary_key, vec!["id"]);
    assert_eq!(meta.columns[0].column_type, "int unsigned");
    assert_eq!(meta.columns[2].collation.as_deref(), Some("utf8mb4_bin"));
    assert_eq!(
        meta.columns[5].default.as_deref(),
        Some("CURRENT_TIMESTAMP")
    );
    assert!(meta.columns[5].on_update_current_timestamp);
    assert_eq!(meta.indexes.len(), 2);
    assert_eq!(meta.indexes[1].sub_parts, vec![Some(10)]);
    assert_eq!(meta.comment, "people");
    let create = show_create_table(&meta);
    assert!(
        create.contains("`id` int unsigned NOT NULL AUTO_INCREMENT"),
        "{create}"
    );
    assert!(create.contains("UNIQUE KEY `email` (`email`)"), "{create}");
    // re-runnable
    db.exec("DROP TABLE users");
    db.exec(&create);
    let again = common::SqliteCatalog(&db.conn)
        .table("test", "users")
        .unwrap();
    assert_eq!(show_create_table(&again), create);

    assert_eq!(db.rows("SHOW TABLES"), vec![vec!["users"]]);
    let cols = db.rows("SHOW COLUMNS FROM users");
    assert_eq!(
        cols[0],
        vec!["id", "int unsigned", "NO", "PRI", "NULL", "auto_increment"]
    );
    assert_eq!(cols[1][3], "UNI");
    assert_eq!(cols[5][5], "DEFAULT_GENERATED on update CURRENT_TIMESTAMP");
    let idx = db.rows("SHOW INDEX FROM users");
    assert_eq!(idx.len(), 3);
    assert_eq!(idx[0][2], "PRIMARY");
    assert_eq!(db.rows("SHOW DATABASES LIKE 'te%'"), vec![vec!["test"]]);
    assert_eq!(db.rows("SHOW TABLE STATUS LIKE 'users'")[0][0], "users");
    assert_eq!(
        db.rows("SELECT table_name FROM information_schema.tables WHERE table_schema = 'test'"),
        vec![vec!["users"]]
    );
    // Ids start at the table's AUTO_INCREMENT=5.
    db.exec("INSERT INTO users (email) VALUES ('a@b'), ('c@d')");
    assert_eq!(
        db.rows("SELECT id, status, score FROM users ORDER BY id"),
        vec![vec!["5", "a", "0.00"], vec!["6", "a", "0.00"]]
    );
    db.exec("INSERT INTO users (email, name) VALUES ('a@b', 'x') ON DUPLICATE KEY UPDATE name = VALUES(name)");
    assert_eq!(
        db.rows("SELECT name FROM users WHERE email = 'A@B'"),
        vec![vec!["x"]]
    );
    db.exec("INSERT IGNORE INTO users SET email = 'a@b'");
    db.exec("REPLACE INTO users (id, email) VALUES (6, 'z@z')");
    assert_eq!(
        db.rows("SELECT email FROM users WHERE id = 6"),
        vec![vec!["z@z"]]
    );
}

#[test]
fn decimal_columns_store_exact_text() {
    let mut db = Db::new();
    db.exec("CREATE TABLE money (id INT PRIMARY KEY, d DECIMAL(20,6), UNIQUE KEY d_key (d))");
    let create: String = db
        .conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'test.money'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        create.contains("\"d\" DECIMAL_TEXT(20,6) COLLATE mysql_decimal"),
        "{create}"
    );
    let meta = common::SqliteCatalog(&db.conn)
        .table("test", "money")
        .unwrap();
    assert_eq!(meta.columns[1].column_type, "decimal(20,6)");
    assert!(show_create_table(&meta).contains("`d` decimal(20,6) DEFAULT NULL"));
    db.exec("INSERT INTO money VALUES (1, 12345678901234.567890), (2, -0.5), (3, 10)");
    db.exec("INSERT INTO money SET id = 4, d = +11.25");
    db.exec("UPDATE money SET d = 99999999999999.999999 WHERE id = 3");
    assert_eq!(
        db.rows("SELECT id, d FROM money WHERE d > 10 ORDER BY d"),
        vec![
            vec!["4", "11.25"],
            vec!["1", "12345678901234.567890"],
            vec!["3", "99999999999999.999999"],
        ]
    );
    assert_eq!(db.rows("SELECT MIN(d) FROM money"), vec![vec!["-0.5"]]);
    // The UNIQUE index compares through the collation: 11.250 == 11.25.
    let dup = db
        .translate("INSERT INTO money VALUES (5, 11.250)")
        .unwrap();
    let StatementKind::Dml { sql, .. } = &dup[0].kind else {
        panic!("not DML: {:?}", dup[0].kind);
    };
    assert!(sql.contains("'11.250'"), "{sql}");
    assert!(db.conn.execute(sql, []).is_err());
}

#[test]
fn alter_and_rename() {
    let mut db = Db::new();
    db.exec("CREATE TABLE t (a INT PRIMARY KEY, b VARCHAR(10))");
    db.exec("ALTER TABLE t ADD COLUMN c INT NOT NULL AFTER a, ADD INDEX bi (b)");
    let meta = common::SqliteCatalog(&db.conn).table("test", "t").unwrap();
    let names: Vec<&str> = meta.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["a", "c", "b"]);
    db.exec("ALTER TABLE t CHANGE b bb VARCHAR(20)");
    db.exec("ALTER TABLE t DROP INDEX bi");
    db.exec("ALTER TABLE t RENAME COLUMN c TO cc");
    db.exec("RENAME TABLE t TO t2");
    db.exec("ALTER TABLE t2 DISABLE KEYS");
    db.exec("INSERT INTO t2 (a, cc, bb) VALUES (1, 2, 'x')");
    assert_eq!(
        db.rows("SELECT a, cc, bb FROM t2"),
        vec![vec!["1", "2", "x"]]
    );
    assert!(matches!(
        db.translate("ALTER TABLE t2 MODIFY bb INT"),
        Err(SqlError::Unsupported(_))
    ));
    db.exec("TRUNCATE TABLE t2");
    assert!(db.rows("SELECT * FROM t2").is_empty());
    db.exec("CREATE TABLE t3 LIKE t2");
    db.exec("DROP TABLE t2, t3");
    assert!(matches!(
        db.translate("DROP TABLE t2"),
        Err(SqlError::UnknownTable { .. })
    ));
    assert!(db.translate("CREATE TABLE IF NOT EXISTS x (a int)").is_ok());
}

#[test]
fn foreign_keys_and_databases() {
    let mut db = Db::new();
    db.exec("CREATE DATABASE shop");
    db.exec("USE shop");
    db.exec("CREATE TABLE p (id INT AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB");
    db.exec("CREATE TABLE c (id INT PRIMARY KEY, pid INT, CONSTRAINT fk1 FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE)");
    let meta = common::SqliteCatalog(&db.conn).table("shop", "c").unwrap();
    assert_eq!(meta.engine, "InnoDB");
    db.exec("CREATE TABLE m (a INT) ENGINE=MyISAM");
    assert_eq!(
        common::SqliteCatalog(&db.conn)
            .table("shop", "m")
            .unwrap()
            .engine,
        "MyISAM"
    );
    assert_eq!(meta.foreign_keys[0].ref_table, "p");
    assert_eq!(meta.foreign_keys[0].on_delete, "CASCADE");
    assert!(show_create_table(&meta)
        .contains("CONSTRAINT `fk1` FOREIGN KEY (`pid`) REFERENCES `p` (`id`) ON DELETE CASCADE"));
    db.exec("INSERT INTO p VALUES (NULL)");
    db.exec("INSERT INTO c VALUES (1, 1)");
    assert_eq!(
        db.rows(
            "SELECT c.id, test_alias.id FROM shop.c JOIN p test_alias ON test_alias.id = c.pid"
        ),
        vec![vec!["1", "1"]]
    );
    assert_eq!(db.rows("SELECT shop.c.pid FROM c"), vec![vec!["1"]]);
    db.exec("DROP DATABASE shop");
    assert!(db.rows("SHOW DATABASES LIKE 'shop'").is_empty());
}

#[test]
fn mysqldump_fragment() {
    let mut db = Db::new();
    let dump = "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET NAMES utf8mb4 */;
/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;
/*M!100616 SET @OLD_NOTE_VERBOSITY=@@NOTE_VERBOSITY, NOTE_VERBOSITY=0 */;
DROP TABLE IF EXISTS `items`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
CREATE TABLE `items` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `title` varchar(100) DEFAULT NULL,
  `body` longtext,
  PRIMARY KEY (`id`),
  KEY `title` (`title`)
) ENGINE=InnoDB AUTO_INCREMENT=3 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;
LOCK TABLES `items` WRITE;
/*!40000 ALTER TABLE `items` DISABLE KEYS */;
INSERT INTO `items` VALUES (1,'it\\'s','a;b'),(2,NULL,'x\\ny');
/*!40000 ALTER TABLE `items` ENABLE KEYS */;
UNLOCK TABLES;
-- Dump completed";
    let out = db.exec(dump);
    assert!(out.len() >= 12);
    assert_eq!(
        db.rows("SELECT title, body FROM items ORDER BY id"),
        vec![vec!["it's", "a;b"], vec!["NULL", "x\ny"]]
    );
}

#[test]
fn expressions_execute() {
    let mut db = Db::new();
    db.exec("CREATE TABLE e (a INT, s VARCHAR(10))");
    db.exec("INSERT INTO e VALUES (7, \"Ab\"), (NULL, 'cd')");
    assert_eq!(
        db.rows("SELECT a DIV 2, a % 4, a <=> NULL, 1 XOR 1 FROM e WHERE a IS NOT NULL"),
        vec![vec!["3", "3", "0", "0"]]
    );
    assert_eq!(db.rows("SELECT s FROM e WHERE s = 'ab'"), vec![vec!["Ab"]]);
    assert!(db.rows("SELECT s FROM e WHERE BINARY s = 'ab'").is_empty());
    assert_eq!(
        db.rows("SELECT COUNT(*) FROM e WHERE s REGEXP 'c'"),
        vec![vec!["1"]]
    );
    assert_eq!(
        db.rows("SELECT GROUP_CONCAT(s ORDER BY s DESC SEPARATOR '|') FROM e"),
        vec![vec!["cd|Ab"]]
    );
    assert_eq!(
        db.rows("SELECT CAST('12abc' AS SIGNED), CONVERT('5', UNSIGNED), CAST(3 AS CHAR)"),
        vec![vec!["12", "5", "3"]]
    );
    assert_eq!(
        db.rows("SELECT @@version_comment LIMIT 1"),
        vec![vec!["sysvar:version_comment"]]
    );
    assert_eq!(
        db.rows("SELECT @@session.autocommit, @@global.read_only, @x"),
        vec![vec![
            "sysvar:autocommit",
            "sysvar:global.read_only",
            "uservar:x"
        ]]
    );
    assert_eq!(db.rows("SELECT DATABASE()"), vec![vec!["test"]]);
    assert_eq!(
        db.rows("SELECT NOW(), CURRENT_TIMESTAMP, CURDATE() FROM DUAL"),
        vec![vec![
            "2024-01-02 03:04:05",
            "2024-01-02 03:04:05",
            "2024-01-02"
        ]]
    );
    assert_eq!(
        db.rows("SELECT '2024-01-01' + INTERVAL 1 DAY, DATE_SUB('d', INTERVAL 2 HOUR)"),
        vec![vec!["2024-01-01+1DAY", "d-2HOUR"]]
    );
    assert_eq!(
        db.rows("SELECT EXTRACT(YEAR FROM '2024-01-01')"),
        vec![vec!["YEAR"]]
    );
    assert_eq!(
        db.rows("SELECT 0x41, b'101', X'42'"),
        vec![vec!["[65]", "5", "[66]"]]
    );
    assert_eq!(db.rows("SELECT SQL_CALC_FOUND_ROWS a FROM e USE INDEX (PRIMARY) WHERE a = 7 LIMIT 0, 1 FOR UPDATE"), vec![vec!["7"]]);
    db.exec("UPDATE e SET a = 1 ORDER BY s LIMIT 1");
    assert_eq!(db.rows("SELECT a FROM e WHERE s = 'Ab'"), vec![vec!["1"]]);
    db.exec("DELETE FROM e ORDER BY s DESC LIMIT 1");
    assert_eq!(db.rows("SELECT COUNT(*) FROM e"), vec![vec!["1"]]);
    assert_eq!(
        db.rows("WITH cte AS (SELECT a FROM e) SELECT cte.a FROM cte"),
        vec![vec!["1"]]
    );
    assert_eq!(
        db.rows("SELECT x.a FROM (SELECT a FROM e) AS x"),
        vec![vec!["1"]]
    );
}

#[test]
fn indexes_defaults_and_upserts() {
    let mut db = Db::new();
    db.exec("CREATE TABLE s (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) NOT NULL DEFAULT 'anon', n INT DEFAULT 3, ts DATETIME DEFAULT CURRENT_TIMESTAMP)");
    db.exec("CREATE UNIQUE INDEX by_name USING BTREE ON s (name)");
    db.exec("INSERT INTO s VALUES (DEFAULT, DEFAULT, DEFAULT, DEFAULT)");
    assert_eq!(
        db.rows("SELECT id, name, n, ts FROM s"),
        vec![vec!["1", "anon", "3", "2024-01-02 03:04:05"]]
    );
    db.exec("INSERT INTO s (name) SELECT 'anon' FROM s ON DUPLICATE KEY UPDATE n = n + 1");
    assert_eq!(db.rows("SELECT n FROM s"), vec![vec!["4"]]);
    db.exec("ALTER TABLE s ADD COLUMN x INT, ADD KEY (x)");
    let meta = common::SqliteCatalog(&db.conn).table("test", "s").unwrap();
    assert_eq!(
        meta.indexes
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>(),
        vec!["by_name", "x"]
    );
    db.exec("DROP INDEX by_name ON s");
    db.exec("INSERT INTO s (name) VALUES ('anon')");
    assert_eq!(
        db.rows("SELECT COUNT(*) FROM s WHERE name = 'ANON'"),
        vec![vec!["2"]]
    );
    let r = db.translate("ALTER TABLE s ADD COLUMN t2 TIMESTAMP DEFAULT CURRENT_TIMESTAMP");
    assert!(matches!(r, Err(SqlError::Unsupported(_))), "{r:?}");
    assert!(matches!(
        db.translate("DROP INDEX nope ON s"),
        Err(SqlError::CantDropKey(_))
    ));
    assert!(matches!(
        db.translate("CREATE TABLE s (a INT)"),
        Err(SqlError::DuplicateTable(_))
    ));
    assert!(matches!(
        db.kind("SHOW CREATE TABLE s"),
        StatementKind::Show(Show::CreateTable { .. })
    ));
    db.exec("ALTER TABLE s ADD UNIQUE KEY nx (name, x)");
    db.exec("ALTER TABLE s DROP COLUMN x");
    let meta = common::SqliteCatalog(&db.conn).table("test", "s").unwrap();
    assert!(meta.indexes.is_empty());
    assert_eq!(meta.columns.len(), 4);
}
