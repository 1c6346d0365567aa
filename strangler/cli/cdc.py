"""`strangler cdc`: capture changes, carry them as Debezium events, apply them elsewhere."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import click

from strangler.cli._common import print_json, user_errors
from strangler.settings import ConfigError

if TYPE_CHECKING:
    from cdc.capture_sqlite import SqliteCapture
    from cdc.config import CdcConfig
    from cdc.pipeline import Pipeline
    from cdc.sink import Sink
    from cdc.transport import Transport


def _errors() -> contextlib.AbstractContextManager[None]:
    from cdc.errors import CdcError

    return user_errors(CdcError, ConfigError, ValueError)


def _split(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(t.strip() for t in value.split(",") if t.strip())


def _config(**overrides: Any) -> CdcConfig:
    from cdc.config import load_config

    if "tables" in overrides:
        overrides["tables"] = _split(overrides["tables"])
    return load_config(**overrides)


def _need(value: str | None, option: str, why: str) -> str:
    if not value:
        raise click.UsageError(f"{option} is required {why} (or set it in strangler.toml [cdc])")
    return value


def _capture(cfg: CdcConfig) -> Any:
    """The capture for --source: SQLite triggers, or PostgreSQL logical decoding."""
    source = _need(cfg.source, "--source", "to reach the captured database")
    if source.startswith("postgres"):
        from cdc.capture_pg import PgCapture

        return PgCapture(source, prefix=cfg.prefix, slot=cfg.slot)
    from cdc.capture_sqlite import SqliteCapture

    return SqliteCapture(source, prefix=cfg.prefix)


def _transport(cfg: CdcConfig) -> Transport:
    from cdc.transport import open_transport

    return open_transport(
        cfg.transport,
        partitions=cfg.partitions,
        retention_bytes=cfg.retention_bytes,
        retention_ms=cfg.retention_ms,
        kafka_outage_s=cfg.kafka_outage_s,
    )


def _sink(cfg: CdcConfig) -> Sink | None:
    if not cfg.sink:
        return None
    from cdc.mapping import load_mapping
    from cdc.sink import Sink

    return Sink(
        cfg.sink,
        mapping=load_mapping(cfg.mapping),
        pipeline=cfg.pipeline,
        source=cfg.source,
    )


def _options(cfg: CdcConfig) -> Any:
    from cdc.pipeline import Options

    return Options(
        tombstones=cfg.tombstones, schemas=cfg.schemas, batch=cfg.batch,
        chunk_rows=cfg.chunk_rows, group=cfg.group,
        atomic_transactions=cfg.atomic_transactions, txn_buffer=cfg.txn_buffer,
    )  # fmt: skip


source_opt = click.option(
    "--source", help="SQLAlchemy URL of the captured database (sqlite:/// or postgresql://)."
)
tables_opt = click.option("--tables", help="Comma-separated table names.")
transport_opt = click.option(
    "--transport", help="embedded:PATH (default embedded:var/cdc/log.db) or kafka:HOST:PORT."
)
sink_opt = click.option("--sink", help="SQLAlchemy URL of the database the changes go to.")
mapping_opt = click.option(
    "--mapping", type=click.Path(dir_okay=False), help="TOML mapping file (see docs/cdc.md)."
)
prefix_opt = click.option("--prefix", help="Topic prefix: topics are PREFIX.main.TABLE.")
pipeline_opt = click.option(
    "--pipeline", help="Name of this sink's bookkeeping in the target (default 'default')."
)


@click.group("cdc")
def cdc() -> None:
    """Change data capture: keep a service's database in sync with the monolith's.

    Changes are captured from SQLite (triggers) or PostgreSQL (pgoutput logical
    decoding), published as Debezium PostgreSQL-connector JSON events (topic
    PREFIX.SCHEMA.TABLE, key = primary key) to the embedded log or Apache Kafka, and
    applied to any SQLAlchemy database with exactly-once effect (`run`). Reverse sync is
    the same with source and sink swapped: sink writes are never captured again.
    Typical use:

    \b
      strangler cdc setup --source sqlite:///shop.db --tables products,stock
      strangler cdc run --source sqlite:///shop.db --sink sqlite:///catalog.db
      strangler cdc status --source sqlite:///shop.db --sink sqlite:///catalog.db

    Options can also come from strangler.toml [cdc] or STRANGLER_CDC_<FIELD>.
    """


@cdc.command(short_help="Install capture (triggers, or publication + slot) on the source.")
@source_opt
@tables_opt
@prefix_opt
@click.option(
    "--replica-identity-full", is_flag=True,
    help="PostgreSQL: ALTER TABLE ... REPLICA IDENTITY FULL for full before-images.",
)  # fmt: skip
def setup(
    source: str | None, tables: str | None, prefix: str | None, replica_identity_full: bool
) -> None:
    """Prepare --tables of --source for capture.

    SQLite: installs the change table and INSERT/UPDATE/DELETE triggers; safe to re-run
    (re-run it after a schema change to rebuild the triggers); every table needs a
    primary key, which becomes the event key. PostgreSQL (wal_level=logical): creates a
    publication (with the small _cdc_origin and _cdc_pg_signal tables for reverse sync
    and `snapshot` requests); the first `run` creates the pgoutput logical replication
    slot and reads the initial snapshot in the snapshot the slot exports. Nothing is
    installed on the server.
    """
    from cdc.capture_pg import PgCapture

    with _errors():
        cfg = _config(source=source, tables=tables, prefix=prefix)
        capture = _capture(cfg)
        if isinstance(capture, PgCapture):
            chosen = capture.setup(
                list(cfg.tables), replica_identity_full=replica_identity_full, create_slot=False
            )
            for table in chosen:
                click.echo(f"capturing {table} through slot {capture.slot}")
            click.echo("the first `run` creates the slot and takes the initial snapshot in it")
            return
        metas = capture.setup(list(cfg.tables))
        for meta in metas:
            click.echo(f"capturing {meta.name} (key {', '.join(meta.key)}) -> "
                       f"{capture.topic(meta.name)}")  # fmt: skip


@cdc.command(short_help="Remove the capture triggers and tables from the source.")
@source_opt
def teardown(source: str | None) -> None:
    """Remove every trigger and _cdc_* table from the source database."""
    with _errors():
        capture = _capture(_config(source=source))
        capture.teardown()
        click.echo("capture removed")


def _stop_on_sigterm() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


@contextlib.contextmanager
def _snapshot_bar(capture: SqliteCapture) -> Iterator[Callable[[Any], None]]:
    """A rich progress bar over the rows of the tables being snapshotted."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from cdc.status import count_rows

    running = {t: r for t, (r, done) in capture.snapshot_progress().items() if not done}
    if not running:
        yield lambda _: None
        return
    from rich.console import Console

    bar = Progress(
        TextColumn("snapshot {task.description}"), BarColumn(), MofNCompleteColumn(),
        console=Console(stderr=True),
    )  # fmt: skip
    tasks = {t: bar.add_task(t, total=count_rows(capture.url, t), completed=r)
             for t, r in running.items()}  # fmt: skip

    def update(_: Any) -> None:
        for table, (rows, done) in capture.snapshot_progress().items():
            if table in tasks:
                if done:
                    bar.update(tasks[table], completed=rows, total=rows)
                else:
                    bar.update(tasks[table], completed=rows)

    with bar:
        yield update


