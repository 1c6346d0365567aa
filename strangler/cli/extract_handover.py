"""`strangler extract handover CONTEXT [--rollback]`, and the direction-obeying sync worker.

The command is thin: it builds handover.run.Settings from options and configuration and
prints the outcome; the steps live in handover/ (see docs/extract.md, Handover).
"""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Any

import click

from strangler.cli._common import print_json
from strangler.cli.router_client import admin_options

STATE_ENV = "STRANGLER_HANDOVER_STATE"


def _settings(name: str, opts: dict[str, Any]) -> Any:
    from handover.cdc_control import flows
    from handover.plan import CONTEXTS
    from handover.run import Settings
    from handover.state import HandoverState
    from router.store import RouteStore

    if name not in CONTEXTS:
        known = ", ".join(sorted(CONTEXTS))
        raise click.UsageError(f"unknown context {name!r} (known: {known})")
    context = CONTEXTS[name]
    plan = _plan(name, opts.get("source"), opts.get("transport"))
    state = HandoverState(opts["state"])
    folder = Path(opts["state"].removeprefix("sqlite:///")).parent / "handover"
    gate, planes = _admin(opts.get("admin_url"), opts.get("token"))
    endpoints = None
    report = opts.get("report")
    if report is not None:
        try:
            endpoints = json.loads(Path(report).read_text(encoding="utf-8"))["endpoints"]
        except (OSError, ValueError, KeyError) as exc:
            raise click.ClickException(f"cannot read the analysis report {report}: {exc}") from None
    return Settings(
        context=context,
        flows=flows(context, plan, folder),
        store=RouteStore(opts["store"]),
        state=state,
        gate=gate,
        planes=planes,
        endpoints=endpoints,
        through_service=(*(opts.get("through_service") or ()), *switched(name)),
        hold_s=opts.get("hold_timeout", 2.0),
        reason=opts.get("reason") or "",
    )


def switched(context: str) -> tuple[str, ...]:
    """ShopCo's endpoints whose writes of the context's tables its switches route through
    the service (monolith/seams.py), read from ShopCo's configuration."""
    from monolith.config import load_config
    from monolith.seams import through_service
    from strangler.settings import ConfigError

    try:
        return through_service(context, load_config())
    except ConfigError as exc:
        raise click.ClickException(f"cannot read ShopCo's configuration: {exc}") from None


def _plan(name: str, source: str | None, transport: str | None) -> Any:
    from extracted._service.sync import SyncPlan
    from strangler.cli.extract import _config, _service

    module = _service(name)
    config = _config(name, cdc_source=source, cdc_transport=transport)
    if not config.cdc_source:
        raise click.UsageError(f"--source is required (or set [{name}] cdc_source)")
    return SyncPlan(
        service=name,
        source_url=config.cdc_source,
        target_url=config.database_url,
        mapping_path=str(module.SPEC.mapping_path(config)),
        transport=config.cdc_transport,
        prefix=name,
    )


def _admin(url: str | None, token: str | None) -> tuple[Any, Any]:
    """The gate's verdict per route and the router's metrics, from the admin API."""
    from strangler.cli.router_client import AdminError, resolve

    try:
        client = resolve(url, token)
    except AdminError:
        return None, None
    gate = lambda route: client.call("GET", f"/routes/{route}/gate?mode=service")  # noqa: E731
    return gate, lambda: client.call("GET", "/metrics")


def _store_default() -> str:
    from router.config import load

    return load().store


source_opts = [
    click.option("--source", help="The monolith's database URL (default [NAME] cdc_source)."),
    click.option("--transport", help="embedded:PATH or kafka:HOST:PORT ([NAME] cdc_transport)."),
    click.option(
        "--state",
        envvar=STATE_ENV,
        default="sqlite:///var/handover.db",
        show_default=True,
        help="Where handovers and the CDC direction are stored (SQLAlchemy URL or file).",
    ),
]


