"""`strangler cdc dlq`: list or retry the events the sink could not apply."""

from __future__ import annotations

import click

from strangler.cli._common import print_json
from strangler.cli.cdc_common import (
    _config,
    _errors,
    _need,
    _sink,
    mapping_opt,
    pipeline_opt,
    sink_opt,
)


@click.group(short_help="List or retry dead-lettered events.")
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
