"""`strangler upstreams`: register the services routes can target."""

from __future__ import annotations

from typing import Any

import click

from strangler.cli._common import print_json
from strangler.cli.router_client import admin_options, resolve, table_rows
from strangler.cli.routes import _errors


@click.group("upstreams")
def upstreams() -> None:
    """Register the services that routes send traffic to (by name, one or more URLs).

    Requests to an upstream with several URLs are spread round robin. Each URL is probed
    at its health path, and a circuit breaker opens after repeated failures. The
    `monolith` upstream is the default route's and comes from `router serve --monolith`.
    """


@upstreams.command("list")
@admin_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_upstreams(admin_url: str | None, token: str | None, as_json: bool) -> None:
    """List upstreams with their URLs, health and circuit-breaker state."""
    with _errors():
        data = resolve(admin_url, token).call("GET", "/upstreams")
    if as_json:
        print_json(data)
        return
    rows = [
        [u["name"], " ".join(u["urls"]), "yes" if u["healthy"] else "NO", u["breaker"]]
        for u in data["upstreams"]
    ]
    click.echo(table_rows(rows, ["NAME", "URLS", "HEALTHY", "BREAKER"]))


@upstreams.command("add")
@admin_options
@click.argument("name")
@click.argument("urls", nargs=-1, required=True)
@click.option("--health-path", default=None, help="Path probed for health (default /health).")
@click.option("--health-interval", type=float, default=None, help="Seconds between probes.")
@click.option("--breaker-failures", type=int, default=None, help="Failures that open the breaker.")
@click.option("--breaker-window", type=float, default=None, help="Window for those failures (s).")
@click.option("--breaker-cooldown", type=float, default=None, help="Open time before a probe (s).")
@click.option("--reason", default="", help="Why; stored in the version history.")
def add(
    admin_url: str | None, token: str | None, name: str, urls: tuple[str, ...], **opts: Any
) -> None:
    """Register NAME at one or more base URLs (replaces an existing NAME)."""
    body: dict[str, Any] = {"urls": list(urls), "reason": opts.pop("reason")}
    body.update({k: v for k, v in opts.items() if v is not None})
    with _errors():
        data = resolve(admin_url, token).call("PUT", f"/upstreams/{name}", body)
    click.echo(
        f"upstream {name} → {' '.join(data['upstream']['urls'])} (version {data['version']})"
    )


@upstreams.command("rm")
@admin_options
@click.argument("name")
@click.option("--reason", default="", help="Why; stored in the version history.")
def rm(admin_url: str | None, token: str | None, name: str, reason: str) -> None:
    """Remove upstream NAME (refused while a route targets it)."""
    with _errors():
        data = resolve(admin_url, token).call("DELETE", f"/upstreams/{name}", {"reason": reason})
    click.echo(f"removed upstream {data['removed']} (version {data['version']})")
