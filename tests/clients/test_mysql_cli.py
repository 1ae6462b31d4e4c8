"""The `mysql` command-line client and `mysqldump` (Debian's mariadb-client) against the server."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess

import pytest

CLI_TIMEOUT_S = 120  # any single client invocation; a hung server fails the test instead of hanging it


def _tool(*names: str) -> str:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(f"none of {names} found: install Debian's mariadb-client (.ci/run does)", pytrace=False)


def _conn_args(server) -> list[str]:
    # --no-defaults: ignore /etc/mysql/*.cnf (sockets, ssl) of the machine running the tests.
    return ["--no-defaults", "--default-character-set=utf8mb4", "--protocol=TCP", "-h", server.host, "-P", str(server.port), "-u", server.user]


def _env(server) -> dict:
    env = dict(os.environ)
    env["MYSQL_PWD"] = server.password  # keeps the password off the command line
    return env


def mysql(server, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [_tool("mysql", "mariadb"), *_conn_args(server), *args]
    proc = subprocess.run(
        cmd, input=stdin, capture_output=True, text=True, timeout=CLI_TIMEOUT_S, env=_env(server)
    )
    if check and proc.returncode != 0:
        pytest.fail(f"{cmd} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def mysqldump(server, *args: str) -> bytes:
    """The dump as bytes: BLOB columns are written raw, so it is not valid UTF-8."""
    cmd = [_tool("mysqldump", "mariadb-dump"), *_conn_args(server), *args]
    proc = subprocess.run(cmd, capture_output=True, timeout=CLI_TIMEOUT_S, env=_env(server))
    if proc.returncode != 0:
        pytest.fail(f"{cmd} exited {proc.returncode}\nstderr:\n{proc.stderr.decode(errors='replace')}")
    return proc.stdout


def mysql_bytes(server, *args: str, stdin: bytes) -> None:
    cmd = [_tool("mysql", "mariadb"), *_conn_args(server), *args]
    proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=CLI_TIMEOUT_S, env=_env(server))
    if proc.returncode != 0:
        pytest.fail(f"{cmd} exited {proc.returncode}\nstderr:\n{proc.stderr.decode(errors='replace')}")


def test_execute_batch_output(server, db):
    out = mysql(server, "-N", "-B", "-e", "SELECT 1 + 1; SELECT 'a\tb', NULL", db).stdout
    # batch mode escapes TAB inside values and prints NULL as NULL
    assert out.splitlines() == ["2", "a\\tb\tNULL"]


def test_execute_with_headers(server, db):
    out = mysql(server, "-B", "-e", "SELECT 7 AS seven, 'x' AS ex", db).stdout
    assert out.splitlines() == ["seven\tex", "7\tx"]


def test_table_output(server, db):
    mysql(server, "-e", "CREATE TABLE p (id INT PRIMARY KEY, name VARCHAR(20)); INSERT INTO p VALUES (1,'one'),(2,'two')", db)
    out = mysql(server, "--table", "-e", "SELECT id, name FROM p ORDER BY id", db).stdout
    lines = out.splitlines()
    assert lines[0].startswith("+") and lines[0].endswith("+")
    assert [c.strip() for c in lines[1].strip("|").split("|")] == ["id", "name"]
    assert [c.strip() for c in lines[3].strip("|").split("|")] == ["1", "one"]
    assert [c.strip() for c in lines[4].strip("|").split("|")] == ["2", "two"]
    assert len(lines) == 6


def test_error_exit_code_and_message(server, db):
    proc = mysql(server, "-e", "SELEC 1", db, check=False)
    assert proc.returncode == 1
    assert "ERROR 1064 (42000)" in proc.stderr
    proc = mysql(server, db, stdin="SELECT 1;\nSELECT * FROM missing_tbl;\nSELECT 3;\n", check=False)
    assert proc.returncode == 1
    assert "ERROR 1146 (42S02) at line 2" in proc.stderr
    assert "missing_tbl" in proc.stderr
    assert "3" not in proc.stdout.split(), "batch must stop at the first error"


def test_force_continues_after_error(server, db):
    proc = mysql(server, "-N", "--force", db, stdin="SELECT 1;\nSELECT * FROM missing_tbl;\nSELECT 3;\n", check=False)
    assert "ERROR 1146 (42S02) at line 2" in proc.stderr
    assert proc.stdout.split() == ["1", "3"]


DUMP_LIKE_SCRIPT = r"""-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)
--
-- Host: localhost    Database: shop
-- ------------------------------------------------------

/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;
/*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;
/*!40101 SET NAMES utf8mb4 */;
/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;
/*!40103 SET TIME_ZONE='+00:00' */;
/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;
/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;
/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;
/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;

--
-- Table structure for table `customers`
--

DROP TABLE IF EXISTS `customers`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8 */;
CREATE TABLE `customers` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `name` varchar(100) NOT NULL,
  `email` varchar(255) DEFAULT NULL,
  `balance` decimal(10,2) NOT NULL DEFAULT 0.00,
  `created` datetime NOT NULL DEFAULT '2020-01-01 00:00:00',
  PRIMARY KEY (`id`),
  UNIQUE KEY `email` (`email`),
  KEY `idx_name` (`name`)
) ENGINE=InnoDB AUTO_INCREMENT=4 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `customers`
--

