"""Every bundled sysbench OLTP test, with and without server-side prepared statements.

Each case: prepare (2 tables x 1000 rows), run 3 s with 4 threads, cleanup. Conflicts (1213) are
expected under concurrency and retried by sysbench itself (--mysql-ignore-errors=1213).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

TESTS = [
    "oltp_read_only",
    "oltp_read_write",
    "oltp_write_only",
    "oltp_point_select",
    "oltp_update_index",
    "oltp_update_non_index",
    "oltp_insert",
    "oltp_delete",
    "select_random_points",
    "select_random_ranges",
    "bulk_insert",
]
PS_MODES = ["auto", "disable"]
# These two scripts assert --tables == 1 (sysbench 1.0.20); all others use 2 tables.
SINGLE_TABLE_TESTS = {"select_random_points", "select_random_ranges"}
THREADS = 4
RUN_SECONDS = 3
# Bounds for one sysbench step; a hung server fails the case instead of hanging the suite.
PREPARE_TIMEOUT_S = 120
RUN_TIMEOUT_S = RUN_SECONDS + 60

TRANSACTIONS_RE = re.compile(r"^\s*transactions:\s+(\d+)\s+\(", re.MULTILINE)
FATAL_RE = re.compile(r"FATAL|Segmentation fault|Assertion", re.IGNORECASE)


def _sysbench() -> str:
    path = shutil.which("sysbench")
    if path is None:
        pytest.fail("sysbench not found: install Debian's sysbench (.ci/run does)", pytrace=False)
    return path


def _run(
    server, test: str, db: str, ps_mode: str, command: str, timeout: int, *extra: str, check: bool = True
) -> str:
    cmd = [
        _sysbench(),
        test,
        "--db-driver=mysql",
        f"--mysql-host={server.host}",
        f"--mysql-port={server.port}",
        f"--mysql-user={server.user}",
        f"--mysql-password={server.password}",
        f"--mysql-db={db}",
        f"--db-ps-mode={ps_mode}",
        "--mysql-ignore-errors=1213",
        f"--tables={1 if test in SINGLE_TABLE_TESTS else 2}",
        "--table-size=1000",
        f"--threads={THREADS}",  # bulk_insert creates one table per thread in prepare
        *extra,
        command,
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"sysbench {test} {command} did not finish within {timeout} s; output:\n{e.stdout}")
    output = proc.stdout + proc.stderr
    if not check:
        return output
    assert proc.returncode == 0, f"sysbench {test} {command} exited {proc.returncode}:\n{output[-4000:]}"
    assert not FATAL_RE.search(output), f"sysbench {test} {command} reported a fatal error:\n{output[-4000:]}"
    return output


@pytest.mark.parametrize("ps_mode", PS_MODES)
@pytest.mark.parametrize("test", TESTS)
def test_sysbench(server, make_db, test, ps_mode):
    db = make_db("sb")
    _run(server, test, db, ps_mode, "prepare", PREPARE_TIMEOUT_S)
    try:
        out = _run(server, test, db, ps_mode, "run", RUN_TIMEOUT_S, f"--time={RUN_SECONDS}", "--events=0")
    except BaseException:
        # Best-effort cleanup that must not mask the failure of the run.
        _run(server, test, db, ps_mode, "cleanup", PREPARE_TIMEOUT_S, check=False)
        raise
    match = TRANSACTIONS_RE.search(out)
    assert match, f"no transactions line in sysbench output:\n{out[-4000:]}"
    assert int(match.group(1)) > 0, f"no transaction completed:\n{out[-4000:]}"
    _run(server, test, db, ps_mode, "cleanup", PREPARE_TIMEOUT_S)
