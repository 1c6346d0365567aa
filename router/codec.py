"""Route tables to and from plain JSON values (for the store, the admin API and the CLI)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from router.errors import ValidationError
from router.table import Route, RouteTable, Upstream

_ROUTE_FIELDS = {f.name for f in dataclasses.fields(Route)}
_UPSTREAM_FIELDS = {f.name for f in dataclasses.fields(Upstream)}


def route_to_dict(route: Route) -> dict[str, Any]:
    data = dataclasses.asdict(route)
    data["methods"] = list(route.methods)
    data["shadow_methods"] = list(route.shadow_methods)
    return data


def upstream_to_dict(upstream: Upstream) -> dict[str, Any]:
    data = dataclasses.asdict(upstream)
    data["urls"] = list(upstream.urls)
    return data


def table_to_dict(table: RouteTable) -> dict[str, Any]:
    return {
        "version": table.version,
        "upstreams": [upstream_to_dict(u) for u in table.upstreams],
        "routes": [route_to_dict(r) for r in table.routes],
    }


def route_from_dict(data: Mapping[str, Any]) -> Route:
    """Build a Route from JSON, raising ValidationError for unknown or mistyped fields."""
    _known("route", data, _ROUTE_FIELDS)
    values = dict(data)
    for key in ("methods", "shadow_methods"):
        if key in values:
            values[key] = _methods(key, values[key])
    for key in ("id", "path", "target", "mode", "sticky"):
        if key in values and not isinstance(values[key], str):
            raise ValidationError(f"route field {key!r} must be a string")
    for key in ("percent", "hold"):
        if key in values:
            values[key] = _number(key, values[key])
    if "fallback" in values and not isinstance(values["fallback"], bool):
        raise ValidationError("route field 'fallback' must be true or false")
    try:
        return Route(**values)
    except TypeError as exc:
        raise ValidationError(f"route is missing a field: {exc}") from None


def upstream_from_dict(data: Mapping[str, Any]) -> Upstream:
    _known("upstream", data, _UPSTREAM_FIELDS)
    values = dict(data)
    urls = values.get("urls")
    if isinstance(urls, str):
        urls = [urls]
    if not isinstance(urls, list | tuple) or not all(isinstance(u, str) for u in urls):
        raise ValidationError("upstream field 'urls' must be a list of URLs")
    values["urls"] = tuple(u.rstrip("/") for u in urls)
    for key in ("health_interval", "health_timeout", "breaker_window", "breaker_cooldown"):
        if key in values:
            values[key] = _number(key, values[key])
    if "breaker_failures" in values:
        values["breaker_failures"] = int(_number("breaker_failures", values["breaker_failures"]))
    try:
        return Upstream(**values)
    except TypeError as exc:
        raise ValidationError(f"upstream is missing a field: {exc}") from None


def table_from_dict(data: Mapping[str, Any]) -> RouteTable:
    return RouteTable(
        upstreams=tuple(upstream_from_dict(u) for u in data.get("upstreams", [])),
        routes=tuple(route_from_dict(r) for r in data.get("routes", [])),
        version=int(data.get("version", 0)),
    )


def _known(kind: str, data: Mapping[str, Any], fields: set[str]) -> None:
    if not isinstance(data, Mapping):
        raise ValidationError(f"{kind} must be a JSON object")
    unknown = sorted(set(data) - fields)
    if unknown:
        raise ValidationError(f"unknown {kind} field(s): {', '.join(unknown)}")


def _methods(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationError(f"route field {key!r} must be a list of HTTP methods")
    return tuple(sorted({v.strip().upper() for v in value}))


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValidationError(f"field {key!r} must be a number, got {value!r}") from None
    return float(value)
