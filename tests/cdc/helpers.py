"""Small builders shared by the CDC tests: source tables, events, records."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import sqlalchemy as sa

from cdc.event import ChangeEvent, Source, to_messages
from cdc.position import Position
from cdc.transport import Record


def source(table: str = "products", ts_ms: int = 1_700_000_000_000) -> Source:
    return Source(
        name="shop", db="shop", schema="main", table=table, ts_ms=ts_ms, connector="sqlite"
    )


def event(op: str, n: int, key: int, table: str = "products", **row) -> ChangeEvent:
    image = {"id": key, **row}
    return ChangeEvent(
        op=op,
        source=source(table),
        ts_ms=1,
        key={"id": key},
        before=image if op in ("u", "d") else None,
        after=image if op != "d" else None,
        position=Position(n, 0),
    )


def records(events: Iterable[ChangeEvent], start: int = 0, partition: int = 0) -> list[Record]:
    out: list[Record] = []
    for e in events:
        for message in to_messages(e):
            out.append(Record(message, partition, start + len(out)))
    return out


def checksum(url_or_engine, table: str, key: str = "id") -> tuple[int, str]:
    """Return (row count, sha256 of the rows in key order) for comparing databases."""
    engine = sa.create_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f'SELECT * FROM "{table}" ORDER BY {key}')).all()
    digest = hashlib.sha256(repr([tuple(str(v) for v in r) for r in rows]).encode()).hexdigest()
    return len(rows), digest