@cdc.command(short_help="Re-snapshot chosen tables now (op 'r' events).")
@source_opt
@tables_opt
@transport_opt
@prefix_opt
def snapshot(
    source: str | None, tables: str | None, transport: str | None, prefix: str | None
) -> None:
    """Publish the current rows of --tables (all captured tables if omitted) as 'r' events.

    Chunks are read by primary key, each consistent with the change log at its read,
    so streaming changes interleave correctly. Resumable: an interrupted snapshot
    continues after the last published chunk. Does not apply anything (see `run`).

    On a PostgreSQL source that is already streaming this is an incremental snapshot:
    the request is recorded in the source's _cdc_pg_signal table and the process that
    holds the slot reads the tables chunk by chunk between low and high watermarks
    written into the WAL, while streaming goes on. If a `run` holds the slot, this
    waits until that run has published the snapshot; otherwise it streams the slot
    itself (publishing the changes too) until the snapshot is published.
    """
    from cdc.capture_pg import PgCapture
    from cdc.pipeline import Pipeline

    with _errors():
        cfg = _config(source=source, transport=transport, prefix=prefix)
        capture = _capture(cfg)
        chosen = capture.request_snapshot(list(_split(tables) or ()))
        streaming = isinstance(capture, PgCapture) and capture.has_position()
        stop = _stop_on_sigterm()
        if streaming and capture.slot_active():
            click.echo(f"requested: the process streaming slot {capture.slot} publishes it")
            while not stop.is_set() and not _done(capture.snapshot_progress(), chosen):
                stop.wait(0.5)
                capture.reload_incremental()
        else:
            pipeline = Pipeline(_transport(cfg), capture=capture, options=_options(cfg))
            with _snapshot_bar(capture) as update:
                while not stop.is_set():
                    published, _ = pipeline.capture_once()
                    update(None)
                    if (streaming or not published) and _done(capture.snapshot_progress(), chosen):
                        break
        rows = sum(capture.snapshot_progress().get(t, (0, False))[0] for t in chosen)
        click.echo(f"snapshot of {', '.join(chosen)}: {rows} rows published")


