"""`strangler cdc snapshot` and `strangler cdc run`: publish snapshots, stream changes."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import click

from strangler.cli.cdc_common import (
    _capture,
    _config,
    _errors,
    _sink,
    _split,
    _transport,
    mapping_opt,
    pipeline_opt,
    prefix_opt,
    sink_opt,
    source_opt,
    tables_opt,
    transport_opt,
)

if TYPE_CHECKING:
    from cdc.bootstrap import AnyCapture
    from cdc.metrics import Metrics
    from cdc.pipeline import Pipeline, Progress


def _stop_on_sigterm() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


@contextlib.contextmanager
def _snapshot_bar(capture: AnyCapture) -> Iterator[Callable[[Any], None]]:
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


@click.command(short_help="Re-snapshot chosen tables now (op 'r' events).")
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
    from cdc.snapshot_now import publish, streamed_elsewhere, wait_published

    with _errors():
        cfg = _config(source=source, transport=transport, prefix=prefix)
        capture = _capture(cfg)
        chosen = capture.request_snapshot(list(_split(tables) or ()))
        stop = _stop_on_sigterm()
        slot = streamed_elsewhere(capture)
        if slot is not None:
            click.echo(f"requested: the process streaming slot {slot} publishes it")
            wait_published(capture, chosen, stop)
        else:
            with _snapshot_bar(capture) as update:
                publish(cfg, capture, chosen, stop, on_chunk=lambda: update(None))
        rows = sum(capture.snapshot_progress().get(t, (0, False))[0] for t in chosen)
        click.echo(f"snapshot of {', '.join(chosen)}: {rows} rows published")


@click.command(short_help="Capture, publish and apply changes until stopped.")
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
@click.option(
    "--worker", metavar="I/N",
    help="Apply only worker I's share of the partitions, one of N sink processes on "
    "the same --topics, --sink and --pipeline (I counts from 0). Needs no --source. "
    "Default: [cdc] worker (0/1, every partition).",
)  # fmt: skip
def run(
    source: str | None, transport: str | None, sink: str | None, mapping: str | None,
    prefix: str | None, pipeline: str | None, topics: str | None, once: bool,
    metrics_port: int | None, atomic_transactions: bool | None, worker: str | None,
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

    With --worker I/N, N sink processes share the partitions of --topics (partition p
    of topic t goes to worker (crc32(t) + p) mod N): each row's changes stay in order
    in one process and each worker stores its partitions' offsets with the rows.
    """
    from cdc.bootstrap import pipeline_from
    from cdc.workers import Worker

    with _errors():
        cfg = _config(source=source, transport=transport, sink=sink, mapping=mapping,
                      prefix=prefix, pipeline=pipeline,
                      atomic_transactions=atomic_transactions, worker=worker)  # fmt: skip
        capture = _capture(cfg) if cfg.source else None
        the_sink = _sink(cfg)
        if capture is None and the_sink is None:
            raise click.UsageError("give --source (capture), --sink (apply) or both")
        if capture is None and not topics:
            raise click.UsageError("--topics is required when there is no --source")
        if capture is not None and not Worker.parse(cfg.worker).alone:
            raise click.UsageError(
                "--worker splits the sink: run the capture in its own process (no --sink) "
                "and each worker with --topics instead of --source"
            )
        flow = pipeline_from(
            cfg, _transport(cfg), capture=capture, sink=the_sink,
            topics=list(_split(topics) or ()),
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


def _metrics(port: int | None) -> Metrics | None:
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
    flow: Pipeline, capture: AnyCapture | None, stop: threading.Event, once: bool, idle_s: float,
    metrics: Metrics | None,
) -> Progress:  # fmt: skip
    observe = metrics.observe if metrics is not None else None
    if capture is None:
        return flow.run(stop, idle_sleep_s=idle_s, until_idle=once, on_apply=observe)

    def on_capture(progress: Progress) -> None:
        update(progress)
        if observe is not None:
            observe(progress)

    with _snapshot_bar(capture) as update:
        return flow.run(
            stop, idle_sleep_s=idle_s, until_idle=once, on_progress=on_capture, on_apply=observe
        )
