"""The README's default: `borealis up` as a local cluster (page service, 2 instances, endpoints),
reached with the mysql CLI, PyMySQL and sysbench.

Each instance takes writes; REGIONAL_RAW reads another instance's acknowledged write; ids step
by 16 from the slot; one sysbench per instance runs oltp_read_write at once (conflicts, 1213,
are retried by sysbench), and both instances end with the same data.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pymysql
import pytest

from conftest import borealis_bin, _against

READY_TIMEOUT_S = 60.0
STOP_GRACE_S = 15.0
READY = re.compile(rb"Borealis ready: cluster 127\.0\.0\.1:(\d+).*")
INSTANCE = re.compile(rb"instance-(\d+) 127\.0\.0\.1:(\d+)")

pytestmark = pytest.mark.skipif(_against() is not None, reason="Borealis cluster only")


@pytest.fixture(scope="module")
def cluster():
    data_dir = Path(tempfile.mkdtemp(prefix="borealis-cluster-"))
    log_path = data_dir.parent / (data_dir.name + ".log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(borealis_bin()), "up", "--data", str(data_dir), "--port", "0"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:  # bounded by READY_TIMEOUT_S
            text = log_path.read_bytes()
            m = READY.search(text)
            if m:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"borealis up did not start:\n{text[-3000:].decode(errors='replace')}")
            time.sleep(0.1)
        ports = {int(s): int(p) for s, p in INSTANCE.findall(m.group(0))}
        yield {"cluster": int(m.group(1)), "instances": ports, "data": data_dir}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(data_dir, ignore_errors=True)
        log_path.unlink(missing_ok=True)


def connect(port: int, **kw) -> pymysql.connections.Connection:
    return pymysql.connect(
        host="127.0.0.1", port=port, user="root", password="", autocommit=True,
        connect_timeout=10, read_timeout=120, write_timeout=120, **kw,
    )


def test_default_up_is_a_two_instance_cluster(cluster):
    assert sorted(cluster["instances"]) == [1, 2]
    with connect(cluster["cluster"]) as c, c.cursor() as cur:
        cur.execute("SELECT @@borealis_slot, @@auto_increment_increment")
        assert cur.fetchone() == (1, 16), "the cluster endpoint reaches slot 1"


def test_mysql_cli_through_the_cluster_endpoint(cluster):
    sql = (
        "CREATE DATABASE IF NOT EXISTS cli; "
        "CREATE TABLE cli.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20)); "
        "INSERT INTO cli.t (v) VALUES ('a'), ('b'); "
        "SELECT id, v FROM cli.t ORDER BY id;"
    )
    out = subprocess.run(
        ["mysql", "-h127.0.0.1", f"-P{cluster['cluster']}", "-uroot", "-N", "-B", "-e", sql],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["1\ta", "17\tb"]


def test_regional_raw_reads_a_write_from_the_other_instance(cluster):
    p1, p2 = cluster["instances"][1], cluster["instances"][2]
    with connect(p1) as a, connect(p2) as b, a.cursor() as ca, b.cursor() as cb:
        ca.execute("CREATE DATABASE IF NOT EXISTS raw")
        ca.execute("CREATE TABLE raw.kv (k INT PRIMARY KEY, v INT)")
        ca.execute("INSERT INTO raw.kv VALUES (1, 0)")
        cb.execute("SET SESSION aurora_mm_session_consistency_level = 'REGIONAL_RAW'")
        for i in range(1, 301):
            ca.execute("UPDATE raw.kv SET v = %s WHERE k = 1", (i,))
            cb.execute("SELECT v FROM raw.kv WHERE k = 1")
            assert cb.fetchone() == (i,)
        cb.execute("INSERT INTO raw.kv (k, v) VALUES (2, 2)")
        with pytest.raises(pymysql.err.MySQLError) as e:
            cb.execute("BEGIN")
            cb.execute("SET SESSION aurora_mm_session_consistency_level = 'INSTANCE_RAW'")
        cb.execute("ROLLBACK")
        assert e.value.args[0] in (1231, 1568), e.value


@pytest.mark.skipif(shutil.which("sysbench") is None, reason="sysbench not installed")
def test_sysbench_on_both_instances_at_once(cluster):
    p1, p2 = cluster["instances"][1], cluster["instances"][2]
    with connect(p1) as c, c.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS sbc")
    common = ["--mysql-host=127.0.0.1", "--mysql-user=root", "--mysql-db=sbc",
              "--tables=2", "--table-size=1000"]
    prep = subprocess.run(["sysbench", "oltp_read_write", f"--mysql-port={p1}", *common, "prepare"],
                          capture_output=True, text=True, timeout=180)
    assert prep.returncode == 0, prep.stdout + prep.stderr
    results = {}

    def run(slot: int, port: int) -> None:
        results[slot] = subprocess.run(
            ["sysbench", "oltp_read_write", f"--mysql-port={port}", *common, "--threads=2",
             "--time=4", "--mysql-ignore-errors=1213", "run"],
            capture_output=True, text=True, timeout=120,
        )

    threads = [threading.Thread(target=run, args=(s, p)) for s, p in ((1, p1), (2, p2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for slot, r in results.items():
        assert r.returncode == 0 and "FATAL" not in r.stdout + r.stderr, r.stdout + r.stderr
        m = re.search(r"transactions:\s+(\d+)", r.stdout)
        assert m and int(m.group(1)) > 0, f"slot {slot}: no transactions\n{r.stdout}"
    checksums = []
    for port in (p1, p2):
        with connect(port) as c, c.cursor() as cur:
            cur.execute("SET SESSION aurora_mm_session_consistency_level = 'REGIONAL_RAW'")
            cur.execute("SELECT COUNT(*), SUM(k), SUM(LENGTH(c)) FROM sbc.sbtest1")
            checksums.append(cur.fetchone())
    assert checksums[0] == checksums[1], "both instances see the same data"
