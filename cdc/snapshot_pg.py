"""The initial snapshot of a PostgreSQL source, read in the slot's exported snapshot.

`CREATE_REPLICATION_SLOT ... LOGICAL pgoutput EXPORT_SNAPSHOT` returns the slot's
consistent point and a snapshot name; a REPEATABLE READ transaction that imports it sees
exactly the data as of that point, and the slot streams every transaction committed
after it. So `r` events (position consistent-point LSN : row number) followed by the
stream have no gap and no overlap. Rows are read as text through a server-side cursor in
chunks and decoded like pgoutput's text values, so snapshot and stream encode alike.
Like Debezium's, an interrupted initial snapshot starts over (new slot): the exported
snapshot does not outlive its session.
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


def parse_lsn(text: str) -> int:
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


class PgSnapshot:
    """Create the slot with an exported snapshot and read the tables in it, chunk by chunk."""

    def __init__(self, dsn: str, slot: str, tables: Sequence[SnapshotTable]) -> None:
        repl = psycopg2.connect(
            dsn, connection_factory=psycopg2.extras.LogicalReplicationConnection
        )
        cur = repl.cursor()
        cur.execute(f'CREATE_REPLICATION_SLOT "{slot}" LOGICAL pgoutput EXPORT_SNAPSHOT')
        _, consistent_point, snapshot_name, _ = cur.fetchone()
        self.lsn = parse_lsn(consistent_point)
        self.conn = psycopg2.connect(dsn)
        with self.conn.cursor() as setup:
            setup.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            setup.execute("SET TRANSACTION SNAPSHOT %s", (snapshot_name,))
        repl.close()  # the imported snapshot lives on in our transaction
        self.tables = list(tables)
        self.rows = 0
        self.progress: dict[str, tuple[int, bool]] = {t.name: (0, False) for t in tables}
        self._cursor: Any = None

    def next_chunk(self, prefix: str, db: str, chunk_rows: int) -> list[ChangeEvent]:
        """Return the next rows as `r` events; [] once every table is read."""
        while self.tables:
            table = self.tables[0]
            if self._cursor is None:
                self._cursor = self.conn.cursor(name=f"snap_{table.name}")
                columns = sql.SQL(", ").join(
                    sql.SQL("{}::text").format(sql.Identifier(c.name)) for c in table.columns
                )
                order = sql.SQL(", ").join(sql.Identifier(k) for k in table.key)
                self._cursor.execute(
                    sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
                        columns, sql.Identifier(table.schema, table.name), order
                    )
                )
            rows = self._cursor.fetchmany(chunk_rows)
            done = self.progress[table.name][0] + len(rows)
            self.progress[table.name] = (done, len(rows) < chunk_rows)
            if rows:
                return self._events(table, rows, prefix, db, last=len(rows) < chunk_rows)
            self._cursor.close()
            self._cursor = None
            self.tables.pop(0)
        return []

    def _events(
        self, table: SnapshotTable, rows: list[tuple[Any, ...]], prefix: str, db: str, last: bool
    ) -> list[ChangeEvent]:
        now = int(time.time() * 1000)
        columns = tuple(
            Column(c.name, c.kind, c.scale, int_bits=pgoutput.INT_BITS.get(c.type_oid, 64))
            for c in table.columns
        )
        events = []
        for i, raw in enumerate(rows):
            self.rows += 1
            after = {
                c.name: types.encode(c.kind, pgoutput.to_python(c, v), c.scale)
                for c, v in zip(table.columns, raw, strict=True)
            }
            mark = "first" if self.rows == 1 else "true"
            if last and i == len(rows) - 1 and len(self.tables) == 1:
                mark = "last"
            source = Source(
                name=prefix, db=db, schema=table.schema, table=table.name, ts_ms=now,
                snapshot=mark, lsn=self.lsn, sequence=json.dumps([str(self.lsn), str(self.rows)], separators=(",", ":")),  # noqa: E501
            )  # fmt: skip
            events.append(
                ChangeEvent(
                    op="r",
                    source=source,
                    ts_ms=now,
                    key={k: after[k] for k in table.key},
                    after=after,
                    position=Position(self.lsn, self.rows),
                    columns=columns,
                    key_columns=table.key,
                )
            )
        return events

    def finish(self) -> None:
        self.conn.commit()
        self.conn.close()