def _done(progress: dict[str, tuple[int, bool]], tables: list[str]) -> bool:
    return all(progress.get(t, (0, False))[1] for t in tables)


@cdc.command(short_help="Capture, publish and apply changes until stopped.")
@source_opt
@transport_opt
@sink_opt
@mapping_opt
@prefix_opt
@pipeline_opt
@click.option("--topics", help="Topics to apply when there is no --source (e.g. Debezium's).")
@click.option("--once", is_flag=True, help="Stop once everything captured so far is applied.")
@click.option(
    "--metrics-port", type=int, default=None,
    help="Serve Prometheus metrics at http://127.0.0.1:PORT/metrics while running.",
)  # fmt: skip
@click.option(
    "--atomic-transactions/--no-atomic-transactions", default=None,
    help="Add Debezium's transaction metadata (PREFIX.transaction topic, a transaction "
    "block per event) and apply each source transaction whole, in commit order, in one "
    "target transaction. Capture and sink must agree. Default: [cdc] atomic_transactions "
    "(false).",
)  # fmt: skip
def run(
    source: str | None, transport: str | None, sink: str | None, mapping: str | None,
    prefix: str | None, pipeline: str | None, topics: str | None, once: bool,
    metrics_port: int | None, atomic_transactions: bool | None,
) -> None:  # fmt: skip
    """Stream changes from --source through --transport into --sink.

    With no position yet, the capture first takes an initial snapshot of every captured
    table (Debezium's `initial` mode). Without --sink only capture runs; without
    --source only the sink runs (on --topics, e.g. topics written by real Debezium).
    SIGTERM or Ctrl-C stops after the current batch with every position committed.
    A Kafka broker that goes away mid-run is waited for (warnings on stderr) up to
    [cdc] kafka_outage_s (default 300 s); then the run stops, having lost nothing.

    With --atomic-transactions the target never shows half of a source transaction: the
    sink holds a transaction's events (spread over partitions) until all have arrived.
    A transaction of more than [cdc] txn_buffer events (default 100000) is applied in
    pieces, with a warning and the strangler_cdc_split_transactions_total metric.
    """
    from cdc.pipeline import Pipeline

    with _errors():
        cfg = _config(source=source, transport=transport, sink=sink, mapping=mapping,
                      prefix=prefix, pipeline=pipeline,
                      atomic_transactions=atomic_transactions)  # fmt: skip
        capture = _capture(cfg) if cfg.source else None
        the_sink = _sink(cfg)
        if capture is None and the_sink is None:
            raise click.UsageError("give --source (capture), --sink (apply) or both")
        if capture is None and not topics:
            raise click.UsageError("--topics is required when there is no --source")
        flow = Pipeline(
            _transport(cfg), capture=capture, sink=the_sink,
            topics=list(_split(topics) or ()), options=_options(cfg),
        )  # fmt: skip
        stop = _stop_on_sigterm()
        metrics = _metrics(metrics_port)
        flow.start()
        total = _run_loop(flow, capture, stop, once, cfg.poll_ms / 1000, metrics)
        flow.close()
        click.echo(
            f"stopped: {total.published} published, {total.applied} applied, "
            f"{total.skipped} skipped as already applied, {total.dead} dead-lettered"
        )


def _metrics(port: int | None) -> Any:
    if port is None:
        return None
    from cdc.errors import CdcError
    from cdc.metrics import Metrics

    metrics = Metrics()
    try:
        metrics.serve(port)
    except OSError as exc:
        raise CdcError(f"cannot serve metrics on port {port}: {exc.strerror}") from None
    return metrics


def _run_loop(
    flow: Pipeline, capture: Any, stop: threading.Event, once: bool, idle_s: float,
    metrics: Any,
) -> Any:  # fmt: skip
    observe = metrics.observe if metrics is not None else None
    if capture is None:
        return flow.run(stop, idle_sleep_s=idle_s, until_idle=once, on_apply=observe)

    def on_capture(progress: Any) -> None:
        update(progress)
        if observe is not None:
            observe(progress)

    with _snapshot_bar(capture) as update:
        return flow.run(
            stop, idle_sleep_s=idle_s, until_idle=once, on_progress=on_capture, on_apply=observe
        )


