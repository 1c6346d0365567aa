"""Edits of a route table as pure functions: each returns a new, validated table."""

from __future__ import annotations

import re
from typing import Any

from router import codec
from router.errors import NotFound, ValidationError
from router.table import MONOLITH, Route, RouteTable, Upstream, validate

LADDER = ("monolith", "shadow", "canary", "service")
DEFAULT_CANARY_PERCENT = 10.0


def slug(path: str, methods: tuple[str, ...] = ()) -> str:
    """Derive a route id from its template, e.g. /api/products/{id} -> api-products-id."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", path.replace("**", "all")) if w]
    base = "-".join(words).lower() or "root"
    if methods:
        base += "-" + "-".join(m.lower() for m in methods)
    return base if base[0].isalpha() else "r-" + base


def find_route(table: RouteTable, key: str) -> Route:
    route = table.route(key)
    if route is None:
        raise NotFound(f"no route {key!r} (give its id or its path template)")
    return route


def add_route(table: RouteTable, data: dict[str, Any]) -> tuple[RouteTable, Route]:
    data = dict(data)
    if not data.get("id"):
        base = slug(str(data.get("path", "")), codec.route_from_dict({**data, "id": "x"}).methods)
        candidate, n = base, 2
        while table.route(candidate) is not None:
            candidate, n = f"{base}-{n}", n + 1
        data["id"] = candidate
    route = codec.route_from_dict(data)
    if any(r.id == route.id for r in table.routes):
        raise ValidationError(f"route {route.id!r} already exists")
    new = validate(table.replace(routes=(*table.routes, route)))
    return new, route


def set_route(table: RouteTable, key: str, fields: dict[str, Any]) -> tuple[RouteTable, Route]:
    old = find_route(table, key)
    if "id" in fields and fields["id"] != old.id:
        raise ValidationError("a route's id cannot change; remove it and add a new one")
    route = codec.route_from_dict({**codec.route_to_dict(old), **fields})
    routes = tuple(route if r.id == old.id else r for r in table.routes)
    return validate(table.replace(routes=routes)), route


def step(table: RouteTable, key: str, direction: int) -> tuple[RouteTable, Route]:
    """Promote (+1) or demote (-1) a route one rung of monolith → shadow → canary → service."""
    route = find_route(table, key)
    rung = LADDER.index(route.mode) + direction
    if not 0 <= rung < len(LADDER):
        word = "promoted" if direction > 0 else "demoted"
        raise ValidationError(f"route {route.id!r} is in mode {route.mode!r}; it cannot be {word}")
    fields: dict[str, Any] = {"mode": LADDER[rung]}
    if LADDER[rung] == "canary" and route.percent <= 0:
        fields["percent"] = DEFAULT_CANARY_PERCENT
    return set_route(table, route.id, fields)


def remove_route(table: RouteTable, key: str) -> RouteTable:
    route = find_route(table, key)
    return validate(table.replace(routes=tuple(r for r in table.routes if r.id != route.id)))


def put_upstream(table: RouteTable, data: dict[str, Any]) -> tuple[RouteTable, Upstream]:
    """Add an upstream, or replace the one of the same name."""
    upstream = codec.upstream_from_dict(data)
    others = tuple(u for u in table.upstreams if u.name != upstream.name)
    return validate(table.replace(upstreams=(*others, upstream))), upstream


def remove_upstream(table: RouteTable, name: str) -> RouteTable:
    if table.upstream(name) is None:
        raise NotFound(f"no upstream {name!r}")
    if name == MONOLITH:
        raise ValidationError("the 'monolith' upstream backs the default route; it stays")
    users = [r.id for r in table.routes if r.target == name]
    if users:
        raise ValidationError(f"upstream {name!r} is the target of route(s) {', '.join(users)}")
    return validate(table.replace(upstreams=tuple(u for u in table.upstreams if u.name != name)))


def activates(before: Route | None, after: Route) -> bool:
    """Tell whether a change starts sending (more) live traffic to the route's target."""
    live = ("canary", "service")
    if after.mode not in live:
        return False
    return before is None or before.mode not in live or before.target != after.target


def diff(a: RouteTable, b: RouteTable) -> list[dict[str, Any]]:
    """List what changed from table a to table b, per route and upstream field."""
    out: list[dict[str, Any]] = []
    for kind, left, right in (
        ("upstream", {u.name: codec.upstream_to_dict(u) for u in a.upstreams},
         {u.name: codec.upstream_to_dict(u) for u in b.upstreams}),
        ("route", {r.id: codec.route_to_dict(r) for r in a.routes},
         {r.id: codec.route_to_dict(r) for r in b.routes}),
    ):  # fmt: skip
        for name in sorted(set(left) | set(right)):
            if name not in right:
                out.append({"kind": kind, "name": name, "op": "removed"})
            elif name not in left:
                out.append({"kind": kind, "name": name, "op": "added", "value": right[name]})
            else:
                for key in sorted(right[name]):
                    if left[name].get(key) != right[name][key]:
                        was, now = left[name].get(key), right[name][key]
                        entry = {"kind": kind, "name": name, "op": "changed", "field": key}
                        out.append({**entry, "from": was, "to": now})
    return out
