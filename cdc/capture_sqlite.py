"""SQLite capture: triggers write every change into a change table in the same transaction.

`setup` installs, per captured table, AFTER INSERT/UPDATE/DELETE triggers that append
`(table, op, before, after, ts_ms)` to `_cdc_changes` (before/after built with
json_object, so images are full). The change id (AUTOINCREMENT) is the log position:
SQLite has one writer at a time, so change ids follow commit order. `next_batch` reads
changes past the delivered cursor, plus a snapshot chunk when one is pending, in one
read transaction; `ack` moves the cursor and trims delivered rows. Triggers stay quiet
while a `_cdc_origin` row exists, which only a sink's own transaction ever sees.

Transactions: a trigger cannot see its transaction, so each change records the current
*epoch* (`_cdc_state` 'tx'). With `transactions` on, `next_batch` reads under the write
lock (BEGIN IMMEDIATE) and first closes the open epoch: no writer can be mid-transaction
then, so an epoch holds one or more whole source transactions committed back to back,
never part of one. Its id is the event's `txId`; a batch always ends on an epoch boundary.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdc import fastjson, types
from cdc.capture import CaptureBatch
from cdc.errors import CdcError
from cdc.event import ChangeEvent, Column, Source, row_changes
from cdc.position import Position
from cdc.snapshot_sqlite import SnapshotChunk, pending_snapshots, read_chunk, snapshot_progress
from cdc.sqlite_meta import TableMeta
from cdc.sqlite_tx import immediate

_SCHEMA = """
CREATE TABLE IF NOT EXISTS _cdc_changes (
    change_id INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, op TEXT NOT NULL,
    before TEXT, after TEXT, ts_ms INTEGER NOT NULL, tx INTEGER);