@cdc.command(short_help="Show per-table captured/delivered/applied counts and lag.")
@source_opt
@sink_opt
@pipeline_opt
@prefix_opt
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def status(
    source: str | None, sink: str | None, pipeline: str | None, prefix: str | None, as_json: bool
) -> None:
    """Per table: events captured, delivered (published), applied, lag in events and in
    ms (source commit to apply of the last event), the source position, dead letters.
    """
    from cdc.status import table_status

    with _errors():
        cfg = _config(source=source, sink=sink, pipeline=pipeline, prefix=prefix)
        capture = _capture(cfg) if cfg.source else None
        rows = table_status(capture, _sink(cfg))
        if as_json:
            print_json({"tables": [r.to_json() for r in rows]})
            return
        _print_status(rows)


def _print_status(rows: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("table", "captured", "delivered", "applied", "lag", "lag ms", "position",
                  "snapshot", "dead")  # fmt: skip

    def cell(value: Any) -> str:
        return "-" if value is None else str(value)

    for r in rows:
        table.add_row(r.table, cell(r.captured), cell(r.delivered), cell(r.applied),
                      cell(r.lag_events), cell(r.lag_ms), cell(r.position), cell(r.snapshot),
                      cell(r.dead_letters))  # fmt: skip
    Console().print(table)


@cdc.command(short_help="Forget positions so the next run re-snapshots and re-applies.")
@source_opt
@sink_opt
@pipeline_opt
@click.option("--yes", is_flag=True, help="Do it without asking.")
def reset(source: str | None, sink: str | None, pipeline: str | None, yes: bool) -> None:
    """Clear the capture position (next `run` takes a new snapshot) and the sink's
    applied offsets for --pipeline. Captured-but-undelivered changes are kept.
    """
    import sqlalchemy as sa

    from cdc import sink_state

    with _errors():
        cfg = _config(source=source, sink=sink, pipeline=pipeline)
        if not (cfg.source or cfg.sink):
            raise click.UsageError("give --source, --sink or both")
        if not yes:
            click.confirm("Forget CDC positions?", abort=True)
        if cfg.source:
            capture = _capture(cfg)
            if not hasattr(capture, "require_setup"):
                raise click.UsageError(
                    "a PostgreSQL capture's position is its slot: use teardown + setup"
                )
            capture.require_setup()
            capture.conn.execute("DELETE FROM _cdc_state")
            capture.conn.execute("DELETE FROM _cdc_snapshot")
            click.echo("capture position cleared: the next run takes an initial snapshot")
        the_sink = _sink(cfg)
        if the_sink is not None:
            with the_sink.engine.begin() as conn:
                conn.execute(
                    sa.delete(sink_state.APPLIED).where(
                        sink_state.APPLIED.c.pipeline == the_sink.pipeline
                    )
                )
            click.echo(f"sink offsets of pipeline {the_sink.pipeline!r} cleared")


@cdc.group(short_help="List or retry dead-lettered events.")
def dlq() -> None:
    """Events the sink could not apply, with the reason and the raw event."""


@dlq.command("list", short_help="List dead letters.")
@sink_opt
@pipeline_opt
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def dlq_list(sink: str | None, pipeline: str | None, as_json: bool) -> None:
    """List the dead letters of --pipeline in --sink, oldest first."""
    with _errors():
        cfg = _config(sink=_need(sink, "--sink", "to read the dead letters"), pipeline=pipeline)
        the_sink = _sink(cfg)
        assert the_sink is not None
        letters = the_sink.dead_letters()
        if as_json:
            print_json([d.to_json() for d in letters])
            return
        if not letters:
            click.echo("no dead letters")
        for d in letters:
            click.echo(f"#{d.id} {d.topic}[{d.partition}]@{d.offset} ({d.attempts}x): {d.reason}")


@dlq.command("retry", short_help="Apply dead letters again.")
@sink_opt
@mapping_opt
@pipeline_opt
@click.option("--id", "ids", type=int, multiple=True, help="Only these ids (repeatable).")
def dlq_retry(
    sink: str | None, mapping: str | None, pipeline: str | None, ids: tuple[int, ...]
) -> None:
    """Re-apply dead letters (after fixing the target or the mapping); those that
    apply are removed, the others keep their new reason. Exits 1 if any still fail.
    """
    with _errors():
        cfg = _config(sink=_need(sink, "--sink", "to retry into"), mapping=mapping,
                      pipeline=pipeline)  # fmt: skip
        the_sink = _sink(cfg)
        assert the_sink is not None
        ok, failed = the_sink.retry(list(ids) or None)
        click.echo(f"{ok} applied, {failed} still failing")
        if failed:
            raise SystemExit(1)
