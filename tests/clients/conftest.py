"""Client-level test harness: start a Borealis server (or use a running MariaDB) for the tests.

By default every test session starts `target/release/borealis up` on a free 127.0.0.1 port with a
temporary data directory, waits until it accepts MySQL connections, and stops it afterwards
(SIGTERM, then SIGKILL after 10 s) whatever happens.

Environment:
  BOREALIS_BIN            path of the server binary (default: <repo>/target/release/borealis)
  BOREALIS_TEST_AGAINST   `mariadb:PORT` runs the same tests against an already running MariaDB on
                          127.0.0.1:PORT (to validate the harness); Borealis-only assertions skip.
  BOREALIS_TEST_USER      user for BOREALIS_TEST_AGAINST (default root)
  BOREALIS_TEST_PASSWORD  password for BOREALIS_TEST_AGAINST (default empty)
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Iterator, Optional

import pymysql
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BIN = REPO_ROOT / "target" / "release" / "borealis"

READY_TIMEOUT_S = 30.0  # how long a server may take to accept its first connection
STOP_GRACE_S = 10.0  # SIGTERM grace period before SIGKILL
IO_TIMEOUT_S = 120  # per read/write on a client socket: a hung server fails the test, never hangs it


@dataclasses.dataclass
class Server:
    """A MySQL-protocol server the tests talk to."""

    kind: str  # "borealis" or "mariadb"
    host: str
    port: int
    user: str
    password: str
    process: Optional[subprocess.Popen] = None
    data_dir: Optional[Path] = None
    log_path: Optional[Path] = None

    @property
    def is_borealis(self) -> bool:
        return self.kind == "borealis"

    def connect(self, database: Optional[str] = None, **kwargs) -> pymysql.connections.Connection:
        """Open a PyMySQL connection (utf8mb4, bounded timeouts)."""
        params = dict(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=database,
            charset="utf8mb4",
            connect_timeout=10,
            read_timeout=IO_TIMEOUT_S,
            write_timeout=IO_TIMEOUT_S,
        )
        params.update(kwargs)
        return pymysql.connect(**params)

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no server log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def borealis_bin() -> Path:
    path = Path(os.environ.get("BOREALIS_BIN", str(DEFAULT_BIN)))
    if not path.is_file():
        pytest.fail(
            f"Borealis binary not found at {path}: run `cargo build --release -p borealis` "
            "(scripts/test does) or set BOREALIS_BIN",
            pytrace=False,
        )
    return path


def _wait_ready(server: Server) -> None:
    """Poll until a MySQL handshake + login succeeds, the process dies, or the timeout passes."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    last_error: Optional[BaseException] = None
    while time.monotonic() < deadline:  # bounded by READY_TIMEOUT_S
        if server.process is not None and server.process.poll() is not None:
            raise RuntimeError(
                f"borealis exited with code {server.process.returncode} before accepting "
                f"connections; log:\n{server.log_tail()}"
            )
        try:
            conn = server.connect(connect_timeout=2, read_timeout=5)
            conn.close()
            return
        except pymysql.err.OperationalError as e:
            last_error = e
            # 1045 means the server is up and checking passwords: it is ready.
            if e.args and e.args[0] == 1045:
                return
        except (OSError, pymysql.err.MySQLError) as e:
            last_error = e
        time.sleep(0.2)
    raise RuntimeError(
        f"server on port {server.port} not ready within {READY_TIMEOUT_S} s "
        f"(last error: {last_error!r}); log:\n{server.log_tail()}"
    )


def stop_server(server: Server) -> None:
    """SIGTERM, wait up to STOP_GRACE_S, then SIGKILL. Only ever signals the process we started."""
    proc = server.process
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=STOP_GRACE_S)


