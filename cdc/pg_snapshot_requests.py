"""Snapshot requests of PostgreSQL capture: the initial one, incremental ones, or none.

The initial snapshot is read in the slot's exported snapshot (cdc/snapshot_pg.py) and
resumed after a crash; once the capture streams, a request is a row in the signal table
that the stream reads as an incremental snapshot between watermarks
(cdc/snapshot_incremental.py). `start_without_snapshot` positions a slot with none.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import psycopg2
from psycopg2 import sql

from cdc.errors import CdcError
from cdc.pg_catalog import PgCatalog
from cdc.snapshot_incremental import SIGNAL_TABLE, IncrementalSnapshot
from cdc.snapshot_pg import PgSnapshot, create_slot_with_snapshot


class PgSnapshotRequests(PgCatalog):
    """Where a capture's stream starts and the snapshots it is asked for (mixed into PgCapture)."""

    dsn: str
    prefix: str
    db_name: str
    _snapshot: PgSnapshot | None
    _incremental: IncrementalSnapshot | None
    _requested: int  # the signal this process wrote and waits for

    def has_position(self) -> bool:
        """True once the slot exists and its initial snapshot (if any) was completed."""
        if self._snapshot is not None or not self._slot_exists():
            return False
        rows = self._query("SELECT done FROM _cdc_pg_snapshot WHERE slot = %s", (self.slot,))
        return bool(rows and rows[0][0])

    def start_without_snapshot(self) -> None:
        """Stream every change from now on, with no initial snapshot (Debezium `no_data`).

        Creates the slot in this database unless it is there, and records it as
        positioned; a slot that exists here is left as it is (a snapshot under way in it
        goes on). A slot of the same name in another database is an error: it is not ours.
        """
        if not self._query("SELECT to_regclass('_cdc_pg_snapshot')")[0][0]:
            raise CdcError("capture is not set up on this source: run `strangler cdc setup` first")
        rows = self._query(
            "SELECT database FROM pg_replication_slots WHERE slot_name = %s", (self.slot,)
        )
        if rows and rows[0][0] != self.db_name:
            raise CdcError(f"slot {self.slot!r} belongs to database {rows[0][0]!r}, not this one")
        if rows:
            if self._query("SELECT 1 FROM _cdc_pg_snapshot WHERE slot = %s", (self.slot,)):
                return
        else:
            self._query("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (self.slot,))
        self._query(
            "INSERT INTO _cdc_pg_snapshot VALUES (%s, true, NULL, 0)"
            " ON CONFLICT (slot) DO UPDATE SET done = true, state = NULL, reserved = 0",
            (self.slot,),
        )

    def request_snapshot(self, tables: Sequence[str] | None = None) -> list[str]:
        """Start (or resume) the initial snapshot in the slot's exported snapshot; once
        streaming, record an incremental snapshot request in the signal table instead."""
        if self.has_position():
            return self._signal(tables)
        described = [self._describe(t) for t in self.tables()]
        rows = self._query(
            "SELECT state, reserved FROM _cdc_pg_snapshot WHERE slot = %s", (self.slot,)
        )
        saved = json.loads(rows[0][0]) if rows and rows[0][0] else None
        if self._slot_exists() and saved is not None:
            # Resume: the exported snapshot is gone, the slot is not (see snapshot_pg.py).
            # Rows are read newer than before, so they take positions above any row an
            # unacknowledged chunk may have published (`reserved`).
            conn = psycopg2.connect(self.dsn)
            self._snapshot = PgSnapshot(conn, described, int(saved["lsn"]), saved)
            self._snapshot.rows = max(self._snapshot.rows, int(rows[0][1] or 0))
        else:
            self._drop_slot()
            lsn, conn = create_slot_with_snapshot(self.dsn, self.slot)
            self._snapshot = PgSnapshot(conn, described, lsn, None)
            self._query(
                "INSERT INTO _cdc_pg_snapshot VALUES (%s, false, %s, 0) ON CONFLICT (slot)"
                " DO UPDATE SET done = false, state = excluded.state, reserved = 0",
                (self.slot, self._snapshot.saved_state()),
            )
        return [t.name for t in described]

    def _signal(self, tables: Sequence[str] | None) -> list[str]:
        captured = self.tables()
        chosen = []
        for name in tables or captured:
            match = [t for t in captured if name in (t, t.rpartition(".")[2])]
            if not match:
                raise CdcError(f"table {name!r} is not captured by slot {self.slot!r}")
            chosen.append(match[0])
        self.ensure_signal_table()
        rows = self._query(
            sql.SQL("INSERT INTO {} (slot, tables) VALUES (%s, %s) RETURNING id").format(
                sql.Identifier(SIGNAL_TABLE)), (self.slot, json.dumps(chosen)),
        )  # fmt: skip
        self._requested = int(rows[0][0])
        return [t.rpartition(".")[2] for t in chosen]

    def incremental(self) -> IncrementalSnapshot:
        if self._incremental is None:
            self._incremental = IncrementalSnapshot(self.conn, self.slot, self.prefix, self.db_name)
        return self._incremental

    def reload_incremental(self) -> None:
        """Read the incremental snapshot's progress again (another process moves it)."""
        self._incremental = None

    def snapshot_progress(self) -> dict[str, tuple[int, bool]]:
        if self._snapshot is not None:
            return dict(self._snapshot.progress)
        incremental = self.incremental()
        if incremental.state["signal"] < self._requested:  # the stream has not reached it
            return {name: (0, False) for name in self._requested_tables()}
        return incremental.progress()

    def _requested_tables(self) -> list[str]:
        rows = self._query(
            sql.SQL("SELECT tables FROM {} WHERE id = %s").format(sql.Identifier(SIGNAL_TABLE)),
            (self._requested,),
        )
        return [t.rpartition(".")[2] for t in json.loads(rows[0][0])] if rows else []
