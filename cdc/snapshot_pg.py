"""The initial snapshot of a PostgreSQL source: consistent with the slot, resumable.

`CREATE_REPLICATION_SLOT ... LOGICAL pgoutput EXPORT_SNAPSHOT` returns the slot's
consistent point C and a snapshot name; a REPEATABLE READ transaction that imports it
sees exactly the data as of C, and the slot streams every transaction committed after
C. Chunks are read by primary key (keyset) and emitted as `r` events at positions
C:1, C:2, ...; progress (last key per table, rows) is saved in `_cdc_pg_snapshot` only
when a chunk is acknowledged as published.

After a crash the exported snapshot is gone but the slot is kept: the remaining chunks
are read at the current state (newer than C) and streaming then replays every change
since C. Rows already published are as of C and get the replay; rows read later are
newer and the replay passes over them in order, so every row converges to the source
and nothing is lost or re-sent. Rows are read as text and decoded like pgoutput's text
values, so snapshot and stream encode alike.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg2
import psycopg2.extras
from psycopg2 import sql

from cdc import pgoutput, types
from cdc.event import ChangeEvent, Column, Source
from cdc.position import Position


@dataclass(frozen=True)
class SnapshotTable:
    schema: str
    name: str
    columns: tuple[pgoutput.RelColumn, ...]
    key: tuple[str, ...]


@dataclass(frozen=True)
class ChunkProgress:
    """What to save once a chunk is published."""

    state: str  # JSON of {"lsn", "rows", "tables": {name: {"last_key", "done"}}}


def parse_lsn(text: str) -> int:
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def create_slot_with_snapshot(dsn: str, slot: str) -> tuple[int, Any]:
    """Create the slot; return (consistent point, a connection inside its snapshot)."""
    factory = psycopg2.extras.LogicalReplicationConnection
    repl = psycopg2.connect(dsn, connection_factory=factory)
    cur = repl.cursor()
    cur.execute(f'CREATE_REPLICATION_SLOT "{slot}" LOGICAL pgoutput EXPORT_SNAPSHOT')
    _, consistent_point, snapshot_name, _ = cur.fetchone()
    conn = psycopg2.connect(dsn)
    with conn.cursor() as setup:
        setup.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        setup.execute("SET TRANSACTION SNAPSHOT %s", (snapshot_name,))
    repl.close()  # the imported snapshot lives on in our transaction
    return parse_lsn(consistent_point), conn


class PgSnapshot:
    """Read the tables chunk by chunk, from the exported snapshot or (resumed) the present."""

    def __init__(
        self, conn: Any, tables: Sequence[SnapshotTable], lsn: int, saved: dict[str, Any] | None
    ) -> None:
        self.conn = conn
        self.tables = {t.name: t for t in tables}
        self.lsn = lsn
        saved = saved or {}
        self.rows = int(saved.get("rows", 0))
        self.state: dict[str, dict[str, Any]] = {
            t.name: saved.get("tables", {}).get(t.name, {"last_key": None, "done": False})
            for t in tables
        }

    @property
    def progress(self) -> dict[str, tuple[int, bool]]:
        return {n: (int(s.get("rows", 0)), bool(s["done"])) for n, s in self.state.items()}

    def saved_state(self) -> str:
        return json.dumps({"lsn": self.lsn, "rows": self.rows, "tables": self.state})

    def next_chunk(
        self, prefix: str, db: str, chunk_rows: int
    ) -> tuple[list[ChangeEvent], ChunkProgress | None]:
        """Return the next rows as `r` events and the progress to save once published."""
        for name, table in self.tables.items():
            entry = self.state[name]
            if entry["done"]:
                continue
            rows = read_chunk(self.conn, table, entry["last_key"], chunk_rows)
            self.state[name] = {
                "last_key": list(rows[-1][0]) if rows else entry["last_key"],
                "done": len(rows) < chunk_rows,
                "rows": int(entry.get("rows", 0)) + len(rows),
            }
            if rows:
                return self._events(table, rows, prefix, db), ChunkProgress(self.saved_state())
        return [], None

    def _events(
        self, table: SnapshotTable, rows: list[tuple[tuple[Any, ...], tuple[Any, ...]]],
        prefix: str, db: str,
    ) -> list[ChangeEvent]:  # fmt: skip
        events = read_events(table, [raw for _, raw in rows], prefix, db, self.lsn, self.rows)
        self.rows += len(events)
        return events

    def finish(self) -> None:
        self.conn.commit()
        self.conn.close()


def query(conn: Any, text: Any, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on a psycopg2 connection; its rows ([] if it returns none)."""
    with conn.cursor() as cur:
        cur.execute(text, args)
        return cur.fetchall() if cur.description else []


