"""PyMySQL (text protocol) through the server: types, transactions, errors, batches, big values."""

from __future__ import annotations

import datetime
import hashlib
import os
from decimal import Decimal

import pymysql
import pytest
from pymysql.constants import CLIENT

# ----------------------------------------------------------------------------- types

ALL_BYTES = bytes(range(256))

# (column type, values to round-trip, expected python type of non-NULL values)
TYPE_CASES = [
    ("INT", [0, 1, -1, 2147483647, -2147483648], int),
    ("BIGINT", [9223372036854775807, -9223372036854775808, 42], int),
    ("BIGINT UNSIGNED", [0, 18446744073709551615, 9223372036854775808], int),
    ("TINYINT", [127, -128, 0], int),
    (
        "DECIMAL(20,6)",
        [Decimal("0.000000"), Decimal("12345678901234.567890"), Decimal("-0.000001")],
        Decimal,
    ),
    ("DOUBLE", [0.0, 3.141592653589793, -1.5e300, 2.5e-300], float),
    ("FLOAT", [0.0, 1.5, -2.25], float),
    (
        "VARCHAR(64) CHARACTER SET utf8mb4",
        ["", "plain ascii", "Grüße, Ελληνικά, 日本語", "emoji 😀🚀 ok", "quote ' \" \\ back"],
        str,
    ),
    ("TEXT", ["", "line1\nline2\ttab", "ünïcödé " * 1000], str),
    ("BLOB", [b"", ALL_BYTES, b"\x00" * 100, bytes(reversed(ALL_BYTES)) * 4], bytes),
    ("DATE", [datetime.date(2024, 2, 29), datetime.date(1000, 1, 1), datetime.date(9999, 12, 31)], datetime.date),
    (
        "DATETIME",
        [datetime.datetime(2024, 2, 29, 23, 59, 58), datetime.datetime(1970, 1, 1, 0, 0, 0)],
        datetime.datetime,
    ),
    (
        "DATETIME(6)",
        [datetime.datetime(2024, 5, 6, 7, 8, 9, 123456)],
        datetime.datetime,
    ),
    (
        "TIME",
        [datetime.timedelta(0), datetime.timedelta(hours=13, minutes=14, seconds=15),
         datetime.timedelta(hours=100, seconds=1)],
        datetime.timedelta,
    ),
]


def _type_id(coltype: str) -> str:
    return coltype.split()[0] + ("_UNSIGNED" if "UNSIGNED" in coltype else "")


@pytest.mark.parametrize("coltype,values,pytype", TYPE_CASES, ids=[_type_id(c[0]) for c in TYPE_CASES])
def test_type_round_trip(conn, coltype, values, pytype):
    values = values + [None]
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE rt (id INT PRIMARY KEY, v {coltype} NULL)")
        for i, v in enumerate(values):
            assert cur.execute("INSERT INTO rt (id, v) VALUES (%s, %s)", (i, v)) == 1
        cur.execute("SELECT id, v FROM rt ORDER BY id")
        rows = cur.fetchall()
    assert [r[0] for r in rows] == list(range(len(values)))
    for (_, got), want in zip(rows, values):
        if want is None:
            assert got is None
            continue
        assert type(got) is pytype, f"{coltype}: {got!r} is {type(got).__name__}, want {pytype.__name__}"
        if pytype is float:
            assert got == pytest.approx(want, rel=1e-6 if coltype == "FLOAT" else 1e-15)
        else:
            assert got == want


