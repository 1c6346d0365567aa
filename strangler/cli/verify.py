"""`strangler verify`: replay recorded traffic to the legacy side and a candidate, compare."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from strangler.cli._common import print_json
from strangler.cli.router_client import admin_options

EXIT_BAD_INPUT = 2


class BadInput(click.ClickException):
    """A user mistake in the arguments or the input files: one line, exit status 2."""

    exit_code = EXIT_BAD_INPUT


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
    rules = _rules(opts["rules"])
    admin = _Admin(opts["admin_url"], opts["token"])
    legacy, candidate = admin.base_url(opts["legacy"]), admin.base_url(opts["candidate"])
    read = _only(_reader(opts, sources[0], admin), opts["only"])
    total = _validate(read)
    noise = NoiseModel()
    config = ReplayConfig(legacy, candidate, opts["concurrency"], opts["timeout"])
    state = _state(opts)
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


def _state(opts: dict[str, Any]) -> Any:
    """The two databases of --writes state, or None."""
    names = ("legacy_db", "candidate_db", "mapping")
    if opts["writes"] != "state":
        if any(opts[n] for n in names) or opts["state_ignore"]:
            raise BadInput("--legacy-db, --candidate-db, --mapping go with --writes state")
        return None
    if not all(opts[n] for n in names):
        raise BadInput("--writes state needs --legacy-db URL, --candidate-db URL, --mapping FILE")
    from parity.replay_state import Databases, StateError

    try:
        return Databases(
            opts["legacy_db"], opts["candidate_db"], opts["mapping"], tuple(opts["state_ignore"])
        )
    except StateError as exc:
        raise BadInput(str(exc)) from None


def _rules(path: str | None) -> Any:
    from parity import Rules, RulesError, load_rules

    if not path:
        return Rules()
    try:
        return load_rules(path)
    except RulesError as exc:
        raise BadInput(str(exc)) from None


Reader = Callable[[], Iterator[Any]]


def _reader(opts: dict[str, Any], source: str, admin: _Admin) -> Reader:
    from parity import inputs

    if source == "from_shadow":
        rows = admin.shadow_rows(opts["from_shadow"] or None, opts["shadow_limit"])
        return lambda: inputs.from_shadow(rows)
    path = opts[source]
    name = Path(path).name
    if source == "har":
        text = _read_text(path)
        return lambda: inputs.read_har(text, name)
    parse = inputs.read_jsonl if source == "requests_file" else inputs.read_capture
    _read_text(path, probe=True)

    def lines() -> Iterator[Any]:
        with open(path, encoding="utf-8", errors="replace") as fh:
            yield from parse(fh, name)

    return lines


def _only(read: Reader, routes: tuple[str, ...]) -> Reader:
    from parity.replay import template_matches

    if not routes:
        return read
    return lambda: (r for r in read() if any(template_matches(t, r.path) for t in routes))


def _read_text(path: str, probe: bool = False) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read(1 if probe else -1)
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path} is not UTF-8 text ({exc.reason})") from None


def _validate(read: Reader) -> int:
    """Read the whole input once before sending anything; return the request count."""
    from parity.inputs import InputError

    try:
        return sum(1 for _ in read())
    except InputError as exc:
        raise BadInput(str(exc)) from None


class _Admin:
    """The router's admin API, asked only when needed (upstream names, shadow rows)."""

    def __init__(self, url: str | None, token: str | None) -> None:
        self.url, self.token = url, token
        self._client: Any = None

    def client(self, why: str) -> Any:
        from router.errors import RouterError
        from strangler.cli.router_client import resolve

        if self._client is None:
            try:
                self._client = resolve(self.url, self.token)
            except (RouterError, ValueError) as exc:
                raise BadInput(f"{why} needs the router's admin API: {exc}") from None
        return self._client

    def call(self, why: str, path: str) -> Any:
        from router.errors import RouterError

        try:
            return self.client(why).call("GET", path)
        except RouterError as exc:
            raise BadInput(f"{why}: {exc}") from None

    def base_url(self, side: str) -> str:
        if "://" in side:
            return side
        upstreams = self.call(f"upstream name {side!r}", "/upstreams")["upstreams"]
        for u in upstreams:
            if u["name"] == side:
                return str(u["urls"][0])
        known = ", ".join(u["name"] for u in upstreams)
        raise BadInput(f"no upstream named {side!r} (registered: {known}); or give a URL")

    def shadow_rows(self, route: str | None, limit: int) -> list[dict[str, Any]]:
        from urllib.parse import quote

        query = f"?limit={limit}" + (f"&route={quote(route)}" if route else "")
        rows: list[dict[str, Any]] = self.call("--from-shadow", "/shadow/comparisons" + query)[
            "comparisons"
        ]
        if not rows:
            raise BadInput(
                "the router has no stored shadow comparisons"
                + (f" for route {route!r}" if route else "")
            )
        return list(reversed(rows))  # oldest first, as they happened

    def table(self) -> Any:
        """The route table when the admin API answers, else None (group by path)."""
        from router import codec
        from router.errors import RouterError
        from strangler.cli.router_client import resolve

        try:
            client = self._client or resolve(self.url, self.token)
            return codec.table_from_dict(client.call("GET", "/table"))
        except (RouterError, ValueError, OSError):
            return None


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
                report = json.loads(_read_text(opts["report_file"]))
            except ValueError as exc:
                raise BadInput(
                    f"{opts['report_file']} is not a verify JSON report ({exc})"
                ) from None
            requests = from_report(report, route, tuple(opts["samples"]))
        else:
            read = _reader(opts | {"from_shadow": None}, source, _Admin(None, None))
            requests = from_recording(read(), route, opts["limit"], opts["include_writes"])
        text = render(route, requests, Path(opts[source]).name)
    except ParityError as exc:
        raise BadInput(str(exc)) from None
    if not opts["output"]:
        click.echo(text, nl=False)
        return
    Path(opts["output"]).write_text(text, encoding="utf-8")
    click.echo(f"wrote {len(requests)} parity test case(s) for {route} to {opts['output']}")