LOCK TABLES `customers` WRITE;
/*!40000 ALTER TABLE `customers` DISABLE KEYS */;
INSERT INTO `customers` VALUES (1,'Ana Müller','ana@example.org',10.50,'2021-03-04 05:06:07'),(2,'Bo \'Quote\' Li',NULL,0.00,'2022-01-01 00:00:00'),(3,'Émile 🚲','emile@example.org',-3.25,'2023-12-31 23:59:59');
/*!40000 ALTER TABLE `customers` ENABLE KEYS */;
UNLOCK TABLES;

DROP TABLE IF EXISTS `orders`;
CREATE TABLE `orders` (
  `id` bigint(20) unsigned NOT NULL,
  `customer_id` int(11) NOT NULL,
  `note` text DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `customer_id` (`customer_id`)
) ENGINE=InnoDB DEFAULT CHARSET=latin1;

LOCK TABLES `orders` WRITE;
/*!40000 ALTER TABLE `orders` DISABLE KEYS */;
INSERT INTO `orders` VALUES (10,1,'first\nline'),(11,1,NULL),(12,3,'tab\there');
INSERT INTO `orders` VALUES (13,2,'');
/*!40000 ALTER TABLE `orders` ENABLE KEYS */;
UNLOCK TABLES;
/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;

/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;
/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;
/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
/*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;
/*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;
/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;

-- Dump completed on 2024-01-01  0:00:00
"""


def test_import_dump_like_script(server, db):
    mysql(server, db, stdin=DUMP_LIKE_SCRIPT)
    out = mysql(server, "-N", "-B", "-e",
                "SELECT COUNT(*), SUM(balance) FROM customers; "
                "SELECT name FROM customers WHERE id = 3; "
                "SELECT COUNT(*), SUM(customer_id), COUNT(note) FROM orders; "
                "SELECT email FROM customers WHERE id = 2",
                db).stdout
    assert out.splitlines() == ["3\t7.25", "Émile 🚲", "4\t7\t3", "NULL"]
    # the UNIQUE KEY from the script is enforced
    proc = mysql(server, "-e", "INSERT INTO customers (name, email) VALUES ('x', 'ana@example.org')", db, check=False)
    assert proc.returncode == 1 and "ERROR 1062" in proc.stderr
    # AUTO_INCREMENT continues after the imported ids
    out = mysql(server, "-N", "-B", "-e",
                "INSERT INTO customers (name) VALUES ('new'); SELECT id > 3 FROM customers WHERE name = 'new'", db).stdout
    assert out.split() == ["1"]


SOURCE_TABLES = {
    "people": "SELECT id, name, born, score, photo, note FROM people ORDER BY id",
    "counters": "SELECT k, v FROM counters ORDER BY k",
}


def _content_digest(server, db) -> dict[str, tuple[int, str]]:
    """Per table: row count and a sha256 over the repr of all rows in key order."""
    c = server.connect(database=db)
    try:
        digests = {}
        with c.cursor() as cur:
            for table, query in SOURCE_TABLES.items():
                cur.execute(query)
                rows = cur.fetchall()
                digests[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
        return digests
    finally:
        c.close()


def _fill_source(server, db) -> None:
    c = server.connect(database=db, autocommit=True)
    try:
        with c.cursor() as cur:
            cur.execute(
                "CREATE TABLE people (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(80) NOT NULL, "
                "born DATE, score DECIMAL(8,2), photo BLOB, note TEXT, KEY name_idx (name)) "
                "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
            )
            cur.execute("CREATE TABLE counters (k VARCHAR(20) PRIMARY KEY, v BIGINT UNSIGNED NOT NULL)")
            people = [
                (f"person {i} ✓ 'q' \"dq\" \\", None if i % 7 == 0 else f"19{50 + i % 50}-0{1 + i % 9}-1{i % 10}",
                 f"{i * 3.5:.2f}", bytes((i * j) % 256 for j in range(64)), None if i % 5 == 0 else "n\n" * (i % 4))
                for i in range(1, 301)
            ]
            cur.executemany("INSERT INTO people (name, born, score, photo, note) VALUES (%s, %s, %s, %s, %s)", people)
            cur.executemany("INSERT INTO counters VALUES (%s, %s)", [("a", 1), ("b", 18446744073709551615), ("c", 0)])
    finally:
        c.close()


@pytest.mark.parametrize("options", [[], ["--single-transaction", "--skip-lock-tables"]], ids=["default", "single-transaction"])
def test_mysqldump_and_reimport(server, make_db, options):
    source, target = make_db("dump_src"), make_db("dump_dst")
    _fill_source(server, source)
    dump = mysqldump(server, *options, source)
    assert b"CREATE TABLE `people`" in dump
    assert b"INSERT INTO `people` VALUES" in dump
    mysql_bytes(server, target, stdin=dump)
    want = _content_digest(server, source)
    assert want["people"][0] == 300 and want["counters"][0] == 3
    assert _content_digest(server, target) == want
    # the recreated table keeps its secondary index and primary key
    out = mysql(server, "-N", "-B", "-e", "SHOW INDEX FROM people", target).stdout
    key_names = {line.split("\t")[2] for line in out.splitlines()}
    assert {"PRIMARY", "name_idx"} <= key_names