def start_borealis(root_password: Optional[str] = None) -> Server:
    """Start `borealis up` on a free port with a fresh data directory; return once it is ready."""
    binary = borealis_bin()
    data_dir = Path(tempfile.mkdtemp(prefix="borealis-test-"))
    log_path = data_dir.parent / (data_dir.name + ".log")
    # Port 0: the server binds a free port itself and prints it (a port picked here could be
    # taken by another client socket before the server binds it).
    args = [str(binary), "up", "--embedded", "--data", str(data_dir), "--port", "0"]
    if root_password is not None:
        args += ["--root-password", root_password]
    log_file = open(log_path, "wb")
    try:
        proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT
        )
    finally:
        log_file.close()  # the child keeps its own descriptor
    try:
        port = _ready_port(proc, log_path)
    except BaseException:
        proc.kill()
        proc.wait(timeout=STOP_GRACE_S)
        shutil.rmtree(data_dir, ignore_errors=True)
        raise
    server = Server(
        kind="borealis",
        host="127.0.0.1",
        port=port,
        user="root",
        password=root_password or "",
        process=proc,
        data_dir=data_dir,
        log_path=log_path,
    )
    try:
        _wait_ready(server)
    except BaseException:
        cleanup_borealis(server)  # the log tail is already in the exception message
        raise
    return server


READY_LINE = re.compile(rb"Borealis ready: instance endpoint 127\.0\.0\.1:(\d+)")


def _ready_port(proc: subprocess.Popen, log_path: Path) -> int:
    """The port from the server's ready line (bounded wait: READY_TIMEOUT_S)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        m = READY_LINE.search(log_path.read_bytes()) if log_path.exists() else None
        if m:
            return int(m.group(1))
        if proc.poll() is not None:
            tail = log_path.read_bytes()[-2000:].decode(errors="replace") if log_path.exists() else ""
            raise RuntimeError(f"borealis exited during start (code {proc.returncode}):\n{tail}")
        time.sleep(0.05)
    raise RuntimeError(f"borealis printed no ready line within {READY_TIMEOUT_S} s")


def cleanup_borealis(server: Server) -> None:
    stop_server(server)
    if server.data_dir is not None:
        shutil.rmtree(server.data_dir, ignore_errors=True)
    if server.log_path is not None and server.log_path.exists():
        server.log_path.unlink()


def _against() -> Optional[tuple[str, int]]:
    value = os.environ.get("BOREALIS_TEST_AGAINST", "").strip()
    if not value:
        return None
    kind, _, port = value.partition(":")
    if kind != "mariadb" or not port.isdigit():
        raise pytest.UsageError(f"BOREALIS_TEST_AGAINST must be mariadb:PORT, got {value!r}")
    return kind, int(port)


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    """The server under test for the whole session."""
    against = _against()
    if against is not None:
        kind, port = against
        srv = Server(
            kind=kind,
            host="127.0.0.1",
            port=port,
            user=os.environ.get("BOREALIS_TEST_USER", "root"),
            password=os.environ.get("BOREALIS_TEST_PASSWORD", ""),
        )
        _wait_ready(srv)
        yield srv
        return
    srv = start_borealis()
    try:
        yield srv
    finally:
        cleanup_borealis(srv)
        # Surface a crash that happened during the session even if every test passed.
        if srv.process is not None and srv.process.returncode not in (0, -signal.SIGTERM):
            print(f"\nborealis exit code {srv.process.returncode}")


@pytest.fixture
def password_server(server: Server) -> Iterator[tuple[Server, str]]:
    """A server whose root account has a password; yields (server, the correct password).

    Against MariaDB this is the configured server and user with their configured password.
    """
    if not server.is_borealis:
        yield server, server.password
        return
    password = "s3cret-" + uuid.uuid4().hex[:8]
    srv = start_borealis(root_password=password)
    try:
        yield srv, password
    finally:
        cleanup_borealis(srv)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_db(server: Server) -> Iterator:
    """Factory: create a fresh database, dropped again at teardown."""
    created: list[str] = []

    def make(prefix: str = "t") -> str:
        name = unique_name(prefix)
        conn = server.connect(autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{name}`")
        finally:
            conn.close()
        created.append(name)
        return name

    yield make
    if not created:
        return
    try:
        conn = server.connect(autocommit=True)
    except pymysql.err.MySQLError:
        return  # server is gone; the test has already failed
    try:
        with conn.cursor() as cur:
            for name in created:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()


@pytest.fixture
def db(make_db) -> str:
    """Name of a fresh, empty database."""
    return make_db("t")


@pytest.fixture
def conn(server: Server, db: str) -> Iterator[pymysql.connections.Connection]:
    """A PyMySQL connection to a fresh database, autocommit on."""
    c = server.connect(database=db, autocommit=True)
    try:
        yield c
    finally:
        c.close()
