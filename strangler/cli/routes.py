"""`strangler routes`: list and change the router's routes through its admin API."""

from __future__ import annotations

from typing import Any

import click

from strangler.cli._common import print_json, user_errors
from strangler.cli.router_client import AdminClient, admin_options, resolve, table_rows
from strangler.settings import ConfigError

MODES = ["monolith", "shadow", "canary", "service"]


def _errors() -> Any:
    from router.errors import RouterError

    return user_errors(RouterError, ConfigError, ValueError, OSError)


def _client(admin_url: str | None, token: str | None) -> AdminClient:
    return resolve(admin_url, token)


def _reason(func: Any) -> Any:
    return click.option("--reason", default="", help="Why; stored in the version history.")(func)


def _route_id(client: AdminClient, key: str) -> str:
    """Accept a route id or its path template; the API addresses routes by id."""
    if not key.startswith("/"):
        return key
    from router.errors import NotFound

    for route in client.call("GET", "/routes")["routes"]:
        if route["path"] == key:
            return str(route["id"])
    raise NotFound(f"no route with path template {key!r}")


@click.group("routes")
def routes() -> None:
    """Move endpoints between the monolith and services, live, with history and rollback.

    Each route matches a method set and a path template (`/api/products/{id}`, or a prefix
    `/api/products/**`) and sends it to an upstream in one of four modes:
    monolith (off) → shadow (monolith answers, service mirrored and compared) → canary
    (a sticky percentage to the service) → service. Unmatched requests use the default
    route to the monolith. Every change is a new stored version; `rollback` restores any.
    These commands talk to a running `strangler router serve` through its admin API.
    """


@routes.command("list")
@admin_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_routes(admin_url: str | None, token: str | None, as_json: bool) -> None:
    """List routes, most specific first as the router matches them."""
    with _errors():
        data = _client(admin_url, token).call("GET", "/routes")
    if as_json:
        print_json(data)
        return
    rows = [
        [r["id"], ",".join(r["methods"]) or "*", r["path"], r["target"], r["mode"],
         f"{r['percent']:g}%" if r["mode"] == "canary" else "", "on" if r["fallback"] else "off"]
        for r in data["routes"]
    ]  # fmt: skip
    rows.append(["default", "*", "/**", "monolith", "monolith", "", ""])
    click.echo(f"version {data['version']}")
    headers = ["ID", "METHODS", "PATH", "TARGET", "MODE", "PERCENT", "FALLBACK"]
    click.echo(table_rows(rows, headers))


@routes.command("add")
@admin_options
@click.option("--path", "path", required=True, help="Template: /api/products/{id} or /api/**.")
@click.option("--target", required=True, help="Upstream name (see `strangler upstreams list`).")
@click.option("--methods", default="", help="Comma-separated methods, e.g. GET,POST (default any).")
@click.option("--mode", type=click.Choice(MODES), default="monolith", show_default=True)
@click.option("--percent", type=float, default=None, help="Canary share 0-100.")
@click.option("--id", "route_id", default=None, help="Route id (default derived from the path).")
@click.option("--header", default=None, help='Also require a header: "Name" or "Name: value".')
@click.option("--sticky", default=None, help="Canary key: client, header:NAME or cookie:NAME.")
@click.option(
    "--fallback/--no-fallback",
    default=None,
    help="Retry idempotent requests on the monolith if the target fails (default on).",
)
@click.option("--force", is_flag=True, help="Activate even if the target is unhealthy (recorded).")
@_reason
def add(admin_url: str | None, token: str | None, **opts: Any) -> None:
    """Add a route (off by default: mode monolith)."""
    body = _fields(opts)
    body["path"] = opts["path"]
    body["target"] = opts["target"]
    if opts["route_id"]:
        body["id"] = opts["route_id"]
    for key in ("header", "sticky"):
        if opts[key] is not None:
            body[key] = opts[key]
    if opts["methods"]:
        body["methods"] = [m.strip().upper() for m in opts["methods"].split(",") if m.strip()]
    with _errors():
        data = _client(admin_url, token).call("POST", "/routes", body)
    route = data["route"]
    click.echo(f"added route {route['id']} ({route['path']} → {route['target']}, "
               f"{route['mode']}) as version {data['version']}")  # fmt: skip


def _fields(opts: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"reason": opts.get("reason") or ""}
    if opts.get("mode"):
        body["mode"] = opts["mode"]
    if opts.get("percent") is not None:
        body["percent"] = opts["percent"]
    if opts.get("fallback") is not None:
        body["fallback"] = opts["fallback"]
    if opts.get("force"):
        body["force"] = True
    return body


