"""`strangler cdc`: capture changes, carry them as Debezium events, apply them elsewhere."""

from __future__ import annotations

from typing import Any

import click

from strangler.cli._common import print_json
from strangler.cli.cdc_common import (
    _capture,
    _config,
    _errors,
    _sink,
    pipeline_opt,
    prefix_opt,
    sink_opt,
    source_opt,
    tables_opt,
)
from strangler.cli.cdc_dlq import dlq
from strangler.cli.cdc_stream import run, snapshot


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
        streaming = getattr(capture, "is_setup", lambda: True)() and capture.has_position()
        before = (
            {_bare(t if isinstance(t, str) else t.name) for t in capture.tables()}
            if streaming
            else set()
        )
        if isinstance(capture, PgCapture):
            chosen = capture.setup(
                list(cfg.tables), replica_identity_full=replica_identity_full, create_slot=False
            )
            for table in chosen:
                click.echo(f"capturing {table} through slot {capture.slot}")
            if not streaming:
                click.echo("the first `run` creates the slot and takes the initial snapshot in it")
        else:
            metas = capture.setup(list(cfg.tables))
            chosen = [m.name for m in metas]
            for meta in metas:
                click.echo(f"capturing {meta.name} (key {', '.join(meta.key)}) -> "
                           f"{capture.topic(meta.name)}")  # fmt: skip
        added = [_bare(t) for t in chosen if _bare(t) not in before]
        if streaming and added:
            import shlex

            from sqlalchemy.engine import make_url

            names = ",".join(added)
            shown = make_url(str(cfg.source)).render_as_string(hide_password=True)
            click.echo(
                f"note: this capture is already streaming, so the rows {names} hold now are "
                "not in the log (their changes from now on are); to publish them run "
                f"`strangler cdc snapshot --source {shlex.quote(shown)} --tables {names}`"
            )


def _bare(table: str) -> str:
    """`public.products` -> `products`."""
    return table.rpartition(".")[2]


@cdc.command(short_help="Remove the capture triggers and tables from the source.")
@source_opt
def teardown(source: str | None) -> None:
    """Remove every trigger and _cdc_* table from the source database."""
    with _errors():
        capture = _capture(_config(source=source))
        capture.teardown()
        click.echo("capture removed")


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


cdc.add_command(snapshot)
cdc.add_command(run)
cdc.add_command(dlq)
