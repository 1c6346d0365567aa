"""`strangler verify`: replay recorded traffic to the legacy side and a candidate, compare."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from strangler.cli._common import print_json
from strangler.cli.router_client import admin_options
from strangler.cli.verify_inputs import (
    Admin,
    BadInput,
    only_routes,
    read_rules,
    read_text,
    reader,
    state_databases,
    validate,
)


def _recording_options(func: Any) -> Any:
    """Add --requests, --har and --capture (recorded requests) to a command."""
    for name, dest, text in (
        ("--capture", "capture", "The router's capture file (`router serve --capture FILE`)."),
        ("--har", "har", "A HAR file (browser or proxy export)."),
        ("--requests", "requests_file",
         'JSON Lines, one {"method", "path", "headers"?, "body"?} per line.'),
    ):  # fmt: skip
        func = click.option(name, dest, type=click.Path(dir_okay=False), help=text)(func)
    return func


@click.group("verify", invoke_without_command=True)
@click.option("--legacy", help="The legacy side: a base URL or a registered upstream name.")
@click.option("--candidate", help="The new side: a base URL or a registered upstream name.")
@_recording_options
@click.option(
    "--from-shadow",
    "from_shadow",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[ROUTE]",
    help="Replay the router's stored shadow comparisons (all routes, or ROUTE's).",
)
@click.option(
    "--shadow-limit",
    type=click.IntRange(1),
    default=10000,
    show_default=True,
    help="With --from-shadow: how many of the newest stored comparisons.",
)
@click.option(
    "--only",
    "only",
    multiple=True,
    metavar="ROUTE",
    help="Replay only requests under this route template or path (repeatable).",
)
@click.option("--rules", type=click.Path(dir_okay=False), help="Rules file (TOML), see docs.")
@click.option(
    "--writes",
    type=click.Choice(["skip", "state"]),
    default="skip",
    show_default=True,
    help="skip: writes are reported as skipped. state: replay them (one request at a time) "
    "against two isolated databases and compare the rows they leave (--legacy-db, "
    "--candidate-db, --mapping).",
)
@click.option("--legacy-db", help="--writes state: the legacy side's database URL.")
@click.option("--candidate-db", help="--writes state: the candidate's database URL.")
@click.option(
    "--mapping",
    type=click.Path(dir_okay=False),
    help="--writes state: the CDC mapping (TOML) that lines legacy tables up with the service's.",
)
@click.option(
    "--state-ignore",
    multiple=True,
    metavar="[TABLE.]COLUMN",
    help="--writes state: a column not to compare (e.g. created_at); repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False),
    help="Also write the report as a static HTML page.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="Requests in flight at once.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.001),
    default=10.0,
    show_default=True,
    help="Seconds per request and side; a timeout is an error for that request.",
)
@admin_options
@click.pass_context
def verify(ctx: click.Context, **opts: Any) -> None:
    """Replay requests to the legacy side and the candidate and report every difference.

    Each request goes to both sides; when the answers differ the legacy side is asked
    again, and fields that differ between two legacy answers (timestamps, generated
    ids) are learned as noise for that route, as Diffy does. The report groups requests
    by the router's route template (or by path), lists per field how often it differed
    and whether it is noise, and keeps samples with a readable diff and a copy-as-curl
    line per side. Upstream names and route templates come from the router's admin API
    when it is reachable.

    Exit status: 0 when nothing unexplained remains, 1 when a mismatch or a request
    error remains, 2 on bad input (the message names the file and line).
    """
    if ctx.invoked_subcommand is not None:
        return
    sys.exit(_verify(opts))


def _verify(opts: dict[str, Any]) -> int:
    from rich.console import Console

    from parity import NoiseModel
    from parity.replay import ReplayConfig, Replayer, route_finder
    from parity.report import Tally

    sources = [k for k in ("requests_file", "har", "capture", "from_shadow") if opts[k] is not None]
    if len(sources) != 1:
        raise BadInput("give exactly one of --requests, --har, --capture, --from-shadow")
    if not opts["legacy"] or not opts["candidate"]:
        raise BadInput("--legacy and --candidate are required (a base URL or an upstream name)")
    rules = read_rules(opts["rules"])
    admin = Admin(opts["admin_url"], opts["token"])
    legacy, candidate = admin.base_url(opts["legacy"]), admin.base_url(opts["candidate"])
    read = only_routes(reader(opts, sources[0], admin), opts["only"])
    total = validate(read)
    noise = NoiseModel()
    config = ReplayConfig(legacy, candidate, opts["concurrency"], opts["timeout"])
    state = state_databases(opts)
    replayer = Replayer(config, rules, noise, route_finder(admin.table()), state)
    tally = Tally(legacy, candidate, noise, rules)
    err = Console(stderr=True)
    with _progress(err, total) as advance:

        def done(outcome: Any) -> None:
            tally.add(outcome)
            advance()

        try:
            replayer.run(read(), done)
        finally:
            if state is not None:
                state.close()
    report = tally.report()
    if opts["html_file"]:
        from parity.report_render import to_html

        Path(opts["html_file"]).write_text(to_html(report), encoding="utf-8")
    if opts["as_json"]:
        print_json(report)
    else:
        from parity.report_render import summary

        summary(report, Console())
        if opts["html_file"]:
            click.echo(f"HTML report: {opts['html_file']}")
    t = report["totals"]
    return 1 if t["mismatched"] or t["errors"] else 0


class _progress:
    """A rich progress bar on stderr (only when it is a terminal)."""

    def __init__(self, console: Any, total: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self.bar = Progress(
            "replaying",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not console.is_terminal,
        )
        self.task = self.bar.add_task("replay", total=total)

    def __enter__(self) -> Callable[[], None]:
        self.bar.start()
        return lambda: self.bar.advance(self.task)

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()


@verify.command("export")
@click.option("--route", required=True, help="Route template (as in the report) or path.")
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False),
    help="A `verify --json` report: export the route's mismatch samples.",
)
@click.option(
    "--sample",
    "samples",
    type=click.IntRange(1),
    multiple=True,
    help="With --report: only these mismatch samples (1-based; repeatable).",
)
@_recording_options
@click.option(
    "--limit",
    type=click.IntRange(1),
    default=50,
    show_default=True,
    help="Most recorded requests to export.",
)
@click.option(
    "--include-writes",
    is_flag=True,
    help="Export recorded writes too (they then run against both sides).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="The test file to write (default: print it).",
)
def export(**opts: Any) -> None:
    """Write a pytest regression file for ROUTE that uses the parity plugin's assert_parity.

    From a `verify --json` report it keeps the route's mismatch samples (the ones you
    choose with --sample); from a recording it keeps distinct read requests under the
    route. Run it with `pytest FILE --legacy-url URL --candidate-url URL`.
    """
    import json

    from parity import ParityError
    from parity.report_export import from_recording, from_report, render

    sources = [k for k in ("report_file", "requests_file", "har", "capture") if opts[k]]
    if len(sources) != 1:
        raise BadInput("give exactly one of --report, --requests, --har, --capture")
    if opts["samples"] and sources != ["report_file"]:
        raise BadInput("--sample picks mismatch samples of a --report")
    source, route = sources[0], opts["route"]
    try:
        if source == "report_file":
            try:
                report = json.loads(read_text(opts["report_file"]))
            except ValueError as exc:
                raise BadInput(
                    f"{opts['report_file']} is not a verify JSON report ({exc})"
                ) from None
            requests = from_report(report, route, tuple(opts["samples"]))
        else:
            read = reader(opts | {"from_shadow": None}, source, Admin(None, None))
            requests = from_recording(read(), route, opts["limit"], opts["include_writes"])
        text = render(route, requests, Path(opts[source]).name)
    except ParityError as exc:
        raise BadInput(str(exc)) from None
    if not opts["output"]:
        click.echo(text, nl=False)
        return
    Path(opts["output"]).write_text(text, encoding="utf-8")
    click.echo(f"wrote {len(requests)} parity test case(s) for {route} to {opts['output']}")
