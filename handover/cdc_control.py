"""CDC for a handover: the two pipelines of a context, positions, and the directed worker.

Forward: the monolith's mapped tables -> the service (the service's own `extract sync`
settings). Reverse: the service's owned tables -> the monolith (a mapping inverted from
the forward one), the loop-free reverse sync of docs/cdc.md: a sink's writes carry the
origin marker, so neither side's capture sends them back.

The worker (`run_directed`) obeys the direction stored per context: forward applies every
mapped table; reverse stops applying the owned tables forward and runs the reverse
pipeline for them. It records what it runs with a heartbeat every HEARTBEAT_S.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from cdc.bootstrap import open_pipeline, open_transport
from cdc.capture_sqlite import SqliteCapture
from cdc.config import CdcConfig
from cdc.mapping import load_mapping
from cdc.sink_state import load_applied
from extracted._service.sync import SyncPlan
from handover import cdc_pg
from handover.errors import HandoverError
from handover.plan import REVERSE, Context
from handover.state import HandoverState

log = logging.getLogger(__name__)
HEARTBEAT_S = 0.05
RETRY_S, MAX_RETRIES = 0.2, 20
IDLE_S = 0.05  # how often an idle pipeline looks for changes: bounds the handover's drain


@dataclass(frozen=True)
class Flows:
    """Both directions of one context's CDC."""

    context: Context
    forward: CdcConfig  # monolith -> service, every mapped table
    reverse: CdcConfig  # service -> monolith, the owned tables

    @property
    def owned_in_service(self) -> tuple[str, ...]:
        return tuple(self.reverse.tables)


def flows(context: Context, plan: SyncPlan, folder: Path) -> Flows:
    """Work out both pipelines from the service's sync plan; write the reverse mapping."""
    mapping = load_mapping(plan.mapping_path)
    lines, service_tables = [], []
    for table in context.owned:
        m = mapping.by_source.get(table)
        if m is None:
            raise HandoverError(f"owned table {table!r} is not in the mapping {plan.mapping_path}")
        if m.drop or m.add:
            raise HandoverError(f"owned table {table!r} drops or adds columns: it cannot go back")
        service_tables.append(m.target)
        lines.append(f'[tables.{m.target}]\ntarget = "{table}"')
        if m.rename:
            pairs = ", ".join(f'{new} = "{old}"' for old, new in m.rename)
            lines.append(f"rename = {{ {pairs} }}")
    folder.mkdir(parents=True, exist_ok=True)
    reverse_mapping = folder / f"{context.name}-reverse.toml"
    reverse_mapping.write_text("\n".join(lines) + "\n", encoding="utf-8")
    forward = plan.cdc_config([m.source for m in mapping.tables])
    kind = plan.transport.partition(":")[0]
    back = f"embedded:{folder / (context.name + '-back-log.db')}" if kind == "embedded" else None
    monolith = plan.source_url
    reverse = CdcConfig(
        source=plan.target_url, tables=tuple(service_tables),
        sink=cdc_pg.replica_url(monolith) if cdc_pg.is_pg(monolith) else monolith,
        mapping=str(reverse_mapping), transport=back or plan.transport,
        prefix=f"{context.name}_back", slot=f"strangler_{context.name}_back",
        pipeline=f"{context.name}-back", group=f"strangler-{context.name}-back",
    )  # fmt: skip
    return Flows(context, forward, reverse)


def reasons(cfg: CdcConfig) -> list[str]:
    """Why a handover cannot steer the pipeline of `cfg` (empty: it can)."""
    if not cfg.source:
        return [f"{cfg.pipeline}: no CDC source"]
    return cdc_pg.reasons(cfg) if cdc_pg.is_pg(cfg.source) else []


def source_position(url: str) -> int:
    """A change position of the source taken now, which its capture is bound to pass:
    the sequence of SQLite's change table, or a heartbeat's LSN on PostgreSQL."""
    if cdc_pg.is_pg(url):
        return cdc_pg.position(url)
    capture = SqliteCapture(url)
    try:
        row = capture.conn.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = '_cdc_changes'"
        ).fetchone()
    finally:
        capture.close()
    return int(row[0]) if row else 0


def catch_up_ids(url: str | None, tables: tuple[str, ...]) -> None:
    """Let the side about to own `tables` allocate ids past those CDC brought in
    (PostgreSQL's sequences; SQLite already takes max(id) + 1)."""
    if cdc_pg.is_pg(url):
        assert url
        cdc_pg.catch_up_sequences(url, tables)