def test_all_types_in_one_row_with_where_params(conn):
    with conn.cursor() as cur:
        cur.execute(
            """CREATE TABLE everything (
                 id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
                 i INT, bu BIGINT UNSIGNED, d DECIMAL(12,3), f DOUBLE,
                 vc VARCHAR(100) CHARACTER SET utf8mb4, t TEXT, b BLOB,
                 dt DATE, dtt DATETIME, tm TIME, n INT NULL
               ) DEFAULT CHARSET=utf8mb4"""
        )
        row = (
            -7, 18446744073709551615, Decimal("-123456789.125"), 6.02214076e23,
            "naïve café ☕ 🐧", "long " * 500, ALL_BYTES,
            datetime.date(2001, 9, 9), datetime.datetime(2001, 9, 9, 1, 46, 40),
            datetime.timedelta(hours=-1, minutes=0), None,
        )
        cur.execute(
            "INSERT INTO everything (i, bu, d, f, vc, t, b, dt, dtt, tm, n) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            row,
        )
        new_id = cur.lastrowid
        assert new_id > 0
        cur.execute("SELECT LAST_INSERT_ID()")
        assert cur.fetchone()[0] == new_id
        cur.execute(
            "SELECT i, bu, d, f, vc, t, b, dt, dtt, tm, n FROM everything "
            "WHERE vc = %s AND b = %s AND bu = %s AND n IS NULL",
            (row[4], ALL_BYTES, row[1]),
        )
        got = cur.fetchall()
    assert len(got) == 1
    assert got[0] == row


