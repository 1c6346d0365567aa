"""Stored shadow comparisons, for the verification step: one row per mirrored request.

Rows are written by a background thread from a bounded queue so that the event loop
never waits on the database; when the queue is full the comparison is dropped and
counted rather than delaying anything.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from router.store import normalise_url

_meta = sa.MetaData()
rows = sa.Table(
    "strangler_shadow_comparisons",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("route", sa.String(100), nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("request_id", sa.String(100), nullable=False),
    sa.Column("primary_status", sa.Integer, nullable=False),
    sa.Column("shadow_status", sa.Integer, nullable=True),
    sa.Column("primary_digest", sa.String(64), nullable=False),
    sa.Column("shadow_digest", sa.String(64), nullable=False),
    sa.Column("match", sa.Boolean, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("differences", sa.Text, nullable=False),
)


@dataclass(frozen=True)
class Record:
    route: str
    method: str
    target: str
    request_id: str
    primary_status: int
    shadow_status: int | None
    primary_digest: str
    shadow_digest: str
    match: bool
    error: str
    differences: tuple[dict[str, Any], ...]


class ComparisonStore:
    """Append comparisons (from a writer thread) and read them back."""

    def __init__(self, url: str, capacity: int = 10000) -> None:
        self.engine = sa.create_engine(normalise_url(url))
        _meta.create_all(self.engine)
        self._queue: queue.Queue[tuple[Any, Callable[[Any], Record]] | None] = queue.Queue(capacity)
        self.dropped = 0
        self._thread = threading.Thread(target=self._drain, name="comparisons", daemon=True)
        self._thread.start()

    def add(self, item: Any, finish: Callable[[Any], Record] = lambda r: r) -> bool:
        """Queue `finish(item)` (which builds the Record) to run and be stored off-loop."""
        try:
            self._queue.put_nowait((item, finish))
            return True
        except queue.Full:
            self.dropped += 1
            return False

    def flush(self) -> None:
        self._queue.join()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)
        self.engine.dispose()

    def recent(self, route: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        query = sa.select(rows).order_by(rows.c.id.desc()).limit(limit)
        if route:
            query = query.where(rows.c.route == route)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query)]

    def summary(self) -> list[dict[str, Any]]:
        """Return per-route totals and match rates."""
        total = sa.func.count()
        matched = sa.func.sum(sa.case((rows.c.match, 1), else_=0))
        query = sa.select(rows.c.route, total, matched).group_by(rows.c.route)
        with self.engine.connect() as conn:
            return [
                {"route": r, "total": t, "matched": int(m or 0), "match_rate": (m or 0) / t}
                for r, t, m in conn.execute(query)
            ]

    def _drain(self) -> None:
        # Batch: after the first item, gather for up to 50 ms (or 500 items) and write
        # them in one transaction, so the per-comparison cost (and the GIL time taken
        # from the event loop) stays small under load.
        done = False
        while not done:
            batch = [self._queue.get()]
            deadline = time.monotonic() + 0.05
            while batch[-1] is not None and len(batch) < 500:
                try:
                    batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            done = batch[-1] is None
            items = [b for b in batch if b is not None]
            try:
                if items:
                    self._write(items)
            except Exception:  # a failed write must not kill the writer
                self.dropped += len(items)
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _write(self, items: list[tuple[Any, Callable[[Any], Record]]]) -> None:
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        values = []
        for item, finish in items:
            row = vars(finish(item)).copy()  # asdict would deep-copy the differences
            row["differences"] = json.dumps(row["differences"], default=str)
            row["created_at"] = now
            values.append(row)
        with self.engine.begin() as conn:
            conn.execute(rows.insert(), values)


def _row(r: Any) -> dict[str, Any]:
    data = dict(r._mapping)
    data["differences"] = json.loads(data["differences"])
    return data
