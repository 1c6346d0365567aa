"""PostgreSQL capture: logical decoding with the built-in pgoutput plugin via psycopg2.

`setup` creates a publication for the chosen tables (optionally REPLICA IDENTITY FULL, for
full before-images) and a logical replication slot; nothing is installed on the server.
`next_batch` reads whole transactions from the slot (events are built at COMMIT, in commit
order, by cdc/pg_events.py) and `ack` sends flush feedback so the server can free WAL;
when idle, feedback follows the server's keepalive position (a heartbeat), so an idle
captured database does not pin WAL. Positions are (commit LSN, index within the transaction).
`run` first takes the initial snapshot in the slot's exported snapshot (cdc/snapshot_pg.py);
once streaming, `snapshot` requests reach the capture through the signal table and are
read as incremental snapshots between watermarks (cdc/snapshot_incremental.py). The
requests themselves, and a start with no snapshot, are in cdc/pg_snapshot_requests.py.
"""

from __future__ import annotations

import json
import select
import time
from dataclasses import dataclass
from typing import Any

import psycopg2
import psycopg2.extras
from psycopg2 import sql

from cdc import pgoutput
from cdc.capture import CaptureBatch
from cdc.errors import CdcError
from cdc.event import ChangeEvent, Column
from cdc.pg_catalog import ORIGIN_TABLE
from cdc.pg_events import PgEvents, PgTxn
from cdc.pg_snapshot_requests import PgSnapshotRequests
from cdc.snapshot_incremental import HIGH, LOW, SIGNAL_TABLE, STATE_TABLE, IncrementalSnapshot
from cdc.snapshot_pg import PgSnapshot

HEARTBEAT = "strangler.heartbeat"
HEARTBEAT_INTERVAL_S = 10.0


@dataclass(frozen=True)
class PgBatch:
    events: tuple[ChangeEvent, ...]
    flush_lsn: int | None
    delivered_per_table: tuple[tuple[str, int], ...] = ()
    chunk: None = None
    last_change_id: int | None = None
    snapshot_state: str | None = None
    incremental_state: str | None = None


