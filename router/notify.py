"""Tell every router sharing a store that a new table version was written.

Polling alone makes a change wait up to one poll interval, and a poll thread that the
scheduler runs late on a busy machine stretches that further (route-change p99 of
57-139 ms over 20 ms polls). So each commit also wakes the watchers:

- PostgreSQL: the commit runs `pg_notify('strangler_routes', version)` in the same
  transaction (delivered only if it commits); each watcher holds a connection that
  LISTENs and waits on its socket.
- SQLite (a file shared by processes on one host): each watcher binds a Unix datagram
  socket in a folder named after the database file; the writer sends one datagram to
  every socket there. A socket whose process died is removed by the next writer.

A notification only wakes the watcher, which then reads the version from the store as
a poll would; the poll stays as the safety net (a lost datagram, a dropped LISTEN
connection, a writer on another host).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import select
import socket
import tempfile
from pathlib import Path
from typing import Any, Protocol

CHANNEL = "strangler_routes"


class Listener(Protocol):
    def wait(self, timeout: float) -> bool:
        """Block up to `timeout` seconds; True if a change was announced meanwhile."""

    def close(self) -> None: ...


def socket_folder(database: str) -> Path | None:
    """The folder of notification sockets for a SQLite file (None for :memory:).

    It lives under the temporary directory, named by a digest of the file's real path,
    so socket paths stay within the 107-byte limit whatever the database path is.
    """
    if database in ("", ":memory:") or not hasattr(socket, "AF_UNIX"):
        return None
    digest = hashlib.sha256(os.path.realpath(database).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"strangler-{os.getuid()}" / f"routes-{digest}"


def _own_folder(folder: Path) -> bool:
    """Create the folder private to this user; refuse one that someone else owns."""
    folder.parent.mkdir(mode=0o700, exist_ok=True)
    folder.mkdir(mode=0o700, exist_ok=True)
    return all(p.lstat().st_uid == os.getuid() for p in (folder, folder.parent))


class SocketListener:
    """One Unix datagram socket in the store's folder; any datagram means 'look again'."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / f"{os.getpid()}-{secrets.token_hex(4)}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        for attempt in range(3):  # the last listener leaving removes the folder
            if not _own_folder(folder):
                self.sock.close()
                raise OSError(f"{folder} belongs to another user")
            try:
                self.sock.bind(str(self.path))
                return
            except FileNotFoundError:
                if attempt == 2:
                    self.sock.close()
                    raise

    def wait(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return False
        with contextlib.suppress(BlockingIOError):
            while self.sock.recv(64):  # several commits may have queued up
                pass
        return True

    def close(self) -> None:
        self.sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        with contextlib.suppress(OSError):
            self.path.parent.rmdir()  # only if no other listener is left in it


def notify_sockets(folder: Path, version: int) -> None:
    """Send one datagram to every listener in `folder`; remove those nobody holds."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return  # nobody has listened yet
    message = str(version).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        for name in names:
            path = folder / name
            try:
                sock.sendto(message, str(path))
            except BlockingIOError:
                pass  # its queue is full: it has notifications to read already
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()  # left by a process that died
            except OSError:
                pass  # not ours to judge; that watcher still polls


class PgListener:
    """A dedicated PostgreSQL connection that LISTENs on the routes channel."""

    def __init__(self, engine: Any) -> None:
        raw = engine.raw_connection()
        self.conn = raw.driver_connection
        raw.detach()  # ours alone, never handed back to the pool
        self.conn.autocommit = True
        with self.conn.cursor() as cur:
            cur.execute(f"LISTEN {CHANNEL}")

    def wait(self, timeout: float) -> bool:
        if not self.conn.notifies:
            ready, _, _ = select.select([self.conn], [], [], timeout)
            if not ready:
                return False
        self.conn.poll()  # raises if the connection broke: the watcher reconnects
        heard = bool(self.conn.notifies)
        self.conn.notifies.clear()
        return heard

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()