def _set(admin_url: str | None, token: str | None, route: str, body: dict[str, Any]) -> None:
    with _errors():
        client = _client(admin_url, token)
        data = client.call("PATCH", f"/routes/{_route_id(client, route)}", body)
    r = data["route"]
    share = f" {r['percent']:g}%" if r["mode"] == "canary" else ""
    click.echo(f"route {r['id']} is now {r['mode']}{share} (version {data['version']})")


@routes.command("set")
@admin_options
@click.argument("route")
@click.option("--mode", type=click.Choice(MODES), default=None)
@click.option("--percent", type=float, default=None, help="Canary share 0-100.")
@click.option(
    "--fallback/--no-fallback",
    default=None,
    help="Fall back to the monolith for idempotent requests when the target fails.",
)
@click.option("--force", is_flag=True, help="Activate even if the target is unhealthy (recorded).")
@_reason
def set_(admin_url: str | None, token: str | None, route: str, **opts: Any) -> None:
    """Change a route's mode or canary percentage. ROUTE is its id or path template."""
    body = _fields(opts)
    if len(body) == 1 and "reason" in body:
        raise click.UsageError("nothing to change: give --mode, --percent or --fallback")
    _set(admin_url, token, route, body)


@routes.command("shadow")
@admin_options
@click.argument("route")
@_reason
def shadow(admin_url: str | None, token: str | None, route: str, reason: str) -> None:
    """Mirror ROUTE's requests to its target and compare; the monolith keeps answering."""
    _set(admin_url, token, route, {"mode": "shadow", "reason": reason})


@routes.command("canary")
@admin_options
@click.argument("route")
@click.option("--percent", type=float, required=True, help="Share of users (0-100), sticky.")
@click.option("--force", is_flag=True, help="Activate even if the target is unhealthy (recorded).")
@_reason
def canary(admin_url: str | None, token: str | None, route: str, **opts: Any) -> None:
    """Send a sticky percentage of ROUTE's users to its target."""
    _set(admin_url, token, route, _fields({**opts, "mode": "canary"}))


@routes.command("promote")
@admin_options
@click.argument("route")
@click.option(
    "--force",
    is_flag=True,
    help="Override the promotion gate or an unhealthy target; needs --reason (recorded).",
)
@_reason
def promote(admin_url: str | None, token: str | None, route: str, reason: str, force: bool) -> None:
    """One step forward: monolith → shadow → canary → service.

    Moving on to canary or service passes the promotion gate, enforced by the router's
    admin API: it refuses when the route's shadow mismatch rate after noise removal is
    above [gate] max_mismatch_rate (0.1 %) or there are fewer than min_comparisons (200),
    when the candidate's error rate or p99 latency is worse than the monolith's by more
    than a margin, or when CDC lags on the route's tables. The refusal names each number
    and its threshold; `strangler routes gate ROUTE` shows them before you try.
    """
    if force and not reason.strip():
        raise click.UsageError("--force needs --reason TEXT (it is recorded in the history)")
    _step(admin_url, token, route, "promote", {"reason": reason, "force": force})


@routes.command("gate")
@admin_options
@click.argument("route")
@click.option("--mode", type=click.Choice(["canary", "service"]), default=None,
              help="Judge a move to this mode (default: the next rung).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def gate(admin_url: str | None, token: str | None, route: str, mode: str | None,
         as_json: bool) -> None:  # fmt: skip
    """Show what the promotion gate says about ROUTE, check by check, with its numbers."""
    with _errors():
        client = _client(admin_url, token)
        query = f"?mode={mode}" if mode else ""
        data = client.call("GET", f"/routes/{_route_id(client, route)}/gate{query}")
    if as_json:
        print_json(data)
        return
    if not data["gated"]:
        click.echo(f"route {data['route']}: a move to {data['mode']} is not gated")
        return
    for check in data["checks"]:
        click.echo(f"  {'ok  ' if check['ok'] else 'FAIL'} {check['message']}")
    word = "allowed" if data["allowed"] else "refused"
    click.echo(f"route {data['route']} → {data['mode']}: {word}")


@routes.command("demote")
@admin_options
@click.argument("route")
@_reason
def demote(admin_url: str | None, token: str | None, route: str, reason: str) -> None:
    """One step back: service → canary → shadow → monolith."""
    _step(admin_url, token, route, "demote", {"reason": reason})


def _step(url: str | None, token: str | None, route: str, verb: str, body: dict[str, Any]) -> None:
    with _errors():
        client = _client(url, token)
        data = client.call("POST", f"/routes/{_route_id(client, route)}/{verb}", body)
    r = data["route"]
    click.echo(f"route {r['id']} is now {r['mode']} (version {data['version']})")


@routes.command("rm")
@admin_options
@click.argument("route")
@_reason
def rm(admin_url: str | None, token: str | None, route: str, reason: str) -> None:
    """Remove ROUTE; its requests go back to the default route (the monolith)."""
    with _errors():
        client = _client(admin_url, token)
        path = f"/routes/{_route_id(client, route)}"
        data = client.call("DELETE", path, {"reason": reason})
    click.echo(f"removed route {data['removed']} (version {data['version']})")


