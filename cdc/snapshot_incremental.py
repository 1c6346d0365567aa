"""On-demand snapshots of a streaming PostgreSQL source, the DBLog / Debezium incremental way.

A request is a row in `_cdc_pg_signal` (the signalling table, published with the captured
tables): the capture holding the slot sees it in the stream, in commit order, and queues
its tables. Each table is then read in chunks by primary key while streaming goes on:

1. a low watermark goes into the WAL (pg_logical_emit_message, not transactional, so it is
   decoded at its own position among the commits);
2. the chunk is read by keyset, in a REPEATABLE READ transaction that also records
   pg_current_snapshot();
3. a high watermark goes into the WAL.

When the stream reaches the low watermark the window opens: a change committed inside the
window to a key of the chunk drops that key from the chunk, since the stream's event is
newer. At the high watermark the rows left are emitted as op 'r' (source.snapshot
"incremental") at positions (high watermark LSN - 1, i) (see read_events), between the
transactions before and after it, so a sink applies them in order and a stale row never
overwrites a newer one.
One more case drops keys: a transaction whose commit record precedes the low watermark but
which was not yet visible to the chunk's read (the short step between writing a commit
record and leaving the proc array). While the chunk is open the capture notes which
transactions touched its keys; the chunk snapshot's in-progress list names those the read
missed. (Only transactions decoded after the chunk was opened are noted: one decoded
before it was visible long before the read.)

Progress (queued tables, each table's last key and row count, the last signal handled) is
saved in `_cdc_pg_incremental` when the batch that moved it is acknowledged, that is after
it was published. An open chunk is not saved: after a restart it is read again under new
watermarks, and watermarks of a previous process are ignored.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cdc import pgoutput
from cdc.event import ChangeEvent
from cdc.snapshot_pg import SnapshotTable, query, read_chunk, read_events

SIGNAL_TABLE = "_cdc_pg_signal"
STATE_TABLE = "_cdc_pg_incremental"
LOW = "strangler.snapshot.low"
HIGH = "strangler.snapshot.high"
CREATE_TABLES = (
    f"CREATE TABLE IF NOT EXISTS {SIGNAL_TABLE} (id bigserial PRIMARY KEY, slot text NOT NULL,"
    " tables text NOT NULL, created timestamptz NOT NULL DEFAULT now())",
    f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (slot text PRIMARY KEY, state text NOT NULL)",
)
Key = tuple[Any, ...]
ALL: Key = ("*all*",)  # a truncate touches every key


@dataclass
class _Chunk:
    id: str
    name: str  # as queued: "schema.table"
    table: SnapshotTable
    rows: dict[Key, tuple[Any, ...]]  # key as text -> row as text, in key order
    last_key: list[Any] | None
    more: bool  # the chunk was full: the table may have rows after last_key
    in_progress: set[int]  # 32-bit xids the read could not see
    window: bool = False
    touched: dict[int, set[Key]] = field(default_factory=dict)  # before the window

    def drop(self, keys: set[Key]) -> None:
        if ALL in keys:
            self.rows.clear()
        for key in keys:
            self.rows.pop(key, None)


class IncrementalSnapshot:
    """The queue of requested tables and the chunk being read, for one slot."""

    def __init__(self, conn: Any, slot: str, prefix: str, db: str) -> None:
        self.conn, self.slot, self.prefix, self.db = conn, slot, prefix, db
        self.state: dict[str, Any] = {"signal": 0, "tables": []}
        self.chunk: _Chunk | None = None
        self.dirty = False  # the state moved since the last saved_state()
        if query(self.conn, f"SELECT to_regclass('{STATE_TABLE}')")[0][0]:
            rows = query(self.conn, f"SELECT state FROM {STATE_TABLE} WHERE slot = %s", (slot,))
            if rows:
                self.state = json.loads(rows[0][0])

    @property
    def active(self) -> bool:
        return any(not t["done"] for t in self.state["tables"])

    def progress(self) -> dict[str, tuple[int, bool]]:
        """{table name: (rows published, done)} of the tables requested so far."""
        return {t["name"].rpartition(".")[2]: (t["rows"], t["done"]) for t in self.state["tables"]}

    def on_signal(self, signal_id: int, tables: Sequence[str]) -> None:
        """Queue the tables of a request seen in the stream (each once, from its start)."""
        if signal_id <= self.state["signal"]:
            return  # replayed after a restart: already queued
        self.state["signal"] = signal_id
        for name in tables:
            self.state["tables"] = [t for t in self.state["tables"] if t["name"] != name]
            self.state["tables"].append({"name": name, "last_key": None, "rows": 0, "done": False})
            if self.chunk is not None and self.chunk.name == name:
                self.chunk = None  # restart that table from its first key
        self.dirty = True

    def saved_state(self) -> str | None:
        """The state to save once everything read so far is published (None if unchanged)."""
        if not self.dirty:
            return None
        self.dirty = False
        return json.dumps(self.state)

    def save(self, state: str) -> None:
        query(
            self.conn,
            f"INSERT INTO {STATE_TABLE} VALUES (%s, %s) ON CONFLICT (slot)"
            " DO UPDATE SET state = excluded.state",
            (self.slot, state),
        )

    def open_chunk(self, chunk_rows: int, describe: Callable[[str], SnapshotTable]) -> None:
        """Read the next chunk between a low and a high watermark (no-op if one is open)."""
        if self.chunk is not None or not self.active:
            return
        entry = next(t for t in self.state["tables"] if not t["done"])
        table = describe(entry["name"])
        chunk_id = uuid.uuid4().hex
        self._emit(LOW, chunk_id)
        query(self.conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            snapshot = query(self.conn, "SELECT pg_current_snapshot()::text")[0][0]
            rows = read_chunk(self.conn, table, entry["last_key"], chunk_rows)
        finally:
            query(self.conn, "COMMIT")
        self._emit(HIGH, chunk_id)
        in_progress = {int(x) & 0xFFFFFFFF for x in snapshot.split(":")[2].split(",") if x}
        last_key = list(rows[-1][0]) if rows else entry["last_key"]
        self.chunk = _Chunk(
            chunk_id, entry["name"], table, dict(rows), last_key, len(rows) >= chunk_rows,
            in_progress,
        )  # fmt: skip

    def _emit(self, prefix: str, chunk_id: str) -> None:
        query(self.conn, "SELECT pg_logical_emit_message(false, %s, %s)", (prefix, chunk_id))

    def on_commit(
        self, xid: int, changes: Sequence[tuple[Any, Any]], key: Callable[[Any], tuple[str, ...]]
    ) -> None:
        """Note which keys of the open chunk a committed transaction changed."""
        chunk = self.chunk
        if chunk is None:
            return
        keys: set[Key] = set()
        for rel, change in changes:
            if rel.name != chunk.table.name or rel.schema != chunk.table.schema:
                continue
            if isinstance(change, pgoutput.Truncate):
                keys.add(ALL)
                continue
            names = [c.name for c in rel.columns]
            indexes = [names.index(k) for k in key(rel)]
            for values in (change.old, change.new):
                if values is not None:
                    keys.add(tuple(values[i] for i in indexes))
        if not chunk.window:  # only keys of the chunk matter (and bound the memory)
            keys = {k for k in keys if k in chunk.rows or k == ALL}
        if not keys:
            return
        if chunk.window:
            chunk.drop(keys)
        else:
            chunk.touched.setdefault(xid, set()).update(keys)

    def on_message(self, message: pgoutput.LogicalMessage) -> list[ChangeEvent] | None:
        """Handle a watermark; at this chunk's high one, return its rows as 'r' events."""
        chunk = self.chunk
        if chunk is None or message.content.decode() != chunk.id:
            return None  # another process's (or an abandoned) chunk
        if message.prefix == LOW:
            chunk.window = True
            for xid in chunk.in_progress & chunk.touched.keys():
                chunk.drop(chunk.touched[xid])
            chunk.touched.clear()
            return None
        self.chunk = None
        entry = next(t for t in self.state["tables"] if t["name"] == chunk.name)
        events = read_events(
            chunk.table, list(chunk.rows.values()), self.prefix, self.db, message.lsn, 0,
            mark="incremental",
        )  # fmt: skip
        entry.update(last_key=chunk.last_key, rows=entry["rows"] + len(events), done=not chunk.more)
        self.dirty = True
        return events
