"""The sink's bookkeeping tables in the target database.

`_cdc_applied` holds, per pipeline and transport partition, the next offset to apply
and the highest source position applied; it is written in the same transaction as the
rows, which is what makes redelivery harmless. `_cdc_sink_stats` counts applied events
per target table with the last commit-to-apply lag. `_cdc_dead_letters` keeps poison
events with their reason and raw bytes.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cdc.event import Message
from cdc.position import Position

META = sa.MetaData()
APPLIED = sa.Table(
    "_cdc_applied", META,
    sa.Column("pipeline", sa.String(200), primary_key=True),
    sa.Column("topic", sa.String(255), primary_key=True),
    sa.Column("partition", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("next_offset", sa.BigInteger, nullable=False),
    sa.Column("pos_log", sa.BigInteger),
    sa.Column("pos_index", sa.BigInteger),
)  # fmt: skip
STATS = sa.Table(
    "_cdc_sink_stats", META,
    sa.Column("pipeline", sa.String(200), primary_key=True),
    sa.Column("target", sa.String(255), primary_key=True),
    sa.Column("source_table", sa.String(255), nullable=False),
    sa.Column("applied", sa.BigInteger, nullable=False),
    sa.Column("last_source_ms", sa.BigInteger),
    sa.Column("last_apply_ms", sa.BigInteger),
    sa.Column("last_lag_ms", sa.BigInteger),
)  # fmt: skip
DEAD = sa.Table(
    "_cdc_dead_letters", META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("pipeline", sa.String(200), nullable=False),
    sa.Column("topic", sa.String(255), nullable=False),
    sa.Column("partition", sa.Integer),
    sa.Column("offset", sa.BigInteger),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("key", sa.LargeBinary),
    sa.Column("value", sa.LargeBinary),
    sa.Column("headers", sa.Text, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=1),
)  # fmt: skip


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class PartitionState:
    next_offset: int
    position: Position | None


@dataclass(frozen=True)
class DeadLetter:
    """A poison event as stored: why it failed and its raw message."""

    id: int
    topic: str
    partition: int | None
    offset: int | None
    reason: str
    message: Message
    created_ms: int
    attempts: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "reason": self.reason,
            "key": _text(self.message.key),
            "value": _text(self.message.value),
            "created_ms": self.created_ms,
            "attempts": self.attempts,
        }


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", errors="replace")


def load_applied(conn: Connection, pipeline: str) -> dict[tuple[str, int], PartitionState]:
    rows = conn.execute(sa.select(APPLIED).where(APPLIED.c.pipeline == pipeline))
    out = {}
    for row in rows:
        position = None if row.pos_log is None else Position(row.pos_log, row.pos_index or 0)
        out[(row.topic, row.partition)] = PartitionState(row.next_offset, position)
    return out


def save_applied(
    conn: Connection, pipeline: str, changed: dict[tuple[str, int], PartitionState]
) -> None:
    for (topic, partition), state in changed.items():
        values = {
            "next_offset": state.next_offset,
            "pos_log": state.position.log if state.position else None,
            "pos_index": state.position.index if state.position else None,
        }
        where = (
            (APPLIED.c.pipeline == pipeline)
            & (APPLIED.c.topic == topic)
            & (APPLIED.c.partition == partition)
        )
        if conn.execute(sa.update(APPLIED).where(where).values(**values)).rowcount == 0:
            conn.execute(
                sa.insert(APPLIED).values(
                    pipeline=pipeline, topic=topic, partition=partition, **values
                )
            )


def save_stats(
    conn: Connection, pipeline: str, stats: dict[str, tuple[str, int, int]], applied_at: int
) -> None:
    """Add per-target counts: target -> (source table, events, last source ts_ms)."""
    for target, (source_table, count, source_ms) in stats.items():
        where = (STATS.c.pipeline == pipeline) & (STATS.c.target == target)
        lag = max(0, applied_at - source_ms) if source_ms else None
        updated = conn.execute(
            sa.update(STATS)
            .where(where)
            .values(
                applied=STATS.c.applied + count,
                last_source_ms=source_ms,
                last_apply_ms=applied_at,
                last_lag_ms=lag,
            )
        ).rowcount
        if updated == 0:
            conn.execute(
                sa.insert(STATS).values(
                    pipeline=pipeline,
                    target=target,
                    source_table=source_table,
                    applied=count,
                    last_source_ms=source_ms,
                    last_apply_ms=applied_at,
                    last_lag_ms=lag,
                )
            )


def add_dead(
    conn: Connection, pipeline: str, message: Message, partition: int | None,
    offset: int | None, reason: str,
) -> None:  # fmt: skip
    conn.execute(
        sa.insert(DEAD).values(
            pipeline=pipeline,
            topic=message.topic,
            partition=partition,
            offset=offset,
            reason=reason,
            key=message.key,
            value=message.value,
            headers=json.dumps([[k, v.decode("latin-1")] for k, v in message.headers]),
            created_ms=now_ms(),
            attempts=1,
        )
    )


def list_dead(conn: Connection, pipeline: str, ids: list[int] | None = None) -> list[DeadLetter]:
    query = sa.select(DEAD).where(DEAD.c.pipeline == pipeline).order_by(DEAD.c.id)
    if ids:
        query = query.where(DEAD.c.id.in_(ids))
    out = []
    for row in conn.execute(query):
        headers = tuple((k, v.encode("latin-1")) for k, v in json.loads(row.headers))
        message = Message(row.topic, row.key, row.value, headers)
        out.append(
            DeadLetter(
                row.id,
                row.topic,
                row.partition,
                row.offset,
                row.reason,
                message,
                row.created_ms,
                row.attempts,
            )
        )
    return out


def stats(conn: Connection, pipeline: str) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(STATS).where(STATS.c.pipeline == pipeline))
    return [dict(row._mapping) for row in rows]
