"""Per-table pipeline status: captured, delivered, applied, lag, position, dead letters."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from cdc import sink_state
from cdc.capture_pg import PgCapture
from cdc.capture_sqlite import SqliteCapture
from cdc.sink import Sink


@dataclass(frozen=True)
class TableStatus:
    table: str
    topic: str
    captured: int | None
    delivered: int | None
    applied: int | None
    lag_events: int | None
    lag_ms: int | None
    position: str | None
    snapshot: str | None
    dead_letters: int | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def table_status(capture: SqliteCapture | PgCapture | None, sink: Sink | None) -> list[TableStatus]:
    """Collect what each side knows; a side not given reports None."""
    tables: dict[str, str] = {}
    delivered: dict[str, int] = {}
    pending: dict[str, int] = {}
    snapshots: dict[str, tuple[int, bool]] = {}
    position: str | None = None
    if isinstance(capture, PgCapture):
        wal = capture.retained_wal_bytes()
        position = f"slot {capture.slot}, retained WAL {wal} bytes"
        tables = {t.split(".")[-1]: f"{capture.prefix}.{t}" for t in capture.tables()}
        capture = None
    elif capture is not None:
        tables = {m.name: capture.topic(m.name) for m in capture.tables()}
        delivered = capture.delivered_counts()
        pending = capture.pending_changes()
        snapshots = capture.snapshot_progress()
        position = f"change_id {capture.delivered()}" if capture.has_position() else None
    applied: dict[str, dict[str, Any]] = {}
    dead: dict[str, int] = {}
    if sink is not None:
        with sink.engine.connect() as conn:
            for row in sink_state.stats(conn, sink.pipeline):
                applied[row["source_table"]] = row
        for letter in sink.dead_letters():
            table = _table_of(letter.message.value) or letter.topic.rsplit(".", 1)[-1]
            dead[table] = dead.get(table, 0) + 1
        for table in set(applied) | set(dead):
            tables.setdefault(table, "")
    out = []
    for table, topic in sorted(tables.items()):
        captured = None
        if capture is not None:
            captured = delivered.get(table, 0) + pending.get(table, 0)
        stats = applied.get(table)
        applied_n = int(stats["applied"]) if stats else (0 if sink is not None else None)
        snap = snapshots.get(table)
        out.append(
            TableStatus(
                table=table,
                topic=topic,
                captured=captured,
                delivered=delivered.get(table, 0) if capture is not None else None,
                applied=applied_n,
                lag_events=(
                    max(0, captured - applied_n)
                    if captured is not None and applied_n is not None
                    else None
                ),
                lag_ms=int(stats["last_lag_ms"]) if stats and stats["last_lag_ms"] else None,
                position=position,
                snapshot=None
                if snap is None
                else f"{snap[0]} rows, {'done' if snap[1] else 'running'}",
                dead_letters=dead.get(table, 0) if sink is not None else None,
            )
        )
    return out


def _snapshot_text(snap: tuple[int, bool] | None) -> str | None:
    if snap is None:
        return None
    return f"{snap[0]} rows, {'done' if snap[1] else 'running'}"


def _table_of(value: bytes | None) -> str | None:
    try:
        doc = json.loads(value or b"")
        doc = doc.get("payload", doc)
        return str(doc["source"]["table"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def count_rows(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        return int(conn.execute(sa.text(f'SELECT COUNT(*) FROM "{table}"')).scalar_one())