class Drain:
    """How far one pipeline has applied a context's tables, asked again and again while
    the writes are held: the transport, the sink's engine and (PostgreSQL) the capture's
    connection are opened once, before the hold, and the transport's first answer (Kafka
    metadata, connections) is had then too."""

    def __init__(self, cfg: CdcConfig, tables: tuple[str, ...]) -> None:
        assert cfg.source and cfg.sink
        self.cfg, self.tables = cfg, tables
        self._stack = contextlib.ExitStack()
        try:
            self.pg = cdc_pg.open_capture(cfg) if cdc_pg.is_pg(cfg.source) else None
            if self.pg is not None:
                self._stack.callback(self.pg.close)
                self.topics = cdc_pg.topics(self.pg, tables)
            else:
                capture = SqliteCapture(cfg.source, prefix=cfg.prefix)
                self.topics = [capture.topic(t) for t in tables]
                capture.close()
            self.transport = open_transport(cfg.transport, partitions=cfg.partitions)
            self._stack.callback(self.transport.close)
            self.engine = sa.create_engine(cfg.sink)
            self._stack.callback(self.engine.dispose)
            self.transport.end_offsets(self.topics)
        except BaseException:
            self._stack.close()
            raise

    def __enter__(self) -> Drain:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def published(self, position: int) -> bool:
        """The capture passed `position`: its cursor (SQLite), its slot's flushed LSN (PG)."""
        if self.pg is not None:
            return cdc_pg.published(self.pg, position)
        assert self.cfg.source
        capture = SqliteCapture(self.cfg.source, prefix=self.cfg.prefix)
        try:
            return capture.has_position() and capture.delivered() >= position
        finally:
            capture.close()

    def applied_through(self, position: int) -> bool:
        """Tell whether every change of the tables up to `position` is applied.

        Every change up to the position is published once the capture passed it; it is
        applied once the sink's stored offsets reach the transport's ends read after that.
        """
        if not self.published(position):
            return False
        ends = self.transport.end_offsets(self.topics)
        with self.engine.connect() as conn:
            stored = load_applied(conn, self.cfg.pipeline)
        applied = {tp: s.next_offset for tp, s in stored.items()}
        return all(applied.get(tp, 0) >= end for tp, end in ends.items())


def applied_through(cfg: CdcConfig, tables: tuple[str, ...], position: int) -> bool:
    """Drain.applied_through, once."""
    with Drain(cfg, tables) as drain:
        return drain.applied_through(position)


def prepare_reverse(f: Flows) -> None:
    """Capture the service's owned tables from now on (idempotent), with no snapshot."""
    assert f.reverse.source
    if cdc_pg.is_pg(f.reverse.source):
        cdc_pg.prepare(f.reverse)
        return
    capture = SqliteCapture(f.reverse.source, prefix=f.reverse.prefix)
    try:
        # triggers are DDL: installing them again would disturb the sink writing there
        if not set(f.reverse.tables) <= {m.name for m in capture.tables()}:
            capture.setup(list(f.reverse.tables))
        capture.start_without_snapshot()
    finally:
        capture.close()


def _pump(cfg: CdcConfig, tables: tuple[str, ...], stop: threading.Event) -> None:
    with open_pipeline(cfg) as pipeline:
        pipeline.topics = [t for t in pipeline.topics if t.rsplit(".", 1)[-1] in tables]
        pipeline.run(stop, idle_sleep_s=IDLE_S)


def _guarded(
    cfg: CdcConfig, tables: tuple[str, ...], stop: threading.Event, failures: list[BaseException]
) -> None:
    try:
        _pump(cfg, tables, stop)
    except BaseException as exc:  # reported in the worker's thread
        failures.append(exc)
        stop.set()


def run_directed(f: Flows, state: HandoverState, stop: threading.Event) -> None:
    """Run the context's CDC in the direction stored for it, switching when it changes."""
    forward_tables = tuple(f.forward.tables)
    retries = 0
    while not stop.is_set():
        direction = state.direction(f.context.name).wanted
        if direction == REVERSE:
            prepare_reverse(f)
            jobs = [
                (f.forward, tuple(t for t in forward_tables if t not in f.context.owned)),
                (f.reverse, f.owned_in_service),
            ]
        else:
            jobs = [(f.forward, forward_tables)]
        local = threading.Event()
        failures: list[BaseException] = []
        threads = [
            threading.Thread(target=_guarded, args=(cfg, t, local, failures), daemon=True)
            for cfg, t in jobs
        ]
        for thread in threads:
            thread.start()
        with contextlib.suppress(Exception):  # the heartbeat only informs the command
            while not (stop.is_set() or local.is_set()):
                state.heartbeat(f.context.name, direction)
                if state.direction(f.context.name).wanted != direction:
                    break
                stop.wait(HEARTBEAT_S)
        local.set()
        for thread in threads:
            thread.join()
        if failures:
            retries = _retry_or_raise(failures[0], retries)
            stop.wait(RETRY_S)
        else:
            retries = 0


def _retry_or_raise(failure: BaseException, retries: int) -> int:
    """Start again after a busy database (SQLite's lock, a PG serialization failure);
    give up, raising it, after MAX_RETRIES in a row or on any other error."""
    if not isinstance(failure, sa.exc.OperationalError) or retries >= MAX_RETRIES:
        raise failure
    log.warning("CDC pipeline stopped (%s); starting it again", failure.orig)
    return retries + 1


def wait_until(check: Callable[[], bool], deadline: float, step: float = 0.01) -> bool:
    """Poll `check()` until it is true or the monotonic `deadline` passes."""
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)