def test_select_expressions_and_metadata(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT 1 + 1 AS two, 'a' AS s, NULL AS n, 2.5 AS d, CONCAT('x', 'y') AS c")
        assert cur.fetchone() == (2, "a", None, Decimal("2.5"), "xy")
        assert [d[0] for d in cur.description] == ["two", "s", "n", "d", "c"]
        cur.execute("SELECT DATABASE(), @@autocommit, VERSION()")
        dbname, autocommit, version = cur.fetchone()
    assert dbname == conn.db.decode()
    assert autocommit == 1
    assert isinstance(version, str) and version


def test_show_databases_and_tables(conn, db):
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE alpha (id INT PRIMARY KEY)")
        cur.execute("CREATE TABLE beta (id INT PRIMARY KEY, name VARCHAR(10))")
        cur.execute("SHOW DATABASES")
        assert db in {r[0] for r in cur.fetchall()}
        cur.execute("SHOW TABLES")
        assert sorted(r[0] for r in cur.fetchall()) == ["alpha", "beta"]
        cur.execute("DESCRIBE beta")
        assert [r[0] for r in cur.fetchall()] == ["id", "name"]


def test_update_delete_rowcounts(conn):
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE c (id INT PRIMARY KEY, v INT NOT NULL)")
        cur.executemany("INSERT INTO c VALUES (%s, %s)", [(i, i % 3) for i in range(30)])
        assert cur.execute("UPDATE c SET v = v + 10 WHERE v = %s", (1,)) == 10
        assert cur.execute("DELETE FROM c WHERE v >= %s", (10,)) == 10
        cur.execute("SELECT COUNT(*), SUM(v) FROM c")
        count, total = cur.fetchone()
    assert count == 20
    assert total == Decimal(20)  # ten rows with v == 2, ten with v == 0; SUM(INT) is DECIMAL


# ----------------------------------------------------------------------------- transactions


def _count(server, db, table="tx"):
    other = server.connect(database=db, autocommit=True)
    try:
        with other.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM {table}")
            return cur.fetchone()[0]
    finally:
        other.close()


def test_transaction_commit_and_rollback(server, conn, db):
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE tx (id INT PRIMARY KEY)")
    conn.autocommit(False)
    with conn.cursor() as cur:
        cur.execute("SELECT @@autocommit")
        assert cur.fetchone()[0] == 0
        cur.execute("INSERT INTO tx VALUES (1), (2)")
        assert _count(server, db) == 0, "uncommitted rows visible to another session"
        conn.rollback()
        cur.execute("SELECT COUNT(*) FROM tx")
        assert cur.fetchone()[0] == 0
        cur.execute("INSERT INTO tx VALUES (3)")
        conn.commit()
    assert _count(server, db) == 1


def test_explicit_transaction_with_autocommit_on(server, conn, db):
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE tx (id INT PRIMARY KEY)")
        cur.execute("START TRANSACTION")
        cur.execute("INSERT INTO tx VALUES (1)")
        assert _count(server, db) == 0
        cur.execute("ROLLBACK")
        assert _count(server, db) == 0
        cur.execute("BEGIN")
        cur.execute("INSERT INTO tx VALUES (2)")
        cur.execute("COMMIT")
        assert _count(server, db) == 1
        cur.execute("INSERT INTO tx VALUES (4)")  # autocommit: visible at once
        assert _count(server, db) == 2


def test_autocommit_toggle_by_sql(server, conn, db):
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE tx (id INT PRIMARY KEY)")
        cur.execute("SET autocommit = 0")
        cur.execute("SELECT @@autocommit")
        assert cur.fetchone()[0] == 0
        cur.execute("INSERT INTO tx VALUES (1)")
        assert _count(server, db) == 0
        cur.execute("SET autocommit = 1")  # commits the open transaction, as in MySQL
        assert _count(server, db) == 1


def test_snapshot_read_within_transaction(server, conn, db):
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE tx (id INT PRIMARY KEY)")
        cur.execute("INSERT INTO tx VALUES (1)")
    conn.autocommit(False)
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM tx")  # takes the snapshot (REPEATABLE READ)
        assert cur.fetchone()[0] == 1
        writer = server.connect(database=db, autocommit=True)
        try:
            with writer.cursor() as wcur:
                wcur.execute("INSERT INTO tx VALUES (2)")
        finally:
            writer.close()
        cur.execute("SELECT COUNT(*) FROM tx")
        assert cur.fetchone()[0] == 1, "repeatable read: snapshot must not move"
        conn.commit()
        cur.execute("SELECT COUNT(*) FROM tx")
        assert cur.fetchone()[0] == 2


# ----------------------------------------------------------------------------- errors


def _error_code(excinfo) -> int:
    return excinfo.value.args[0]


def test_error_1064_syntax(conn):
    with conn.cursor() as cur:
        with pytest.raises(pymysql.err.ProgrammingError) as e:
            cur.execute("SELEC 1")
        assert _error_code(e) == 1064
        cur.execute("SELECT 1")  # the session survives
        assert cur.fetchone() == (1,)


def test_error_1146_no_table(conn):
    with conn.cursor() as cur:
        with pytest.raises(pymysql.err.ProgrammingError) as e:
            cur.execute("SELECT * FROM no_such_table")
        assert _error_code(e) == 1146
        assert "no_such_table" in e.value.args[1]


def test_error_1062_duplicate_key(conn):
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE u (id INT PRIMARY KEY, email VARCHAR(50), UNIQUE KEY email_uk (email))")
        cur.execute("INSERT INTO u VALUES (1, 'a@example.org')")
        with pytest.raises(pymysql.err.IntegrityError) as e:
            cur.execute("INSERT INTO u VALUES (1, 'b@example.org')")
        assert _error_code(e) == 1062
        with pytest.raises(pymysql.err.IntegrityError) as e:
            cur.execute("INSERT INTO u VALUES (2, 'a@example.org')")
        assert _error_code(e) == 1062
        cur.execute("SELECT COUNT(*) FROM u")
        assert cur.fetchone()[0] == 1


def test_error_1045_bad_password(password_server):
    srv, password = password_server
    with pytest.raises(pymysql.err.OperationalError) as e:
        srv.connect(password=password + "-wrong")
    assert _error_code(e) == 1045
    with pytest.raises(pymysql.err.OperationalError) as e:
        srv.connect(password="")
    assert _error_code(e) == 1045
    good = srv.connect(password=password)
    try:
        with good.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
    finally:
        good.close()


def test_error_1046_no_database_selected(server):
    c = server.connect(database=None, autocommit=True)
    try:
        with c.cursor() as cur:
            with pytest.raises(pymysql.err.OperationalError) as e:
                cur.execute("CREATE TABLE t (id INT)")
            assert _error_code(e) == 1046
            cur.execute("SELECT DATABASE()")
            assert cur.fetchone() == (None,)
    finally:
        c.close()


def test_error_1049_unknown_database(server, conn):
    with conn.cursor() as cur:
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.execute("USE no_such_database_xyz")
        assert _error_code(e) == 1049
    with pytest.raises(pymysql.err.OperationalError) as e:
        server.connect(database="no_such_database_xyz")
    assert _error_code(e) == 1049


def test_use_switches_database(server, make_db):
    a, b = make_db("a"), make_db("b")
    c = server.connect(database=a, autocommit=True)
    try:
        with c.cursor() as cur:
            cur.execute("CREATE TABLE only_in_a (id INT PRIMARY KEY)")
            cur.execute(f"USE `{b}`")
            cur.execute("SELECT DATABASE()")
            assert cur.fetchone() == (b,)
            with pytest.raises(pymysql.err.ProgrammingError) as e:
                cur.execute("SELECT * FROM only_in_a")
            assert _error_code(e) == 1146
            cur.execute(f"SELECT COUNT(*) FROM `{a}`.only_in_a")
            assert cur.fetchone() == (0,)
    finally:
        c.close()


# ----------------------------------------------------------------------------- batches


def test_executemany_insert_and_update(conn):
    rows = [(i, f"name-{i}-ä", i * 1.25) for i in range(1000)]
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE m (id INT PRIMARY KEY, name VARCHAR(40), score DOUBLE)")
        assert cur.executemany("INSERT INTO m (id, name, score) VALUES (%s, %s, %s)", rows) == 1000
        assert cur.executemany("UPDATE m SET score = %s WHERE id = %s", [(-1.0, i) for i in range(0, 1000, 10)]) == 100
        cur.execute("SELECT id, name, score FROM m ORDER BY id")
        got = cur.fetchall()
    want = [(i, n, -1.0 if i % 10 == 0 else s) for i, n, s in rows]
    assert list(got) == want


def test_multi_statement(server, db):
    c = server.connect(database=db, autocommit=True, client_flag=CLIENT.MULTI_STATEMENTS)
    try:
        with c.cursor() as cur:
            cur.execute(
                "CREATE TABLE ms (id INT PRIMARY KEY); INSERT INTO ms VALUES (1), (2), (3); "
                "SELECT COUNT(*) FROM ms; SELECT 'x', 'y'; UPDATE ms SET id = id + 10 WHERE id > 1"
            )
            results = []
            for _ in range(10):  # bounded: five statements were sent
                results.append((cur.rowcount, cur.fetchall() if cur.description else None))
                if not cur.nextset():
                    break
        assert len(results) == 5
        assert results[1][0] == 3
        assert results[2][1] == ((3,),)
        assert results[3][1] == (("x", "y"),)
        assert results[4][0] == 2
        # an error in the middle stops the batch and reports the error
        with c.cursor() as cur:
            with pytest.raises(pymysql.err.ProgrammingError) as e:
                cur.execute("SELECT 1; SELECT * FROM missing_table; SELECT 3")
                for _ in range(10):
                    if not cur.nextset():
                        break
            assert _error_code(e) == 1146
        with c.cursor() as cur:
            cur.execute("SELECT 42")
            assert cur.fetchone() == (42,)
    finally:
        c.close()


def test_multi_statement_refused_without_flag(conn):
    with conn.cursor() as cur:
        with pytest.raises(pymysql.err.ProgrammingError) as e:
            cur.execute("SELECT 1; SELECT 2")
        assert _error_code(e) == 1064


# ----------------------------------------------------------------------------- large values


def test_max_allowed_packet_default(server, conn):
    if not server.is_borealis:
        pytest.skip("Borealis default only")
    with conn.cursor() as cur:
        cur.execute("SELECT @@max_allowed_packet")
        assert cur.fetchone()[0] >= 64 * 1024 * 1024


def test_large_blob_round_trip(server, db):
    payload = os.urandom(20 * 1024 * 1024)
    c = server.connect(database=db, autocommit=True, max_allowed_packet=64 * 1024 * 1024)
    try:
        with c.cursor() as cur:
            cur.execute("CREATE TABLE big (id INT PRIMARY KEY, data LONGBLOB)")
            cur.execute("INSERT INTO big VALUES (%s, %s)", (1, payload))
            cur.execute("SELECT LENGTH(data) FROM big WHERE id = 1")
            assert cur.fetchone() == (len(payload),)
            cur.execute("SELECT data FROM big WHERE id = 1")
            (got,) = cur.fetchone()
    finally:
        c.close()
    assert len(got) == len(payload)
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(payload).hexdigest()