CREATE TABLE IF NOT EXISTS _cdc_tables (
    name TEXT PRIMARY KEY, columns TEXT NOT NULL, key TEXT NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS _cdc_state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS _cdc_origin (marker TEXT);
CREATE TABLE IF NOT EXISTS _cdc_snapshot (
    name TEXT PRIMARY KEY, last_key TEXT, done INTEGER NOT NULL DEFAULT 0,
    rows INTEGER NOT NULL DEFAULT 0);
"""
NOW_MS = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"
TX = "(SELECT CAST(value AS INTEGER) FROM _cdc_state WHERE name = 'tx')"  # the open epoch
CDC_TABLES = ("_cdc_changes", "_cdc_tables", "_cdc_state", "_cdc_origin", "_cdc_snapshot")


@dataclass(frozen=True)
class Batch:
    """What one `next_batch` read: events to publish and where to move the cursor to."""

    events: tuple[ChangeEvent, ...]
    last_change_id: int | None
    delivered_per_table: tuple[tuple[str, int], ...]
    chunk: SnapshotChunk | None


def sqlite_path(url: str) -> str:
    """Return the file of a `sqlite:///PATH` URL (or a plain path)."""
    if url.startswith("sqlite"):
        _, sep, path = url.partition(":///")
        if not sep or not path:
            raise CdcError(f"source {url!r} must be sqlite:///PATH for SQLite capture")
        return path
    return url


def connect(url: str) -> sqlite3.Connection:
    path = sqlite_path(url)
    if not Path(path).exists():
        raise CdcError(f"source database {path} does not exist")
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


def describe(conn: sqlite3.Connection, table: str) -> TableMeta:
    """Read a table's columns and primary key from the database."""
    info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
    if not info:
        raise CdcError(f"table {table!r} does not exist in the source database")
    columns, keyed = [], []
    for _, name, declared, notnull, _, pk in info:
        kind, scale = types.kind_of_declared(declared or "")
        columns.append(Column(name, kind, scale, optional=not (notnull or pk)))
        if pk:
            keyed.append((pk, name))
    if not keyed:
        raise CdcError(f"table {table!r} has no primary key; CDC needs one to key its events")
    return TableMeta(table, tuple(columns), tuple(name for _, name in sorted(keyed)))


class SqliteCapture:
    """Capture changes of chosen tables of one SQLite database."""

    transactions = False  # tag events with their epoch (see the module docstring)

    def __init__(self, url: str, *, prefix: str = "strangler") -> None:
        self.url = url
        self.prefix = prefix
        self.db_name = Path(sqlite_path(url)).stem
        self.conn = connect(url)
        self._has_tx: bool | None = None

    def close(self) -> None:
        self.conn.close()

    def setup(self, tables: Sequence[str]) -> list[TableMeta]:
        """Install the change table and the triggers (idempotent; re-run after DDL)."""
        if not tables:
            raise CdcError("no tables to capture: pass --tables a,b,c")
        metas = [describe(self.conn, t) for t in tables]
        with immediate(self.conn):
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self.conn.execute(statement)
            columns = [r[1] for r in self.conn.execute("PRAGMA table_info(_cdc_changes)")]
            if "tx" not in columns:  # set up by an older version
                self.conn.execute("ALTER TABLE _cdc_changes ADD COLUMN tx INTEGER")
            self._has_tx = True
            self.conn.execute("INSERT OR IGNORE INTO _cdc_state VALUES ('tx', '1')")
            for meta in metas:
                self._drop_triggers(meta.name)
                for statement in _triggers(meta):
                    self.conn.execute(statement)
                self.conn.execute(
                    "INSERT INTO _cdc_tables (name, columns, key) VALUES (?, ?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET "
                    "columns = excluded.columns, key = excluded.key",
                    (meta.name, _columns_json(meta.columns), json.dumps(meta.key)),
                )
        return metas

    def _drop_triggers(self, table: str) -> None:
        for op in ("ins", "upd", "del"):
            self.conn.execute(f'DROP TRIGGER IF EXISTS "_cdc_{op}_{table}"')

    def teardown(self) -> None:
        """Remove every trigger and CDC table from the source database."""
        with immediate(self.conn):
            for table in self.tables():
                self._drop_triggers(table.name)
            for name in CDC_TABLES:
                self.conn.execute(f"DROP TABLE IF EXISTS {name}")

    def is_setup(self) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_cdc_tables'"
        ).fetchone()
        return row is not None

    def tables(self) -> list[TableMeta]:
        if not self.is_setup():
            return []
        rows = self.conn.execute("SELECT name, columns, key FROM _cdc_tables ORDER BY name")
        return [TableMeta(n, _columns_from_json(c), tuple(json.loads(k))) for n, c, k in rows]

    def require_setup(self) -> dict[str, TableMeta]:
        metas = {m.name: m for m in self.tables()}
        if not metas:
            raise CdcError("capture is not set up on this source: run `strangler cdc setup` first")
        return metas

    def topics(self) -> list[str]:
        return [self.topic(m.name) for m in self.tables()]

    def topic(self, table: str) -> str:
        return f"{self.prefix}.main.{table}"

    def state(self, name: str) -> str | None:
        if not self.is_setup():
            raise CdcError("capture is not set up on this source: run `strangler cdc setup` first")
        row = self.conn.execute("SELECT value FROM _cdc_state WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def delivered(self) -> int:
        return int(self.state("delivered") or 0)

    def has_position(self) -> bool:
        return self.state("delivered") is not None

    def request_snapshot(self, tables: Sequence[str] | None = None) -> list[str]:
        """Schedule a (re-)snapshot of the given tables, or all captured ones."""
        metas = self.require_setup()
        chosen = list(tables) if tables else list(metas)
        unknown = [t for t in chosen if t not in metas]
        if unknown:
            raise CdcError(f"not captured: {', '.join(unknown)} (captured: {', '.join(metas)})")
        with immediate(self.conn):
            self.conn.executemany(
                "INSERT INTO _cdc_snapshot (name, last_key, done, rows) VALUES (?, NULL, 0, 0) "
                "ON CONFLICT (name) DO UPDATE SET last_key = NULL, done = 0, rows = 0",
                [(t,) for t in chosen],
            )
            self._set_state("delivered", str(self.delivered()))
        return chosen

    def start_without_snapshot(self) -> None:
        """Stream every change captured since setup, with no snapshot (Debezium `no_data`)."""
        self.require_setup()
        if not self.has_position():
            with immediate(self.conn):
                self._set_state("delivered", "0")

    def _set_state(self, name: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO _cdc_state VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = ?",
            (name, value, value),
        )

    def next_batch(self, max_changes: int = 1000, chunk_rows: int = 1000) -> Batch:
        """Read the next changes and, once caught up, a snapshot chunk, in one read txn."""
        metas = self.require_setup()
        self.conn.execute("BEGIN IMMEDIATE" if self.transactions else "BEGIN")
        try:
            delivered = self.delivered()
            rows = self.conn.execute(
                f"SELECT change_id, tbl, op, before, after, ts_ms, {self._tx_column()} "
                "FROM _cdc_changes WHERE change_id > ? ORDER BY change_id LIMIT ?",
                (delivered, max_changes),
            ).fetchall()
            if self.transactions and rows:
                rows = self._whole_epochs(rows)
            events: list[ChangeEvent] = []
            counts: dict[str, int] = {}
            for change_id, table, op, before, after, ts_ms, tx in rows:
                meta = metas.get(table)
                if meta is None:
                    continue  # a table no longer captured
                tx_id = tx if self.transactions else None
                events.extend(self._change_events(meta, change_id, op, before, after, ts_ms, tx_id))
                counts[table] = counts.get(table, 0) + 1
            chunk = None
            if len(rows) < max_changes:
                head = rows[-1][0] if rows else delivered
                chunk = self._snapshot_chunk(metas, head, chunk_rows)
                if chunk is not None:
                    events.extend(chunk.events)
        finally:
            self.conn.execute("COMMIT")
        last = rows[-1][0] if rows else None
        return Batch(tuple(events), last, tuple(counts.items()), chunk)

    def _tx_column(self) -> str:
        """`tx`, or NULL on a change table set up by an older version (until `setup`)."""
        if self._has_tx is None:
            columns = [r[1] for r in self.conn.execute("PRAGMA table_info(_cdc_changes)")]
            self._has_tx = "tx" in columns
        return "tx" if self._has_tx else "NULL"

    def _whole_epochs(self, rows: list[Any]) -> list[Any]:
        """Close the open epoch (we hold the write lock) and finish the last epoch read."""
        epoch = int(self.state("tx") or 1)
        last_id, last_tx = rows[-1][0], rows[-1][6]
        if last_tx == epoch:
            self._set_state("tx", str(epoch + 1))
        if last_tx is None:  # not set up for epochs yet: no grouping beyond the batch
            return rows
        more = self.conn.execute(
            "SELECT change_id, tbl, op, before, after, ts_ms, tx FROM _cdc_changes "
            "WHERE change_id > ? AND tx = ? ORDER BY change_id",
            (last_id, last_tx),
        ).fetchall()
        return rows + more

    def _snapshot_chunk(
        self, metas: dict[str, TableMeta], head: int, chunk_rows: int
    ) -> SnapshotChunk | None:
        pending = pending_snapshots(self.conn)
        if not pending:
            return None
        counter = int(self.state("snapshot_counter") or 0)
        source = Source(
            name=self.prefix, db=self.db_name, schema="main", table="", ts_ms=0,
            connector="sqlite",
        )  # fmt: skip
        return read_chunk(self.conn, metas, pending, source, head, counter, chunk_rows)

    def _change_events(
        self, meta: TableMeta, change_id: int, op: str, before: str | None, after: str | None,
        ts_ms: int, tx_id: int | None = None,
    ) -> list[ChangeEvent]:  # fmt: skip
        position = Position(change_id, 0)
        source = Source(
            name=self.prefix, db=self.db_name, schema="main", table=meta.name, ts_ms=ts_ms,
            connector="sqlite", lsn=change_id, change_id=change_id, tx_id=tx_id,
            sequence=f'["{change_id}", "0"]',  # json.dumps([str(change_id), "0"])
        )  # fmt: skip
        return row_changes(
            op=op, source=source, ts_ms=_now_ms(), key_columns=meta.key,
            before=meta.encode_row(fastjson.loads(before) if before else None),
            after=meta.encode_row(fastjson.loads(after) if after else None),
            position=position, columns=meta.columns,
        )  # fmt: skip

    def ack(self, batch: CaptureBatch) -> None:
        """Record that a batch is durably published: move the cursor, trim, save progress."""
        if not isinstance(batch, Batch):
            raise CdcError("a SQLite capture acknowledges only the batches it read")
        with immediate(self.conn):
            if batch.last_change_id is not None:
                self._set_state("delivered", str(batch.last_change_id))
                self.conn.execute(
                    "DELETE FROM _cdc_changes WHERE change_id <= ?", (batch.last_change_id,)
                )
            elif not self.has_position():
                self._set_state("delivered", "0")
            self.conn.executemany(
                "UPDATE _cdc_tables SET delivered = delivered + ? WHERE name = ?",
                [(n, t) for t, n in batch.delivered_per_table],
            )
            if batch.chunk is not None:
                batch.chunk.save(self.conn)
                self._set_state("snapshot_counter", str(batch.chunk.counter_after))

    def pending_changes(self) -> dict[str, int]:
        """Return the captured-but-undelivered change count per table."""
        if not self.is_setup():
            return {}
        rows = self.conn.execute(
            "SELECT tbl, COUNT(*) FROM _cdc_changes WHERE change_id > ? GROUP BY tbl",
            (self.delivered(),),
        )
        return {t: int(n) for t, n in rows}

    def snapshot_progress(self) -> dict[str, tuple[int, bool]]:
        return snapshot_progress(self.conn)

    def delivered_counts(self) -> dict[str, int]:
        return {n: int(d) for n, d in self.conn.execute("SELECT name, delivered FROM _cdc_tables")}


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


def _triggers(meta: TableMeta) -> list[str]:
    quiet = "WHEN NOT EXISTS (SELECT 1 FROM _cdc_origin)"
    insert = "INSERT INTO _cdc_changes (tbl, op, before, after, ts_ms, tx) VALUES"
    name = meta.name
    return [
        f'CREATE TRIGGER "_cdc_ins_{name}" AFTER INSERT ON "{name}" {quiet} BEGIN '
        f"{insert} ('{name}', 'c', NULL, {meta.json_object('NEW')}, {NOW_MS}, {TX}); END",
        f'CREATE TRIGGER "_cdc_upd_{name}" AFTER UPDATE ON "{name}" {quiet} BEGIN '
        f"{insert} ('{name}', 'u', {meta.json_object('OLD')}, {meta.json_object('NEW')}, "
        f"{NOW_MS}, {TX}); END",
        f'CREATE TRIGGER "_cdc_del_{name}" AFTER DELETE ON "{name}" {quiet} BEGIN '
        f"{insert} ('{name}', 'd', {meta.json_object('OLD')}, NULL, {NOW_MS}, {TX}); END",
    ]


def _columns_json(columns: tuple[Column, ...]) -> str:
    return json.dumps([[c.name, c.kind, c.scale, c.optional] for c in columns])


def _columns_from_json(text: str) -> tuple[Column, ...]:
    return tuple(Column(n, k, s, o) for n, k, s, o in json.loads(text))
