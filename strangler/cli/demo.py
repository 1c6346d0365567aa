"""`strangler demo`: a whole migration of ShopCo's catalog on embedded defaults."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from strangler.cli._common import print_json


@click.command("demo")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/demo"),
    show_default=True,
    help="Where the demo writes its databases, logs and reports (its files are made anew).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65532),
    default=5000,
    show_default=True,
    help="ShopCo's port; the catalog, router and admin API take the next three (0 = any free).",
)
@click.option(
    "--scale", type=click.IntRange(min=1), default=1, show_default=True, help="Seed size."
)
@click.option(
    "--requests",
    type=click.IntRange(min=60),
    default=300,
    show_default=True,
    help="Traffic per phase (the first ~60 tour every endpoint).",
)
@click.option(
    "--step",
    "until",
    type=click.IntRange(1, 6),
    default=6,
    show_default=True,
    help="Stop after this step (1 analyze, 2 sync, 3 shadow, 4 promote, 5 rollback, 6 summary).",
)
@click.option(
    "--min-comparisons",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="The promotion gate's minimum of shadow comparisons per route, for the demo.",
)
@click.option(
    "--exit", "exit_after", is_flag=True, help="Stop after the summary instead of serving on."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (implies quiet).")
def demo(
    folder: Path,
    host: str,
    port: int,
    scale: int,
    requests: int,
    until: int,
    min_comparisons: int,
    exit_after: bool,
    as_json: bool,
) -> None:
    """Migrate ShopCo's catalog to its own service, on embedded defaults (SQLite, no services).

    \b
    1. analyze: seed ShopCo, serve it with the SQL attribution log, drive traffic,
       suggest contexts and draw the context graphs;
    2. sync: start the catalog service on its own database, fill it by CDC
       (initial snapshot, then streaming) and show the lag reach zero;
    3. shadow: the router compares the service's answers with ShopCo's;
    4. promote: canary, then service, through the promotion gate;
    5. rollback: back to ShopCo and forward again under live traffic;
    6. summary: figures and every artifact's path.
    Then everything keeps serving until Ctrl-C (unless --exit or --step).
    Every process the demo starts stops on exit, Ctrl-C or an error.
    """
    from analysis.errors import AnalysisError
    from monolith.errors import MonolithError
    from router.errors import RouterError
    from strangler.demo_run import DemoOptions, describe, run_demo
    from strangler.demo_stack import DemoError, Stack

    say = (lambda _text: None) if as_json else click.echo
    options = DemoOptions(
        folder=folder, host=host, port=port, scale=scale, requests=requests, until=until,
        min_comparisons=min_comparisons, say=say,
        progress=lambda total: _progress(total, enabled=not as_json),
    )  # fmt: skip
    signal.signal(signal.SIGTERM, _interrupt)  # stop like Ctrl-C: everything started stops
    with Stack() as stack:
        try:
            result = run_demo(options, stack)
        except (DemoError, MonolithError, AnalysisError, RouterError) as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("interrupted; stopping everything the demo started", err=True)
            raise SystemExit(130) from None
        if as_json:
            print_json(result.summary())
        else:
            describe(result, say)
        if exit_after or until < 6:
            return
        artifacts = result.summary()["artifacts"]
        _serve_on(result.urls(), artifacts.get("config"), artifacts.get("router_token"))


def _serve_on(urls: dict[str, str], config: str | None, token: str | None) -> None:
    click.echo("\neverything keeps serving; try:")
    if "router" in urls:
        click.echo(f"  curl -i {urls['router']}/api/products/1   # X-Strangler-Target: catalog")
        click.echo(f"  curl -i {urls['router']}/api/customers/1  # still ShopCo")
    for name, url in urls.items():
        click.echo(f"  {name:<8} {url}")
    if "admin" in urls and token:
        click.echo(f"  dashboard {urls['admin']}/ui/  (log in with the token in {token})")
    if config:
        click.echo(f"  STRANGLER_CONFIG={config} strangler routes list")
    try:  # a Ctrl-C right after the prompt is caught too
        click.echo("Press Ctrl-C to stop.")
        threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("stopping")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _progress(total: int, *, enabled: bool) -> Iterator[Callable[[int, float], None] | None]:
    from monolith.traffic_view import progress_reporter

    with progress_reporter(total, None, enabled=enabled) as update:
        yield update