@routes.command("history")
@admin_options
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def history(admin_url: str | None, token: str | None, limit: int, as_json: bool) -> None:
    """Show stored versions, newest first: who changed what, when and why."""
    with _errors():
        data = _client(admin_url, token).call("GET", f"/versions?limit={limit}")
    if as_json:
        print_json(data)
        return
    rows = [
        [str(v["version"]), v["created_at"], v["actor"], _describe(v["change"]), v["reason"]]
        for v in data["versions"]
    ]
    click.echo(table_rows(rows, ["VERSION", "WHEN", "WHO", "CHANGE", "WHY"]))


def _describe(change: dict[str, Any]) -> str:
    op = change.get("op", "?")
    subject = change.get("route") or change.get("upstream") or change.get("to") or ""
    fields = change.get("fields") or {}
    detail = " ".join(f"{k}={v}" for k, v in fields.items() if k != "force")
    forced = " (forced)" if change.get("forced") else ""
    return f"{op} {subject} {detail}".strip() + forced


@routes.command("rollback")
@admin_options
@click.argument("version", type=int)
@_reason
def rollback(admin_url: str | None, token: str | None, version: int, reason: str) -> None:
    """Make the table of VERSION current again (stored as a new version)."""
    with _errors():
        data = _client(admin_url, token).call(
            "POST", "/rollback", {"version": version, "reason": reason}
        )
    click.echo(f"restored version {data['restored']} as version {data['version']}")


@routes.command("diff")
@admin_options
@click.option("--from", "from_", type=int, default=None, help="Older version (default: previous).")
@click.option("--to", type=int, default=None, help="Newer version (default: current).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def diff(
    admin_url: str | None, token: str | None, from_: int | None, to: int | None, as_json: bool
) -> None:
    """Show what changed between two versions."""
    query = "&".join(f"{k}={v}" for k, v in (("from", from_), ("to", to)) if v is not None)
    with _errors():
        data = _client(admin_url, token).call("GET", "/diff" + (f"?{query}" if query else ""))
    if as_json:
        print_json(data)
        return
    click.echo(f"version {data['from']} → {data['to']}")
    for c in data["changes"]:
        if c["op"] == "changed":
            click.echo(f"  ~ {c['kind']} {c['name']}.{c['field']}: {c['from']!r} → {c['to']!r}")
        else:
            click.echo(f"  {'+' if c['op'] == 'added' else '-'} {c['kind']} {c['name']}")
    if not data["changes"]:
        click.echo("  (no changes)")


@routes.command("export")
@admin_options
@click.option("--format", "fmt", type=click.Choice(["nginx", "envoy"]), required=True)
@click.option("--listen", default="127.0.0.1:8080", show_default=True, help="Address to serve on.")
@click.option("--store", default=None, help="Read the table from this store instead of the API.")
@click.option("--version", "version", type=int, default=None, help="Export this stored version.")
@click.option(
    "--standalone",
    "prefix",
    default=None,
    help="nginx only: write a complete nginx.conf using PREFIX for pid, logs and temp files.",
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), default=None, help="File to write."
)
def export(
    admin_url: str | None,
    token: str | None,
    fmt: str,
    listen: str,
    store: str | None,
    version: int | None,
    prefix: str | None,
    output: str | None,
) -> None:
    """Compile the route table to an nginx or Envoy config (the same routing decisions).

    nginx: canary via split_clients (the same sticky hash as the router), fallback via
    backup servers, shadow via mirror WITHOUT comparison. The nginx output goes inside
    `http {}` unless --standalone is given. Envoy (a v3 static bootstrap): canary with
    the router's sticky buckets (a Lua filter), fallback per request via an aggregate
    cluster (idempotent methods only), shadow via mirror WITHOUT comparison. Both are
    tested against real nginx and Envoy.
    """
    with _errors():
        table = _load_table(admin_url, token, store, version)
        if fmt == "nginx":
            from router.export import nginx

            text = (
                nginx.standalone(table, listen, prefix) if prefix else nginx.render(table, listen)
            )
        else:
            from router.export import envoy

            text = envoy.render(table, listen)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
        click.echo(f"wrote {fmt} config for table version {table.version} to {output}")
    else:
        click.echo(text, nl=False)


def _load_table(url: str | None, token: str | None, store: str | None, version: int | None) -> Any:
    from router import codec
    from router.store import RouteStore

    if store:
        s = RouteStore(store)
        try:
            return s.get(version).table if version else s.current()
        finally:
            s.close()
    client = _client(url, token)
    if version:
        return codec.table_from_dict(client.call("GET", f"/versions/{version}")["table"])
    return codec.table_from_dict(client.call("GET", "/table"))