def _with(options: list[Any]) -> Any:
    def wrap(func: Any) -> Any:
        for option in reversed(options):
            func = option(func)
        return func

    return wrap


@click.command(short_help="Move a context's writes and data ownership to its service (or back).")
@click.argument("context", metavar="CONTEXT")
@click.option("--rollback", is_flag=True, help="Hand the context back to the monolith.")
@click.option("--store", default=None, help="The route store URL (default [router] store).")
@admin_options
@click.option(
    "--report",
    type=click.Path(path_type=Path),
    help="The analysis report.json: which monolith endpoints write the context's tables.",
)
@click.option(
    "--through-service",
    multiple=True,
    metavar="ENDPOINT",
    help="An endpoint ('METHOD /path') whose writes already go through the service "
    "(its branch-by-abstraction switch is on). Repeatable.",
)
@click.option(
    "--hold-timeout",
    type=click.FloatRange(0.1, 30.0),
    default=2.0,
    show_default=True,
    help="Seconds writes may be held; past it everything is put back.",
)
@click.option("--reason", default="", help="Recorded with the route-table version of the flip.")
@_with(source_opts)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def handover(context: str, rollback: bool, as_json: bool, **opts: Any) -> None:
    """Hand CONTEXT's writes and data over to its service, or back with --rollback.

    Checks first (the promotion gate for every route of the context, CDC running, no
    monolith endpoint left writing the context's tables) and refuses with every reason.
    Then: hold the context's write routes at the router, wait until CDC has applied
    everything up to a position taken after the hold, flip every route in one table
    version, switch CDC's direction (the `extract sync CONTEXT --directed` worker obeys
    it), release the held writes. Any failure puts everything back. A run cut short
    (crash, kill) is undone before the flip or resumed after it by running it again.
    """
    from handover.errors import HandoverError
    from handover.plan import HANDOVER, ROLLBACK
    from handover.run import perform

    opts["store"] = opts["store"] or _store_default()
    settings = _settings(context, opts)
    op = ROLLBACK if rollback else HANDOVER
    try:
        outcome = perform(settings, op)
    except HandoverError as exc:
        if as_json:
            print_json({"context": context, "op": op, "ok": False, "error": str(exc),
                        "reasons": list(exc.reasons)})  # fmt: skip
        else:
            click.echo(f"{exc}:", err=True)
            for reason in exc.reasons:
                click.echo(f"  - {reason}", err=True)
        raise SystemExit(1) from None
    finally:
        settings.store.close()
        settings.state.close()
    if as_json:
        print_json({**outcome.to_json(), "ok": True})
        return
    note = f" (a cut-short run was {outcome.recovered}d first)" if outcome.recovered else ""
    if outcome.op != op:  # a run cut short after its flip is finished, not reversed
        note += f"; run the command again for the {op}"
    click.echo(
        f"{outcome.op} of {context} done{note}: route table version {outcome.version}, "
        f"routes {', '.join(f'{k}={v}' for k, v in sorted(outcome.modes.items()))}, "
        f"CDC {outcome.direction}, writes held {outcome.pause_s * 1000:.0f} ms"
    )


def run_directed_sync(name: str, source: str | None, transport: str | None, state: str) -> None:
    """`extract sync NAME --directed`: snapshot once, then CDC in the stored direction."""
    from extracted._service.registry import service_module
    from extracted._service.sync import run_sync
    from handover.cdc_control import flows, run_directed
    from handover.plan import CONTEXTS, FORWARD
    from handover.state import HandoverState

    plan = _plan(name, source, transport)
    store = HandoverState(state)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    folder = Path(state.removeprefix("sqlite:///")).parent / "handover"
    try:
        if store.direction(name).wanted == FORWARD:
            run_sync(plan, service_module(name).SPEC.metadata, stop, once=True)
            click.echo(f"{name}: initial snapshot applied; streaming in the stored direction")
        run_directed(flows(CONTEXTS[name], plan, folder), store, stop)
    finally:
        store.close()
