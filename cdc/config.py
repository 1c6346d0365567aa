"""The CDC package's configuration: `[cdc]` in strangler.toml, STRANGLER_CDC_* in the env."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import strangler_settings as settings
from cdc.errors import CdcError
from cdc.workers import Worker

DEFAULT_TRANSPORT = "embedded:var/cdc/log.db"


@dataclass(frozen=True)
class CdcConfig:
    """Settings of a CDC pipeline; CLI options override them."""

    # SQLAlchemy URL of the captured database (sqlite:/// or postgresql://)
    source: str | None = None
    tables: tuple[str, ...] = ()  # tables to capture
    transport: str = DEFAULT_TRANSPORT  # embedded:PATH (a SQLite log file) or kafka:HOST:PORT
    sink: str | None = None  # SQLAlchemy URL of the database the changes are applied to
    mapping: str | None = None  # TOML mapping file: rename tables/columns, drop or add columns
    prefix: str = "strangler"  # topic prefix: topics are PREFIX.SCHEMA.TABLE
    slot: str = "strangler"  # PostgreSQL replication slot (its publication is SLOT_pub)
    pipeline: str = "default"  # name of the sink's bookkeeping (offsets) in the target
    group: str = "strangler-sink"  # Kafka consumer group of the sink
    partitions: int = 3  # partitions per topic, created on first use
    batch: int = 2000  # events read and applied per batch
    chunk_rows: int = 2000  # rows per snapshot chunk
    tombstones: bool = True  # send a tombstone (null value) after each delete
    schemas: bool = False  # wrap keys and values as {"schema", "payload"} (Kafka Connect schemas)
    poll_ms: int = 200  # milliseconds between polls of an idle source or transport
    retention_bytes: int | None = None  # embedded log: bytes kept per partition; unset: all
    retention_ms: int | None = None  # embedded log: milliseconds kept; unset: all
    kafka_outage_s: int = 300  # a Kafka broker may be away this long mid-run
    atomic_transactions: bool = False  # Debezium transaction metadata + whole-txn apply
    txn_buffer: int = 100_000  # events the sink holds at most for one transaction
    worker: str = "0/1"  # this sink's share of the partitions: worker i of N (cdc/workers.py)

    def __post_init__(self) -> None:
        positive = ("partitions", "batch", "chunk_rows", "poll_ms", "txn_buffer", "kafka_outage_s")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"[cdc] {name} must be >= 1, got {getattr(self, name)}")
        kind = self.transport.partition(":")[0]
        if kind not in ("embedded", "kafka") or ":" not in self.transport:
            raise ValueError(
                f"[cdc] transport must be embedded:PATH or kafka:HOST:PORT, got {self.transport!r}"
            )
        try:
            Worker.parse(self.worker)
        except CdcError as exc:
            raise ValueError(f"[cdc] {exc}") from None
        if not self.prefix or "." in self.prefix:
            raise ValueError(f"[cdc] prefix must be a non-empty name without dots: {self.prefix!r}")


def load_config(**overrides: Any) -> CdcConfig:
    return settings.load(CdcConfig, section="cdc", env_prefix="STRANGLER_CDC_", overrides=overrides)
