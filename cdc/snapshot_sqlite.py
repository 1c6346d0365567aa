"""Chunked, resumable initial snapshots of SQLite tables, emitted as `op: "r"` events.

Each chunk is read (keyset by primary key) in the same read transaction as the change
log up to the head change id H, and published after those changes: the chunk shows the
rows as of H and every later change follows it, so nothing is lost or reordered at the
hand-off (DBLog's watermark rule with the read transaction as the window). Progress
(last key per table) is saved only when the chunk is acknowledged, so a crash re-reads
at most the unacknowledged chunk and never re-sends finished ones.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from cdc.event import ChangeEvent, Source
from cdc.position import Position
from cdc.sqlite_meta import TableMeta

# Change events at one change id use indexes 0..2 (delete, tombstone, create on a key
# change), so snapshot rows read at that change id start above them.
SNAPSHOT_INDEX_BASE = 3


@dataclass(frozen=True)
class PendingSnapshot:
    table: str
    last_key: tuple[Any, ...] | None
    rows: int


@dataclass(frozen=True)
class SnapshotChunk:
    """One chunk read: its events and the progress to save once they are published."""

    table: str
    events: tuple[ChangeEvent, ...]
    last_key: tuple[Any, ...] | None
    done: bool
    rows_after: int
    counter_after: int

    def save(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            "UPDATE _cdc_snapshot SET last_key = ?, done = ?, rows = ? WHERE name = ?",
            (
                None if self.last_key is None else json.dumps(self.last_key),
                int(self.done),
                self.rows_after,
                self.table,
            ),
        )


def pending_snapshots(conn: sqlite3.Connection) -> list[PendingSnapshot]:
    rows = conn.execute(
        "SELECT name, last_key, rows FROM _cdc_snapshot WHERE done = 0 ORDER BY name"
    ).fetchall()
    return [PendingSnapshot(n, tuple(json.loads(k)) if k else None, int(r)) for n, k, r in rows]


def snapshot_progress(conn: sqlite3.Connection) -> dict[str, tuple[int, bool]]:
    """Return rows emitted so far and whether done, per table with a snapshot on record."""
    try:
        rows = conn.execute("SELECT name, rows, done FROM _cdc_snapshot").fetchall()
    except sqlite3.OperationalError:
        return {}
    return {n: (int(r), bool(d)) for n, r, d in rows}


def read_chunk(
    conn: sqlite3.Connection,
    metas: Mapping[str, TableMeta],
    pending: list[PendingSnapshot],
    base: Source,
    head: int,
    counter: int,
    chunk_rows: int,
) -> SnapshotChunk:
    """Read the next chunk of the first pending table (inside the caller's read txn)."""
    item = pending[0]
    meta = metas[item.table]
    keys = ", ".join(f'r."{k}"' for k in meta.key)
    where = ""
    args: list[Any] = []
    if item.last_key is not None:
        where = f"WHERE ({keys}) > ({', '.join('?' for _ in meta.key)})"
        args.extend(item.last_key)
    sql = f'SELECT {meta.json_object("r")} FROM "{meta.name}" AS r {where} ORDER BY {keys} LIMIT ?'
    rows = [json.loads(r[0]) for r in conn.execute(sql, (*args, chunk_rows))]
    done = len(rows) < chunk_rows
    now = int(time.time() * 1000)
    source = replace(base, table=meta.name, ts_ms=now, lsn=head, change_id=head)
    events = []
    for i, raw in enumerate(rows):
        index = SNAPSHOT_INDEX_BASE + counter + i
        mark = "true"
        if item.rows == 0 and i == 0:
            mark = "first_in_data_collection"
        if done and i == len(rows) - 1:
            mark = "last" if len(pending) == 1 else "last_in_data_collection"
        after = meta.encode_row(raw)
        assert after is not None
        events.append(
            ChangeEvent(
                op="r",
                source=replace(source, snapshot=mark, sequence=json.dumps([str(head), str(index)])),
                ts_ms=now,
                key={k: after[k] for k in meta.key},
                after=after,
                position=Position(head, index),
                columns=meta.columns,
                key_columns=meta.key,
            )
        )
    last_key = tuple(rows[-1][k] for k in meta.key) if rows else item.last_key
    return SnapshotChunk(
        table=meta.name,
        events=tuple(events),
        last_key=last_key,
        done=done,
        rows_after=item.rows + len(rows),
        counter_after=counter + len(rows),
    )
