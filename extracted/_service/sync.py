"""Fill a service's database from the monolith by CDC, and record when the snapshot is in.

`/ready` must not say yes before the service holds the monolith's rows, yet the sink
keeps no notion of "the initial snapshot is applied". The sync worker knows: the first
time its pipeline is caught up (the capture's snapshot of every mapped table published,
every published event applied) it writes a marker row into the service's database, and
readiness reads that row.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

if TYPE_CHECKING:
    from cdc.config import CdcConfig

MARKERS = sa.MetaData()
SYNC = sa.Table(
    "_service_sync",
    MARKERS,
    sa.Column("service", sa.String(100), primary_key=True),
    sa.Column("snapshot_done_ms", sa.BigInteger, nullable=False),
)


def mark_snapshot_done(engine: Engine, service: str) -> None:
    """Record (once) that the initial snapshot of `service`'s tables is applied."""
    MARKERS.create_all(engine, checkfirst=True)
    with engine.begin() as conn:
        if not _marker(conn, service):
            conn.execute(SYNC.insert().values(service=service, snapshot_done_ms=_now_ms()))


def snapshot_done(conn: Connection, service: str) -> bool:
    """Tell whether the sync worker has recorded the initial snapshot as applied."""
    if not sa.inspect(conn).has_table(SYNC.name):
        return False
    return _marker(conn, service)


def _marker(conn: Connection, service: str) -> bool:
    return (
        conn.execute(sa.select(SYNC.c.service).where(SYNC.c.service == service)).first() is not None
    )


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class SyncPlan:
    """What one service's sync worker runs: which tables, from where, to where, how."""

    service: str
    source_url: str
    target_url: str
    mapping_path: str
    transport: str = "embedded:var/cdc/log.db"
    prefix: str = "strangler"

    @property
    def slot(self) -> str:
        # One PostgreSQL replication slot per service: each service's worker streams alone.
        return f"strangler_{self.service}"

    def cdc_config(self, tables: list[str]) -> CdcConfig:
        """The CDC settings of this service's pipeline (its own topics, slot and group)."""
        from cdc.config import CdcConfig

        return CdcConfig(
            source=self.source_url, tables=tuple(tables), transport=self.transport,
            sink=self.target_url, mapping=self.mapping_path, prefix=self.prefix,
            slot=self.slot, pipeline=self.service, group=f"strangler-{self.service}",
        )  # fmt: skip


def _checked_tables(plan: SyncPlan, target: sa.MetaData) -> list[str]:
    """Check the mapping against both schemas; return the monolith tables it captures."""
    from extracted._service.mapping_check import check_source, load_checked

    mapping = load_checked(plan.mapping_path, target)
    names = [t.source for t in mapping.tables]
    source_engine = sa.create_engine(plan.source_url)
    source = sa.MetaData()
    try:
        present = set(sa.inspect(source_engine).get_table_names())
        source.reflect(source_engine, only=[n for n in names if n in present])
    finally:
        source_engine.dispose()
    check_source(mapping, source, target, plan.mapping_path)
    return names


def _set_up_capture(plan: SyncPlan, tables: list[str]) -> None:
    """Install the capture of `tables` (idempotent): triggers, or a publication."""
    from cdc.bootstrap import capture_from
    from cdc.capture_pg import PgCapture

    capture = capture_from(plan.cdc_config(tables))
    try:
        if isinstance(capture, PgCapture):
            # Full row images: the mapping drops key columns (stock_levels' id), so a
            # delete must carry the columns the service keys its copy by. The first run
            # creates the slot and takes the initial snapshot in it.
            capture.setup(tables, replica_identity_full=True, create_slot=False)
        else:
            capture.setup(tables)
    finally:
        capture.close()


def run_sync(
    plan: SyncPlan,
    target: sa.MetaData,
    stop: threading.Event,
    *,
    once: bool = False,
    on_snapshot: Callable[[], None] | None = None,
) -> None:
    """Catch up (initial snapshot included), mark the snapshot done, then stream until `stop`."""
    from cdc.bootstrap import open_pipeline
    from extracted._service.database import make_engine

    tables = _checked_tables(plan, target)
    _set_up_capture(plan, tables)
    with open_pipeline(plan.cdc_config(tables)) as pipeline:
        # Topics the capture publishes for other tables (a shared SQLite capture) are
        # not this service's: the sink reads only its mapping's tables.
        pipeline.topics = [t for t in pipeline.topics if t.rsplit(".", 1)[-1] in tables]
        pipeline.run(stop, until_idle=True)
        if not stop.is_set():
            engine = make_engine(plan.target_url)
            try:
                mark_snapshot_done(engine, plan.service)
            finally:
                engine.dispose()
            if on_snapshot is not None:
                on_snapshot()
        if not once:
            pipeline.run(stop)