def _dsn(url: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    parts = {
        "host": parsed.host or "127.0.0.1", "port": parsed.port or 5432,
        "user": parsed.username, "password": parsed.password, "dbname": parsed.database,
    }  # fmt: skip
    return " ".join(f"{k}={v}" for k, v in parts.items() if v is not None)


def format_lsn(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


class PgCapture(PgSnapshotRequests, PgEvents):
    """Capture changes of chosen tables of one PostgreSQL database through a slot."""

    # Events always carry txId and the commit LSN, and a batch holds whole transactions,
    # so transaction metadata needs nothing more from this capture (see cdc/txn.py).
    transactions = False

    def __init__(self, url: str, *, prefix: str = "strangler", slot: str = "strangler") -> None:
        self.url = url
        self.prefix = prefix
        self.slot = slot
        self.publication = f"{slot}_pub"
        self.dsn = _dsn(url)
        try:
            self.conn = psycopg2.connect(self.dsn)
        except psycopg2.Error as exc:
            raise CdcError(f"cannot connect to the source: {str(exc).strip()}") from None
        self.conn.autocommit = True
        self.db_name = self.conn.info.dbname
        self._repl: Any = None
        self._cur: Any = None
        self._relations: dict[int, pgoutput.Relation] = {}
        self._keys: dict[int, tuple[str, ...]] = {}
        self._not_null: dict[int, set[str]] = {}
        self._goal: int | None = None
        self._snapshot: PgSnapshot | None = None
        self._flushed = 0
        self._heartbeat_seen = 0
        self._last_heartbeat = time.monotonic()
        self._open: PgTxn | None = None
        self._ready: list[tuple[pgoutput.Commit, PgTxn]] = []
        self._ready_changes = 0
        self._columns: dict[int, tuple[pgoutput.Relation, tuple[Column, ...]]] = {}
        self._incremental: IncrementalSnapshot | None = None
        self._signal_relid: int | None = None
        self._signals: list[tuple[int, list[str]]] = []  # in the open transaction
        self._chunks: list[tuple[int, list[ChangeEvent]]] = []  # (place in _ready, rows)
        self._requested = 0  # the signal this process wrote and waits for

    def teardown(self) -> None:
        """Drop the slot (freeing its WAL), the publication and the snapshot marker."""
        self.close_stream()
        self._drop_slot()
        for table in ("_cdc_pg_snapshot", SIGNAL_TABLE, STATE_TABLE):
            if self._query("SELECT to_regclass(%s)", (table,))[0][0]:
                self._query(sql.SQL("DELETE FROM {} WHERE slot = %s").format(
                    sql.Identifier(table)), (self.slot,))  # fmt: skip
        drop = sql.SQL("DROP PUBLICATION IF EXISTS {}")
        self._query(drop.format(sql.Identifier(self.publication)))
        self._query("DROP TABLE IF EXISTS _cdc_origin")

    def topics(self) -> list[str]:
        return [f"{self.prefix}.{t}" for t in self.tables()]

    def slot_active(self) -> bool:
        """Tell whether a process (a `run`) is streaming from the slot right now."""
        rows = self._query(
            "SELECT active FROM pg_replication_slots WHERE slot_name = %s", (self.slot,)
        )
        return bool(rows and rows[0][0])

    def pending_changes(self) -> dict[str, int]:
        """Report {"(stream)": 1} until the stream has passed a heartbeat written now.

        The heartbeat is a non-transactional logical message: every transaction committed
        before it is decoded before it, so seeing it means the stream has caught up.
        """
        if self._snapshot is not None:
            return {"(snapshot)": 1}
        if self._goal is None:
            self._goal = self.heartbeat()
        if self._heartbeat_seen >= self._goal and self._open is None and not self._ready:
            self._goal = None
            return {}
        return {"(stream)": 1}

    def heartbeat(self) -> int:
        """Write a heartbeat into the WAL; return its LSN."""
        self._last_heartbeat = time.monotonic()
        rows = self._query(
            "SELECT pg_logical_emit_message(false, %s, 'hb') - '0/0'::pg_lsn", (HEARTBEAT,)
        )
        return int(rows[0][0])

    def state(self, name: str) -> str | None:
        return "slot"

    def _stream(self) -> Any:
        deadline = time.monotonic() + 30
        while self._cur is None:
            repl = psycopg2.connect(
                self.dsn, connection_factory=psycopg2.extras.LogicalReplicationConnection
            )
            cur = repl.cursor()
            try:
                cur.start_replication(
                    slot_name=self.slot, decode=False,
                    options={
                        "proto_version": "1", "publication_names": self.publication,
                        "messages": "true",
                    },
                )  # fmt: skip
            except psycopg2.errors.ObjectInUse:
                repl.close()  # a killed predecessor's walsender has not exited yet
                if time.monotonic() > deadline:
                    raise CdcError(f"slot {self.slot!r} is in use by another process") from None
                time.sleep(0.2)
                continue
            self._repl, self._cur = repl, cur
        return self._cur

    def close_stream(self) -> None:
        if self._repl is not None:
            self._repl.close()
        self._repl = self._cur = None
        self._open, self._ready, self._ready_changes = None, [], 0
        # The stream restarts at the acknowledged position: so does the incremental snapshot.
        self._chunks, self._signals, self._incremental = [], [], None

    def next_batch(
        self, max_changes: int = 1000, chunk_rows: int = 0, wait_s: float = 0.1
    ) -> PgBatch:
        """Read whole committed transactions (at least one change's worth, up to max_changes).

        While the initial snapshot runs, return its next chunk instead.
        """
        if self._snapshot is not None:
            rows, progress = self._snapshot.next_chunk(
                self.prefix, self.db_name, chunk_rows or 2000
            )
            if rows:
                self._query(
                    "UPDATE _cdc_pg_snapshot SET reserved = %s WHERE slot = %s",
                    (self._snapshot.rows, self.slot),
                )
                state = progress.state if progress else None
                return PgBatch(tuple(rows), None, snapshot_state=state)
            self._snapshot.finish()
            self._snapshot = None
            self._query("UPDATE _cdc_pg_snapshot SET done = true WHERE slot = %s", (self.slot,))
        cur = self._stream()
        incremental = self.incremental()
        incremental.open_chunk(chunk_rows or 2000, self._describe)
        deadline = time.monotonic() + wait_s
        while self._ready_changes < max_changes:
            message = cur.read_message()
            if message is None:
                if self._ready or self._chunks or time.monotonic() >= deadline:
                    break
                select.select([cur], [], [], max(0.0, deadline - time.monotonic()))
                continue
            self._consume(pgoutput.decode(message.payload))
        ready, self._ready, self._ready_changes = self._ready, [], 0
        chunks, self._chunks = self._chunks, []
        events: list[ChangeEvent] = []
        counts: dict[str, int] = {}
        for place, (commit, txn) in enumerate(ready):
            while chunks and chunks[0][0] == place:  # snapshot rows at their watermark
                events.extend(chunks.pop(0)[1])
            for index, (relation, change) in enumerate(txn.changes):
                events.extend(self._events(relation, change, txn, commit, index * 3))
                counts[relation.name] = counts.get(relation.name, 0) + 1
        for _, rows in chunks:
            events.extend(rows)
        flush = ready[-1][0].end_lsn if ready else None
        if flush is None and self._open is None and self._heartbeat_seen > self._flushed:
            flush = self._heartbeat_seen  # idle: a heartbeat lets the server free WAL
        if not ready and time.monotonic() - self._last_heartbeat > HEARTBEAT_INTERVAL_S:
            self.heartbeat()
        return PgBatch(
            tuple(events), flush, tuple(counts.items()),
            incremental_state=incremental.saved_state(),
        )  # fmt: skip

    def _consume(self, item: Any) -> None:
        if isinstance(item, pgoutput.LogicalMessage):
            if item.prefix == HEARTBEAT:
                self._heartbeat_seen = max(self._heartbeat_seen, item.lsn)
            elif item.prefix in (LOW, HIGH):
                rows = self.incremental().on_message(item)
                if rows is not None:
                    self._chunks.append((len(self._ready), rows))
        elif isinstance(item, pgoutput.Relation):
            self._relations[item.relid] = item
            self._keys.pop(item.relid, None)
            if item.name == SIGNAL_TABLE:
                self._signal_relid = item.relid
        elif isinstance(item, pgoutput.Begin):
            self._open = PgTxn(item)
        elif isinstance(item, pgoutput.Commit) and self._open is not None:
            if self._signals:
                for signal_id, tables in self._signals:
                    self.incremental().on_signal(signal_id, tables)
                self._signals = []
            if self._incremental is not None and self._incremental.chunk is not None:
                self._incremental.on_commit(
                    self._open.begin.xid, self._open.changes, self._primary_key
                )
            origin_marked = any(rel.name == ORIGIN_TABLE for rel, _ in self._open.changes)
            if self._open.changes and not origin_marked:
                self._ready.append((item, self._open))
                self._ready_changes += len(self._open.changes)
            self._open = None
        elif isinstance(item, pgoutput.Change | pgoutput.Truncate) and self._open is not None:
            if isinstance(item, pgoutput.Change) and item.relid == self._signal_relid:
                if item.new is not None and item.new[1] == self.slot:  # (id, slot, tables, ..)
                    self._signals.append((int(item.new[0]), json.loads(item.new[2])))
            elif isinstance(item, pgoutput.Truncate):
                for relid in item.relids:
                    self._open.changes.append((self._relations[relid], item))
            else:
                self._open.changes.append((self._relations[item.relid], item))

    def ack(self, batch: CaptureBatch) -> None:
        """Tell the server everything up to the batch is durably published (frees WAL)."""
        if not isinstance(batch, PgBatch):
            raise CdcError("a PostgreSQL capture acknowledges only the batches it read")
        if batch.snapshot_state:
            self._query(
                "UPDATE _cdc_pg_snapshot SET state = %s WHERE slot = %s",
                (batch.snapshot_state, self.slot),
            )
        if batch.incremental_state:
            self.incremental().save(batch.incremental_state)
        if batch.flush_lsn and self._cur is not None:
            self._cur.send_feedback(flush_lsn=batch.flush_lsn, reply=True)
            self._flushed = max(self._flushed, batch.flush_lsn)

    def close(self) -> None:
        self.close_stream()
        self.conn.close()
