//! MySQL SQL on SQLite, through mysql_async (text protocol unless noted).

mod common;

use common::{code_of, server_error, Server};
use mysql_async::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn databases_and_qualified_names() {
    let s = Server::start(&[]);
    let mut c = s.conn().await;
    c.query_drop("CREATE DATABASE shop").await.unwrap();
    assert_eq!(code_of(c.query_drop("CREATE DATABASE shop").await), 1007);
    c.query_drop("CREATE DATABASE IF NOT EXISTS shop")
        .await
        .unwrap();
    assert_eq!(code_of(c.query_drop("SELECT * FROM t").await), 1046);
    c.query_drop("CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(20))")
        .await
        .unwrap();
    c.query_drop("INSERT INTO shop.items VALUES (1, 'pen')")
        .await
        .unwrap();
    let dbs: Vec<String> = c.query("SHOW DATABASES").await.unwrap();
    assert!(
        dbs.contains(&"shop".to_string()) && dbs.contains(&"information_schema".to_string()),
        "{dbs:?}"
    );
    assert_eq!(code_of(c.query_drop("USE nowhere").await), 1049);
    c.query_drop("USE shop").await.unwrap();
    let db: String = c.query_first("SELECT DATABASE()").await.unwrap().unwrap();
    assert_eq!(db, "shop");
    let tables: Vec<String> = c.query("SHOW TABLES").await.unwrap();
    assert_eq!(tables, vec!["items"]);
    let e = server_error(c.query_drop("SELECT * FROM missing").await);
    assert_eq!((e.code, e.state.as_str()), (1146, "42S02"));
    assert!(e.message.contains("shop.missing"), "{}", e.message);
    let n: i64 = c
        .query_first("SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop'")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 1);
    c.query_drop("DROP DATABASE shop").await.unwrap();
    assert_eq!(
        code_of(c.query_drop("SELECT * FROM shop.items").await),
        1146
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn column_types_round_trip_in_mysql_formats() {
    let s = Server::start(&[]);
    let mut c = s.conn_db("ty").await;
    c.query_drop(
        "CREATE TABLE t (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, i INT, u INT UNSIGNED, \
         d DECIMAL(8,3), f DOUBLE, ch CHAR(3), vc VARCHAR(10), tx MEDIUMTEXT, lt LONGTEXT, \
         bl LONGBLOB, vb VARBINARY(8), dt DATETIME, ts TIMESTAMP NULL, dd DATE, tm TIME, y YEAR, \
         e ENUM('small','large'), st SET('a','b'), ok BOOL, j JSON, PRIMARY KEY (id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='all types'",
    )
    .await
    .unwrap();
    c.query_drop(
        "INSERT INTO t (i, u, d, f, ch, vc, tx, lt, bl, vb, dt, ts, dd, tm, y, e, st, ok, j) VALUES \
         (-7, 4000000000, 12.5, 0.25, 'abc', 'Zürich', 'medium', 'long', x'00ff', x'0102', '2024-05-06 07:08:09', \
          '2024-05-06 07:08:09', '2024-05-06', '12:34:56', 2024, 'large', 'a,b', TRUE, '{\"k\": [1, 2]}')",
    )
    .await
    .unwrap();
    let row: mysql_async::Row = c.query_first("SELECT * FROM t").await.unwrap().unwrap();
    let text = |i: usize| -> Option<String> { row.get::<Option<String>, _>(i).flatten() };
    assert_eq!(text(0).as_deref(), Some("1"));
    assert_eq!(text(1).as_deref(), Some("-7"));
    assert_eq!(text(2).as_deref(), Some("4000000000"));
    assert_eq!(text(3).as_deref(), Some("12.500"));
    assert_eq!(text(4).as_deref(), Some("0.25"));
    assert_eq!(text(6).as_deref(), Some("Zürich"));
    assert_eq!(row.get::<Vec<u8>, _>(9), Some(vec![0u8, 255]));
    assert_eq!(text(11).as_deref(), Some("2024-05-06 07:08:09"));
    assert_eq!(text(13).as_deref(), Some("2024-05-06"));
    assert_eq!(text(14).as_deref(), Some("12:34:56"));
    assert_eq!(text(15).as_deref(), Some("2024"));
    assert_eq!(text(16).as_deref(), Some("large"));
    assert_eq!(text(18).as_deref(), Some("1"));
    // Column metadata carries MySQL types.
    let cols = row.columns_ref();
    use mysql_async::consts::ColumnType as T;
    assert_eq!(cols[0].column_type(), T::MYSQL_TYPE_LONGLONG);
    assert_eq!(cols[1].column_type(), T::MYSQL_TYPE_LONG);
    assert_eq!(cols[3].column_type(), T::MYSQL_TYPE_NEWDECIMAL);
    assert_eq!(cols[11].column_type(), T::MYSQL_TYPE_DATETIME);
    assert_eq!(cols[13].column_type(), T::MYSQL_TYPE_DATE);
    assert_eq!(cols[0].name_str(), "id");
    assert_eq!(cols[0].table_str(), "t");
    // SHOW CREATE TABLE re-runs.
    let (_, ddl): (String, String) = c.query_first("SHOW CREATE TABLE t").await.unwrap().unwrap();
    assert!(ddl.contains("CREATE TABLE `t`"), "{ddl}");
    c.query_drop("CREATE DATABASE ty2").await.unwrap();
    c.query_drop("USE ty2").await.unwrap();
    c.query_drop(ddl.as_str()).await.unwrap();
    let (_, again): (String, String) = c.query_first("SHOW CREATE TABLE t").await.unwrap().unwrap();
    assert_eq!(ddl, again);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_defaults_auto_increment_and_duplicate_handling() {
    let s = Server::start(&[]);
    let mut c = s.conn_db("dml").await;
    c.query_drop(
        "CREATE TABLE u (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(50) NOT NULL, n INT DEFAULT 3, UNIQUE KEY uq_email (email))",
    )
    .await
    .unwrap();
    c.query_drop("INSERT INTO u (email) VALUES ('a@x'), ('b@x')")
        .await
        .unwrap();
    assert_eq!(c.last_insert_id(), Some(1));
    let e = server_error(c.query_drop("INSERT INTO u (email) VALUES ('A@X')").await);
    assert_eq!(
        (e.code, e.state.as_str()),
        (1062, "23000"),
        "case-insensitive unique key"
    );
    c.query_drop("INSERT IGNORE INTO u (email) VALUES ('a@x')")
        .await
        .unwrap();
    c.query_drop(
        "INSERT INTO u (email, n) VALUES ('a@x', 9) ON DUPLICATE KEY UPDATE n = VALUES(n) + 1",
    )
    .await
    .unwrap();
    let n: i64 = c
        .query_first("SELECT n FROM u WHERE email = 'a@x'")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 10);
    c.query_drop("REPLACE INTO u (id, email, n) VALUES (2, 'b@x', 7)")
        .await
        .unwrap();
    let rows: Vec<(i64, String, i64)> = c
        .query("SELECT id, email, n FROM u ORDER BY id")
        .await
        .unwrap();
    assert_eq!(rows, vec![(1, "a@x".into(), 10), (2, "b@x".into(), 7)]);
    assert_eq!(
        code_of(c.query_drop("INSERT INTO u (email) VALUES (NULL)").await),
        1048
    );
    c.query_drop("INSERT INTO u (email) VALUES ('c@x')")
        .await
        .unwrap();
    let id: i64 = c
        .query_first("SELECT LAST_INSERT_ID()")
        .await
        .unwrap()
        .unwrap();
    let stored: i64 = c
        .query_first("SELECT id FROM u WHERE email = 'c@x'")
        .await
        .unwrap()
        .unwrap();
    // The failed and ignored inserts above used up ids, as in InnoDB.
    assert!(id > 2 && id == stored, "{id} {stored}");
    c.query_drop("SET SESSION auto_increment_increment = 10, SESSION auto_increment_offset = 5")
        .await
        .unwrap();
    c.query_drop("INSERT INTO u (email) VALUES ('d@x'), ('e@x')")
        .await
        .unwrap();
    let ids: Vec<i64> = c
        .query("SELECT id FROM u WHERE email IN ('d@x', 'e@x') ORDER BY id")
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert!(
        ids[0] > 3 && ids[0] % 10 == 5 && ids[1] == ids[0] + 10,
        "{ids:?}"
    );
    // INSERT … SELECT, UPDATE/DELETE with ORDER BY … LIMIT.
    c.query_drop("CREATE TABLE log (email VARCHAR(50))")
        .await
        .unwrap();
    c.query_drop("INSERT INTO log SELECT email FROM u WHERE n = 3")
        .await
        .unwrap();
    c.query_drop("UPDATE u SET n = n + 100 ORDER BY id DESC LIMIT 2")
        .await
        .unwrap();
    c.query_drop("DELETE FROM u ORDER BY id LIMIT 1")
        .await
        .unwrap();
    let left: Vec<(i64, i64)> = c.query("SELECT id, n FROM u ORDER BY id").await.unwrap();
    assert_eq!(left.len(), 4);
    assert_eq!(left[3].1, 103);
    c.query_drop("TRUNCATE TABLE log").await.unwrap();
    let n: i64 = c
        .query_first("SELECT count(*) FROM log")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selects_joins_grouping_functions() {
    let s = Server::start(&[]);
    let mut c = s.conn_db("q").await;
    c.query_drop("CREATE TABLE a (id INT PRIMARY KEY, grp VARCHAR(5), v INT)")
        .await
        .unwrap();
    c.query_drop("CREATE TABLE b (a_id INT, tag VARCHAR(5), KEY (a_id))")
        .await
        .unwrap();
    c.query_drop("INSERT INTO a VALUES (1,'x',10),(2,'x',20),(3,'y',30),(4,'z',NULL)")
        .await
        .unwrap();
    c.query_drop("INSERT INTO b VALUES (1,'t1'),(1,'t2'),(3,'t3')")
        .await
        .unwrap();
    let r: Vec<(String, i64)> = c
        .query("SELECT grp, SUM(v) AS s FROM a GROUP BY grp HAVING SUM(v) > 15 ORDER BY s DESC")
        .await
        .unwrap();
    let mut r = r;
    r.sort();
    assert_eq!(r, vec![("x".to_string(), 30), ("y".to_string(), 30)]);
    assert_eq!(r.len(), 2);
    let j: Vec<(i64, String)> = c
        .query("SELECT a.id, b.tag FROM a JOIN b ON b.a_id = a.id WHERE a.id IN (SELECT a_id FROM b) ORDER BY b.tag LIMIT 1, 2")
        .await
        .unwrap();
    assert_eq!(j, vec![(1, "t2".into()), (3, "t3".into())]);
    let left: i64 = c
        .query_first("SELECT count(*) FROM a LEFT JOIN b ON b.a_id = a.id WHERE b.tag IS NULL")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(left, 2);
    let u: Vec<i64> = c
        .query("SELECT id FROM a WHERE id < 2 UNION SELECT a_id FROM b ORDER BY 1")
        .await
        .unwrap();
    assert_eq!(u, vec![1, 3]);
    let d: Vec<String> = c
        .query("SELECT DISTINCT grp FROM a ORDER BY grp LIMIT 2 OFFSET 1")
        .await
        .unwrap();
    assert_eq!(d, vec!["y", "z"]);
    let f: (String, i64, String, String, String) = c
        .query_first("SELECT CONCAT('a', 'b', 1), IFNULL(NULL, 5), IF(1 > 0, 'yes', 'no'), COALESCE(NULL, 'c'), SUBSTRING('hello', 2, 3)")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f, ("ab1".into(), 5, "yes".into(), "c".into(), "ell".into()));
    let df: String = c
        .query_first("SELECT DATE_FORMAT('2024-03-05 14:07:09', '%Y/%m/%d %H:%i')")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(df, "2024/03/05 14:07");
    let ts: i64 = c
        .query_first("SELECT UNIX_TIMESTAMP('1970-01-02 00:00:00')")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ts, 86400);
    let nonnull: (String, String) = c
        .query_first("SELECT NOW(), CURDATE()")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(nonnull.0.len(), 19);
    assert_eq!(nonnull.1.len(), 10);
    let v: String = c.query_first("SELECT VERSION()").await.unwrap().unwrap();
    assert!(v.contains("Borealis"), "{v}");
    let ci: i64 = c
        .query_first("SELECT count(*) FROM a WHERE grp = 'X'")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ci, 2, "text compares case-insensitively by default");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_savepoints_autocommit() {
    let s = Server::start(&[]);
    let mut c = s.conn_db("tx").await;
    c.query_drop("CREATE TABLE t (v INT)").await.unwrap();
    c.query_drop("BEGIN").await.unwrap();
    c.query_drop("INSERT INTO t VALUES (1)").await.unwrap();
    c.query_drop("SAVEPOINT sp1").await.unwrap();
    c.query_drop("INSERT INTO t VALUES (2)").await.unwrap();
    c.query_drop("ROLLBACK TO SAVEPOINT sp1").await.unwrap();
    c.query_drop("RELEASE SAVEPOINT sp1").await.unwrap();
    c.query_drop("COMMIT").await.unwrap();
    c.query_drop("SET autocommit = 0").await.unwrap();
    c.query_drop("INSERT INTO t VALUES (3)").await.unwrap();
    c.query_drop("ROLLBACK").await.unwrap();
    c.query_drop("INSERT INTO t VALUES (4)").await.unwrap();
    c.query_drop("COMMIT").await.unwrap();
    c.query_drop("SET autocommit = 1").await.unwrap();
    let v: Vec<i64> = c.query("SELECT v FROM t ORDER BY v").await.unwrap();
    assert_eq!(v, vec![1, 4]);
    c.query_drop("START TRANSACTION READ ONLY").await.unwrap();
    assert_eq!(
        code_of(c.query_drop("INSERT INTO t VALUES (5)").await),
        1792
    );
    c.query_drop("COMMIT").await.unwrap();
    let e = server_error(
        c.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE")
            .await,
    );
    assert_eq!(e.code, 1235);
    c.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        .await
        .unwrap();
    let iso: String = c
        .query_first("SELECT @@transaction_isolation")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(iso, "READ-COMMITTED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alter_table_indexes_and_foreign_keys() {
    let s = Server::start(&[]);
    let mut c = s.conn_db("alt").await;
    c.query_drop("CREATE TABLE p (id INT PRIMARY KEY, name VARCHAR(10))")
        .await
        .unwrap();
    c.query_drop("CREATE TABLE ch (id INT PRIMARY KEY, p_id INT, FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE CASCADE)").await.unwrap();
    c.query_drop("INSERT INTO p VALUES (1, 'one'), (2, 'two')")
        .await
        .unwrap();
    c.query_drop("INSERT INTO ch VALUES (10, 1), (20, 2)")
        .await
        .unwrap();
    c.query_drop("DELETE FROM p WHERE id = 1").await.unwrap();
    let n: i64 = c
        .query_first("SELECT count(*) FROM ch")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 1, "ON DELETE CASCADE");
    c.query_drop("ALTER TABLE p ADD COLUMN extra INT DEFAULT 7")
        .await
        .unwrap();
    c.query_drop("ALTER TABLE p ADD INDEX by_name (name)")
        .await
        .unwrap();
    c.query_drop("CREATE UNIQUE INDEX by_extra ON p (extra, id)")
        .await
        .unwrap();
    let idx: Vec<mysql_async::Row> = c.query("SHOW INDEX FROM p").await.unwrap();
    assert!(idx.len() >= 3);
    c.query_drop("DROP INDEX by_extra ON p").await.unwrap();
    c.query_drop("ALTER TABLE p RENAME COLUMN extra TO more")
        .await
        .unwrap();
    let m: i64 = c
        .query_first("SELECT more FROM p WHERE id = 2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m, 7);
    c.query_drop("ALTER TABLE p DROP COLUMN more")
        .await
        .unwrap();
    c.query_drop("ALTER TABLE p RENAME TO parent")
        .await
        .unwrap();
    let cols: Vec<mysql_async::Row> = c.query("SHOW COLUMNS FROM parent").await.unwrap();
    assert_eq!(cols.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_and_bad_statements_get_clear_errors() {
    let s = Server::start(&[]);
    let mut c = s.conn_db("bad").await;
    let e = server_error(c.query_drop("SELEKT 1").await);
    assert_eq!((e.code, e.state.as_str()), (1064, "42000"));
    assert!(e.message.contains("SELEKT"), "{}", e.message);
    let e = server_error(c.query_drop("XA START 'x'").await);
    assert!(e.code == 1235 || e.code == 1064, "{e:?}");
    assert_eq!(
        code_of(c.query_drop("SET @@no_such_variable = 1").await),
        1193
    );
    assert_eq!(
        code_of(c.query_drop("SET GLOBAL version = 'x'").await),
        1238
    );
    assert_eq!(
        code_of(
            c.query_drop("SELECT no_such_column FROM information_schema.TABLES")
                .await
        ),
        1054
    );
    // The session survives all of that.
    let one: i64 = c.query_first("SELECT 1").await.unwrap().unwrap();
    assert_eq!(one, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_status_and_read_only() {
    let s = Server::start(&[]);
    let mut c = s.conn_db("vars").await;
    let (v, p): (String, i64) = c
        .query_first("SELECT @@version_comment, @@max_allowed_packet")
        .await
        .unwrap()
        .unwrap();
    assert!(v.contains("Borealis"));
    assert!(p >= 1 << 20);
    let vars: Vec<(String, String)> = c
        .query("SHOW VARIABLES LIKE 'auto_increment%'")
        .await
        .unwrap();
    assert_eq!(vars.len(), 2);
    let w: Vec<(String, String)> = c
        .query("SHOW SESSION VARIABLES WHERE Variable_name = 'autocommit'")
        .await
        .unwrap();
    assert_eq!(w, vec![("autocommit".to_string(), "ON".to_string())]);
    let q: Vec<(String, String)> = c
        .query("SHOW GLOBAL STATUS LIKE 'Questions'")
        .await
        .unwrap();
    assert!(q[0].1.parse::<u64>().unwrap() > 0);
    c.query_drop("CREATE TABLE t (v INT)").await.unwrap();
    c.query_drop("SET GLOBAL read_only = ON").await.unwrap();
    let e = server_error(c.query_drop("INSERT INTO t VALUES (1)").await);
    assert_eq!(e.code, 1290);
    assert!(e.message.contains("read-only"), "{}", e.message);
    let n: i64 = c
        .query_first("SELECT count(*) FROM t")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 0, "reads continue in read-only mode");
    c.query_drop("SET GLOBAL read_only = OFF").await.unwrap();
    c.query_drop("INSERT INTO t VALUES (1)").await.unwrap();
    c.query_drop("SET @a = 40").await.unwrap();
    let a: i64 = c.query_first("SELECT @a + 2").await.unwrap().unwrap();
    assert_eq!(a, 42);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn found_rows_counts_without_limit() {
    let s = Server::start(&[]);
    let mut c = s.conn_db("fr").await;
    c.query_drop("CREATE TABLE t (id INT PRIMARY KEY, g INT)")
        .await
        .unwrap();
    c.query_drop("INSERT INTO t VALUES (1,1),(2,1),(3,1),(4,2),(5,2)")
        .await
        .unwrap();
    let page: Vec<i64> = c
        .query("SELECT SQL_CALC_FOUND_ROWS id FROM t WHERE g = 1 ORDER BY id LIMIT 1, 1")
        .await
        .unwrap();
    assert_eq!(page, vec![2]);
    let total: i64 = c.query_first("SELECT FOUND_ROWS()").await.unwrap().unwrap();
    assert_eq!(total, 3);
    // With a placeholder in LIMIT (binary protocol).
    let page: Vec<i64> = c
        .exec(
            "SELECT SQL_CALC_FOUND_ROWS id FROM t WHERE g = ? LIMIT ?",
            (2, 1),
        )
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    let total: i64 = c.query_first("SELECT FOUND_ROWS()").await.unwrap().unwrap();
    assert_eq!(total, 2);
    // Without SQL_CALC_FOUND_ROWS: the rows the last SELECT returned.
    let _: Vec<i64> = c.query("SELECT id FROM t LIMIT 4").await.unwrap();
    let n: i64 = c.query_first("SELECT FOUND_ROWS()").await.unwrap().unwrap();
    assert_eq!(n, 4);
}

/// AUTO_INCREMENT as in MySQL: the table's start value, ALTER TABLE … AUTO_INCREMENT (never
/// below the largest id), explicit ids moving the counter, TRUNCATE starting over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_increment_start_alter_and_truncate() {
    let s = Server::start(&[]);
    let mut c = s.conn_db("ai").await;
    c.query_drop("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v INT) AUTO_INCREMENT=100")
        .await
        .unwrap();
    async fn insert(c: &mut mysql_async::Conn, rows: &str) -> u64 {
        c.query_drop(format!("INSERT INTO t (v) VALUES {rows}"))
            .await
            .unwrap();
        c.last_insert_id().unwrap()
    }
    assert_eq!(insert(&mut c, "(1)").await, 100);
    assert_eq!(insert(&mut c, "(2), (2), (2)").await, 101);
    c.query_drop("INSERT INTO t VALUES (500, 3)").await.unwrap();
    assert_eq!(insert(&mut c, "(4)").await, 501);
    c.query_drop("ALTER TABLE t AUTO_INCREMENT = 1000")
        .await
        .unwrap();
    let create: (String, String) = c.query_first("SHOW CREATE TABLE t").await.unwrap().unwrap();
    assert!(create.1.contains("AUTO_INCREMENT=1000"), "{}", create.1);
    assert_eq!(insert(&mut c, "(5)").await, 1000);
    // A start below the largest id means the largest id plus one.
    c.query_drop("ALTER TABLE t AUTO_INCREMENT = 7")
        .await
        .unwrap();
    assert_eq!(insert(&mut c, "(6)").await, 1001);
    c.query_drop("CREATE TABLE u (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
        .await
        .unwrap();
    c.query_drop("INSERT INTO u (v) VALUES (1), (2), (3)")
        .await
        .unwrap();
    c.query_drop("TRUNCATE TABLE u").await.unwrap();
    c.query_drop("INSERT INTO u (v) VALUES (4)").await.unwrap();
    let ids: Vec<(i64, i64)> = c.query("SELECT id, v FROM u").await.unwrap();
    assert_eq!(ids, vec![(1, 4)], "TRUNCATE starts the ids over");
}

/// A plain INSERT … VALUES text runs as a shape with bound values; a comment makes the same
/// text take the ordinary path. Both must store exactly the same values, types and ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_insert_values_store_what_the_ordinary_path_stores() {
    let s = Server::start(&[]);
    let mut c = s.conn_db("lit").await;
    let columns = "(id BIGINT AUTO_INCREMENT PRIMARY KEY, i INT, u INT UNSIGNED, d DECIMAL(12,3), \
                   f DOUBLE, vc VARCHAR(20), dt DATETIME, dd DATE, y YEAR, e ENUM('a','b'), \
                   b VARBINARY(8), j JSON, ok BOOL)";
    for table in ["split", "plain"] {
        c.query_drop(format!("CREATE TABLE {table} {columns}"))
            .await
            .unwrap();
    }
    let rows = [
        "(0, 1, 2, 3, 4, 'x', '2020-01-02 03:04:05', '2020-01-02', 2020, 'a', 'bin', '{\"k\": 1}', 1)",
        "(NULL, -5, 0, -7, -8, 'it''s', NULL, NULL, NULL, 'b', '', '[]', 0)",
        "(NULL, 2147483647, 4294967295, '123456789.125', '1.5', '12', '2021-06-30', '2021-06-30', '1999', 'b', 'x', 'null', NULL)",
        "(7, '42', '0', '0.000', '0', 'é漢字', 20200102030405, 20200102, 99, '', '?', '\"s\"', '1')",
    ];
    for (n, values) in rows.iter().enumerate() {
        let split = c
            .query_drop(format!("INSERT INTO split VALUES {values}"))
            .await
            .map(|()| c.last_insert_id());
        let plain = c
            .query_drop(format!("INSERT /* ordinary */ INTO plain VALUES {values}"))
            .await
            .map(|()| c.last_insert_id());
        match (split, plain) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "row {n}: insert ids"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "row {n}: errors"),
            (a, b) => panic!("row {n}: {a:?} vs {b:?}"),
        }
    }
    c.query_drop("INSERT INTO split (i, vc) VALUES (1, 'a'), (2, 'b'), (3, 'c')")
        .await
        .unwrap();
    let first_split = c.last_insert_id();
    c.query_drop("INSERT /**/ INTO plain (i, vc) VALUES (1, 'a'), (2, 'b'), (3, 'c')")
        .await
        .unwrap();
    assert_eq!(first_split, c.last_insert_id(), "multi-row insert id");
    let dump = |table: &str| {
        format!(
            "SELECT id, i, u, d, f, vc, dt, dd, y, e, HEX(b), j, ok, \
             CONCAT_WS(',', i, u, d, f, vc) FROM {table} ORDER BY id"
        )
    };
    let a: Vec<mysql_async::Row> = c.query(dump("split")).await.unwrap();
    let b: Vec<mysql_async::Row> = c.query(dump("plain")).await.unwrap();
    let values = |rows: Vec<mysql_async::Row>| -> Vec<Vec<mysql_async::Value>> {
        rows.into_iter().map(|r| r.unwrap()).collect()
    };
    let (a, b) = (values(a), values(b));
    assert_eq!(a.len(), 7, "every row inserted");
    let (_, split): (String, u64) = c
        .query_first("SHOW GLOBAL STATUS LIKE 'Borealis_parameterized_inserts'")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(split, 5, "the texts without a comment ran as shapes");
    assert_eq!(a, b);
    // Errors are the ordinary path's: a duplicate key, a bad enum value, an unknown table or
    // column, a wrong value count.
    for sql in [
        "INSERT INTO split (id) VALUES (7)",
        "INSERT INTO split (e) VALUES ('zz')",
        "INSERT INTO nosuch VALUES (1)",
        "INSERT INTO split (nosuch) VALUES (1)",
        "INSERT INTO split (i, u) VALUES (1)",
    ] {
        let split = server_error(c.query_drop(sql).await);
        let plain = server_error(c.query_drop(sql.replacen(" INTO", " /**/ INTO", 1)).await);
        assert_eq!(
            (split.code, &split.message),
            (plain.code, &plain.message),
            "{sql}"
        );
        assert!(
            matches!(split.code, 1062 | 1054 | 1136 | 1146 | 3819),
            "{sql}: {}",
            split.message
        );
    }
}
