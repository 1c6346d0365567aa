"""The `postgres` session fixture: a throwaway private PostgreSQL cluster, or your own server.

A private cluster is made with Debian's initdb in a temp dir, listens on 127.0.0.1 on a
free port (unix socket in a private dir), has ``wal_level=logical`` for CDC, trusts
loopback connections, runs with fsync off, and is removed at session end. Set
``STRANGLER_TEST_POSTGRES_URL`` (a superuser URL) to use an existing server instead.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy.engine import URL, make_url

from ._common import (
    HOW_TO_INSTALL,
    PortTaken,
    broken,
    check_port_clash,
    die_with_parent,
    free_port,
    require_marker,
    start_with_retries,
    unavailable,
    wait_until,
)

ENV_URL = "STRANGLER_TEST_POSTGRES_URL"
SERVICE = "PostgreSQL"
MARKER = "postgres"  # a test that reaches this server must carry it (see require_marker)
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Settings a CDC-capable, fast, private test cluster needs.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "wal_level": "logical",
    "max_replication_slots": "20",
    "max_wal_senders": "20",
    "max_connections": "200",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}


@dataclass
class PostgresServer:
    """A PostgreSQL server for tests: connection facts plus fresh-database creation.

    ``url`` is a superuser SQLAlchemy URL (``postgresql+psycopg2://``) to the default
    database. Use ``create_database()`` for an isolated empty database per test or
    module instead of sharing ``url``'s database.
    """

    host: str
    port: int
    user: str
    password: str | None = None
    database: str = "postgres"
    created: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        """Return the superuser SQLAlchemy URL of ``database`` on this server."""
        require_marker(MARKER, SERVICE)
        url = URL.create(
            "postgresql+psycopg2",
            username=self.user,
            password=self.password,
            host=self.host,
            port=self.port,
            database=database,
        )
        return url.render_as_string(hide_password=False)

    def connect(self, database: str | None = None) -> psycopg2.extensions.connection:
        """Open a plain psycopg2 connection (autocommit) as the superuser."""
        require_marker(MARKER, SERVICE)
        conn = psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=database or self.database,
            connect_timeout=5,
        )
        conn.autocommit = True
        return conn

    def create_database(self, name: str | None = None) -> str:
        """Create a fresh empty database and return its SQLAlchemy URL."""
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        if not _DB_NAME.match(name):
            raise ValueError(f"database name {name!r} must match {_DB_NAME.pattern}")
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        self.created.append(name)
        return self.url_for(name)

    def drop_created(self) -> None:
        """Drop the databases this object created (used for servers we do not own)."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                for name in self.created:
                    cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            conn.close()
        self.created.clear()


def _find_bin(name: str) -> Path | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version_key)
    if found:
        return Path(found[-1])
    on_path = shutil.which(name)
    return Path(on_path) if on_path else None


def _version_key(path: str) -> int:
    match = re.search(r"/postgresql/(\d+)/", path)
    return int(match.group(1)) if match else 0


def _run_as() -> str | None:
    """Return the user to run the server as: PostgreSQL refuses to run as root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        unavailable(SERVICE, "running as root and no `postgres` user exists", HOW_TO_INSTALL)
    return "postgres"


@dataclass
class _Cluster:
    root: Path
    process: subprocess.Popen[bytes]
    server: PostgresServer
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # immediate shutdown: data is throwaway
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> _Cluster:
    """initdb a private cluster in a temp dir and start it; fail with its log if it won't."""
    require_marker(MARKER, SERVICE)
    initdb, postgres = _find_bin("initdb"), _find_bin("postgres")
    if initdb is None or postgres is None:
        unavailable(
            SERVICE,
            "no initdb/postgres server binaries (Debian package postgresql)",
            f"{HOW_TO_INSTALL} or set {ENV_URL}",
        )
    as_user = _run_as()
    root = Path(tempfile.mkdtemp(prefix="strangler-pg-"))
    data, sock, log = root / "data", root / "sock", root / "postgres.log"
    sock.mkdir()
    log.touch()
    if as_user:
        for path in (root, sock, log):
            shutil.chown(path, as_user, as_user)
    init = subprocess.run(
        [str(initdb), "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync",
         "--encoding=UTF8", "--locale=C"],
        capture_output=True, text=True, check=False,
        user=as_user, group=as_user, extra_groups=[] if as_user else None,
    )  # fmt: skip
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        broken(SERVICE, f"initdb exited {init.returncode}: {init.stderr.strip()[-2000:]}")
    port = free_port()
    settings = {**SERVER_SETTINGS, "port": str(port), "unix_socket_directories": str(sock)}
    args = [str(postgres), "-D", str(data)]
    for key, value in settings.items():
        args += ["-c", f"{key}={value}"]
    with log.open("ab") as out:
        process = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=die_with_parent(signal.SIGQUIT),
            user=as_user, group=as_user, extra_groups=[] if as_user else None,
        )  # fmt: skip
    cluster = _Cluster(root, process, PostgresServer("127.0.0.1", port, "postgres"), log)
    # Probe through the private socket: a process that stole the TCP port can't fool it.
    via_socket = dataclasses.replace(cluster.server, host=str(sock))
    if not wait_until(lambda: _accepts(via_socket), lambda: process.poll() is None, 60):
        code = process.poll()
        if code is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        try:
            check_port_clash(log)
        except PortTaken:
            shutil.rmtree(root, ignore_errors=True)
            raise
        # The temp dir stays behind on purpose: its log explains the failure.
        broken(SERVICE, f"server not ready on port {port} (exit code {code})", log)
    return cluster


def _accepts(server: PostgresServer) -> bool:
    try:
        server.connect().close()
    except psycopg2.OperationalError:
        return False
    return True


def _external(url_text: str) -> PostgresServer:
    url = make_url(url_text)
    if not url.drivername.startswith("postgresql"):
        raise ValueError(f"{ENV_URL} must be a postgresql:// URL, got {url.drivername}://")
    server = PostgresServer(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        database=url.database or "postgres",
    )
    if not _accepts(server):
        shown = url.render_as_string(hide_password=True)
        unavailable(
            SERVICE, f"cannot connect to {ENV_URL}={shown}", "start that server or unset it"
        )
    return server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session (private throwaway cluster by default)."""
    require_marker(MARKER, SERVICE)
    if url_text := os.environ.get(ENV_URL):
        server = _external(url_text)
        yield server
        server.drop_created()
        return
    cluster = start_with_retries(SERVICE, start_cluster)
    try:
        yield cluster.server
    finally:
        cluster.stop()