def event_columns(columns: Sequence[Any]) -> tuple[Column, ...]:
    """Event column metadata from pgoutput-style columns (name, kind, scale, type_oid)."""
    return tuple(
        Column(c.name, c.kind, c.scale, int_bits=pgoutput.INT_BITS.get(c.type_oid, 64))
        for c in columns
    )


def read_chunk(
    conn: Any, table: SnapshotTable, last_key: Sequence[Any] | None, limit: int
) -> list[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    """Read up to `limit` rows after `last_key` in key order: [(key as text, row as text)]."""
    # Qualified with the alias: a bare name in ORDER BY would pick the ::text output column.
    key_cols = sql.SQL(", ").join(sql.Identifier("t", k) for k in table.key)
    key_text = sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(k)) for k in table.key)
    columns = sql.SQL(", ").join(
        sql.SQL("{}::text").format(sql.Identifier(c.name)) for c in table.columns
    )
    where = sql.SQL("")
    args: list[Any] = []
    if last_key is not None:
        marks = sql.SQL(", ").join(sql.Placeholder() for _ in table.key)
        where = sql.SQL("WHERE ({}) > ({})").format(key_cols, marks)
        args = list(last_key)
    query = sql.SQL("SELECT {}, {} FROM {} AS t {} ORDER BY {} LIMIT %s").format(
        key_text, columns, sql.Identifier(table.schema, table.name), where, key_cols
    )
    with conn.cursor() as cur:
        cur.execute(query, (*args, limit))
        fetched = cur.fetchall()
    width = len(table.key)
    return [(tuple(r[:width]), tuple(r[width:])) for r in fetched]


def read_events(
    table: SnapshotTable, rows: Sequence[tuple[Any, ...]], prefix: str, db: str, lsn: int,
    index: int, mark: str | None = None,
) -> list[ChangeEvent]:  # fmt: skip
    """Turn rows read as text into `r` events at positions (lsn - 1, index + 1), ...

    `lsn` is where the rows belong in the stream (the slot's consistent point, or a high
    watermark's LSN, which PostgreSQL reports as the end of its record). A transaction
    whose commit record starts right there has `lsn` as its commit LSN, and its events
    must sort after the rows: hence lsn - 1, which no commit before it can reach (WAL
    records are 8-byte aligned). `mark` is source.snapshot for every row; by default
    "first" for the first row of the snapshot, else "true".
    """
    now = int(time.time() * 1000)
    columns = event_columns(table.columns)
    events = []
    for raw in rows:
        index += 1
        after = {
            c.name: types.encode(c.kind, pgoutput.to_python(c, v), c.scale)
            for c, v in zip(table.columns, raw, strict=True)
        }
        source = Source(
            name=prefix, db=db, schema=table.schema, table=table.name, ts_ms=now,
            snapshot=mark or ("first" if index == 1 else "true"), lsn=lsn,
            sequence=json.dumps([str(lsn - 1), str(index)], separators=(",", ":")),
        )  # fmt: skip
        key = {k: after[k] for k in table.key}
        event = ChangeEvent(
            op="r", source=source, ts_ms=now, key=key, after=after,
            position=Position(lsn - 1, index), columns=columns, key_columns=table.key,
        )  # fmt: skip
        events.append(event)
    return events
