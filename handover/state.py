"""The stored state of handovers: one run per context, and the CDC direction per context.

A SQL database (SQLite file by default) shared by the command and the sync workers:
the command writes the direction it wants, a worker (cdc_control.run_directed) obeys it
and records what it runs with a heartbeat, so the command knows when it took effect.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from handover.plan import FORWARD, Run

DEFAULT_URL = "sqlite:///var/handover.db"

_meta = sa.MetaData()
runs = sa.Table(
    "handover_runs", _meta,
    sa.Column("context", sa.String(100), primary_key=True),
    sa.Column("op", sa.String(20), nullable=False),
    sa.Column("step", sa.String(20), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
)  # fmt: skip
directions = sa.Table(
    "handover_directions", _meta,
    sa.Column("context", sa.String(100), primary_key=True),
    sa.Column("wanted", sa.String(10), nullable=False),
    sa.Column("running", sa.String(10)),  # what the worker runs now
    sa.Column("worker_ms", sa.BigInteger),  # the worker's last heartbeat
)  # fmt: skip


@dataclass(frozen=True)
class Direction:
    wanted: str
    running: str | None
    worker_ms: int | None


class HandoverState:
    """Runs and directions in a SQL database."""

    def __init__(self, url: str = DEFAULT_URL) -> None:
        if "://" not in url:
            url = "sqlite:///" + url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        args = {"timeout": 10} if url.startswith("sqlite") else {}
        self.url = url
        self.engine = sa.create_engine(url, connect_args=args)
        _meta.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def run(self, context: str) -> Run | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.context == context)).first()
        if row is None:
            return None
        body = json.loads(row.body)
        return Run(context, row.op, row.step, body["modes"], body["position"], body["hold"])

    def save(self, run: Run) -> None:
        body = json.dumps(
            {"modes": dict(run.modes), "position": run.position, "hold": run.hold_started}
        )
        values = {"op": run.op, "step": run.step, "body": body, "updated_ms": _now_ms()}
        with self.engine.begin() as conn:
            done = conn.execute(runs.update().where(runs.c.context == run.context).values(values))
            if not done.rowcount:
                conn.execute(runs.insert().values(context=run.context, **values))

    def finish(self, context: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(runs.delete().where(runs.c.context == context))

    def direction(self, context: str) -> Direction:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(directions).where(directions.c.context == context)).first()
        if row is None:
            return Direction(FORWARD, None, None)
        return Direction(row.wanted, row.running, row.worker_ms)

    def want(self, context: str, wanted: str) -> None:
        self._upsert(context, wanted=wanted)

    def heartbeat(self, context: str, running: str) -> None:
        self._upsert(context, running=running, worker_ms=_now_ms())

    def _upsert(self, context: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            done = conn.execute(
                directions.update().where(directions.c.context == context).values(values)
            )
            if not done.rowcount:
                conn.execute(
                    directions.insert().values({"context": context, "wanted": FORWARD, **values})
                )


def _now_ms() -> int:
    return int(time.time() * 1000)
