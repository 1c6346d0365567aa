"""The versioned route-table store: every version kept, rollback to any of them.

One table `strangler_route_versions` holds each version's full table as JSON plus who
made the change, when, why and what it was. The current table is the highest version.
Writers append `current + 1`; the primary key turns a concurrent write into a Conflict
instead of a lost update. SQLite (a file) is the default; PostgreSQL works through the
same SQLAlchemy Core code. Each commit also wakes the watchers of every process sharing
the store (router/notify.py: LISTEN/NOTIFY, or Unix sockets next to a SQLite file).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

from router import codec, notify
from router.errors import Conflict, NotFound, RouterError
from router.table import RouteTable, validate

DEFAULT_URL = "sqlite:///var/router.db"

_meta = sa.MetaData()
versions = sa.Table(
    "strangler_route_versions",
    _meta,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("change", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
)


@dataclass(frozen=True)
class Version:
    """One stored version of the table and the change that made it."""

    version: int
    created_at: str
    actor: str
    reason: str
    change: dict[str, Any] = field(default_factory=dict)
    table: RouteTable = field(default_factory=RouteTable)

    def summary(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "created_at": self.created_at,
            "actor": self.actor,
            "reason": self.reason,
            "change": self.change,
        }


def normalise_url(url: str) -> str:
    """Accept a plain file path as a SQLite store; make its folder."""
    if "://" not in url:
        url = "sqlite:///" + str(Path(url))
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return url


class RouteStore:
    """Append-only versions of the route table in a SQL database."""

    def __init__(self, url: str = DEFAULT_URL) -> None:
        self.url = normalise_url(url)
        kwargs: dict[str, Any] = {}
        if self.url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 10, "check_same_thread": False}
        try:
            self.engine = sa.create_engine(self.url, **kwargs)
            if self.url.startswith("sqlite"):
                sa.event.listen(self.engine, "connect", _sqlite_wal)
            _meta.create_all(self.engine)
        except (OperationalError, sa.exc.ArgumentError) as exc:
            raise RouterError(f"cannot open route store {url!r}: {exc}") from None
        sqlite = self.url.startswith("sqlite")
        self._sockets = notify.socket_folder(self.engine.url.database or "") if sqlite else None

    def close(self) -> None:
        self.engine.dispose()

    def latest_version(self) -> int:
        """Return the current version number (0 when empty); cheap enough to poll."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(versions.c.version))).scalar() or 0)

    def current(self) -> RouteTable:
        """Return the current table, or an empty version-0 table."""
        latest = self.latest_version()
        return self.get(latest).table if latest else RouteTable()

    def get(self, version: int) -> Version:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(versions).where(versions.c.version == version)).first()
        if row is None:
            raise NotFound(f"route table version {version} does not exist")
        return _to_version(row)

    def history(self, limit: int = 50) -> list[Version]:
        """Return the newest versions first."""
        query = sa.select(versions).order_by(versions.c.version.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_to_version(r) for r in conn.execute(query)]

    def commit(
        self,
        table: RouteTable,
        *,
        actor: str,
        reason: str,
        change: dict[str, Any],
        expected: int | None = None,
    ) -> RouteTable:
        """Validate and store `table` as the next version; return it with its number.

        `expected` is the version the change was computed from; if another writer got
        there first the write is refused (Conflict) rather than silently overwriting.
        """
        validate(table)
        base = self.latest_version()
        if expected is not None and expected != base:
            raise Conflict(f"the table changed meanwhile (now version {base}); retry")
        new = table.replace(version=base + 1)
        row = {
            "version": new.version,
            "created_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "actor": actor or "unknown",
            "reason": reason or "",
            "change": json.dumps(change, sort_keys=True),
            "body": json.dumps(codec.table_to_dict(new), sort_keys=True),
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(versions.insert().values(**row))
                if self.engine.dialect.name == "postgresql":  # sent only if this commits
                    conn.execute(sa.select(sa.func.pg_notify(notify.CHANNEL, str(new.version))))
        except IntegrityError:
            raise Conflict(f"version {new.version} was written concurrently; retry") from None
        if self._sockets is not None:
            notify.notify_sockets(self._sockets, new.version)
        return new

    def listen(self) -> notify.Listener | None:
        """Return a listener woken by every commit to this store, from any process.

        None when the store offers no notification (SQLite in memory, or a PostgreSQL
        driver other than psycopg2): watchers then rely on polling alone.
        """
        if self.engine.dialect.name == "postgresql":
            if self.engine.dialect.driver != "psycopg2":
                return None
            return notify.PgListener(self.engine)
        if self._sockets is None:
            return None
        return notify.SocketListener(self._sockets)

    def update(
        self,
        edit: Callable[[RouteTable], RouteTable],
        *,
        actor: str,
        reason: str,
        change: dict[str, Any],
        attempts: int = 5,
    ) -> RouteTable:
        """Apply `edit` to the current table and commit, retrying on concurrent writers."""
        for attempt in range(attempts):
            current = self.current()
            try:
                new = edit(current)
                return self.commit(
                    new, actor=actor, reason=reason, change=change, expected=current.version
                )
            except Conflict:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def rollback(self, version: int, *, actor: str, reason: str) -> RouteTable:
        """Make the table of `version` current again, as a new version (history is kept)."""
        old = self.get(version).table
        change = {"op": "rollback", "to": version}
        return self.update(lambda _: old, actor=actor, reason=reason, change=change)


def _to_version(row: Any) -> Version:
    table = codec.table_from_dict(json.loads(row.body))
    return Version(
        version=row.version,
        created_at=row.created_at,
        actor=row.actor,
        reason=row.reason,
        change=json.loads(row.change),
        table=table,
    )


def _sqlite_wal(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets several router processes poll while one writes
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()
