"""The route table and the routing decision: pure values, no I/O, no framework.

A table holds upstreams (named groups of base URLs) and routes. A request that matches
no route goes to the mandatory default route, whose upstream is the monolith. See
router/template.py for the most-specific-wins rule.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from router import template as tpl
from router.bucket import in_canary
from router.errors import ValidationError

MODES = ("monolith", "shadow", "canary", "service")
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
SAFE = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})  # reads: never held
MAX_HOLD = 60.0
DEFAULT_ROUTE = "default"
MONOLITH = "monolith"
FORCE_HEADER = "x-strangler-force"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,62}$")
_METHOD = re.compile(r"^[A-Z]+$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]+$")


@dataclass(frozen=True)
class Upstream:
    """A named service: base URLs (round robin), health check and breaker settings."""

    name: str
    urls: tuple[str, ...]
    health_path: str = "/health"
    health_interval: float = 2.0
    health_timeout: float = 1.0
    breaker_failures: int = 5
    breaker_window: float = 10.0
    breaker_cooldown: float = 5.0


@dataclass(frozen=True)
class Route:
    """Where requests matching (methods, path template, header) go, and how."""

    id: str
    path: str
    target: str
    methods: tuple[str, ...] = ()  # empty: any method
    mode: str = "monolith"
    percent: float = 0.0
    header: str | None = None  # "Name" (present) or "Name: value"
    sticky: str = "client"  # "client", "header:NAME" or "cookie:NAME"
    fallback: bool = True
    shadow_methods: tuple[str, ...] = ("GET", "HEAD")
    # > 0: new write (non-SAFE) requests wait up to this many seconds for a table
    # without the hold, then go where the table current at release says (a handover)
    hold: float = 0.0

    @cached_property
    def template(self) -> tpl.Template:
        return tpl.parse(self.path)

    @cached_property
    def header_rule(self) -> tuple[str, str | None] | None:
        if not self.header:
            return None
        name, sep, value = self.header.partition(":")
        return name.strip().lower(), value.strip() if sep else None

    def rank(self) -> tuple[tuple[int, ...], int, int]:
        return self.template.rank(), int(bool(self.methods)), int(self.header_rule is not None)


@dataclass(frozen=True)
class RouteTable:
    """An immutable table; a change builds a new one (see `replace`)."""

    upstreams: tuple[Upstream, ...] = ()
    routes: tuple[Route, ...] = ()
    version: int = 0

    def upstream(self, name: str) -> Upstream | None:
        return next((u for u in self.upstreams if u.name == name), None)

    def route(self, key: str) -> Route | None:
        """Find a route by id, or by its path template."""
        found = next((r for r in self.routes if r.id == key), None)
        return found or next((r for r in self.routes if r.path == key), None)

    def replace(self, **changes: Any) -> RouteTable:
        return dataclasses.replace(self, **changes)

    @property
    def matching_order(self) -> tuple[Route, ...]:
        """Routes in the order decide() tries them: most specific first."""
        return self._ordered

    @cached_property
    def _ordered(self) -> tuple[Route, ...]:
        # most specific first; ties (only possible for non-overlapping routes) by id
        return tuple(sorted(self.routes, key=lambda r: (_neg(r.rank()), r.id)))


def _neg(rank: tuple[tuple[int, ...], int, int]) -> tuple[tuple[int, ...], int, int]:
    path, methods, header = rank
    return tuple(-w for w in path), -methods, -header


@dataclass(frozen=True)
class Request:
    """What the decision needs to know about a request."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    client: str = ""


@dataclass(frozen=True)
class Decision:
    """Which upstream answers, what to mirror, and whether to fall back."""

    route: str
    mode: str
    target: str  # upstream name that answers the client
    shadow: str | None = None  # upstream name to mirror to (the monolith answers)
    fallback: str | None = None  # upstream to retry on when the target fails
    reason: str = ""
    params: Mapping[str, str] = field(default_factory=dict)
    hold: float = 0.0  # seconds the data plane may park this request (a held write)


def decide(request: Request, table: RouteTable) -> Decision:
    """Choose the route and upstream for a request; pure and deterministic."""
    parts = tpl.split_path(request.path)
    method = request.method.upper()
    for route in table._ordered:
        params = route.template.match(parts)
        if params is None or (route.methods and method not in route.methods):
            continue
        if not _header_matches(route, request.headers):
            continue
        return _decide_route(route, request, method, params)
    return Decision(DEFAULT_ROUTE, "monolith", MONOLITH, reason="default")


def _header_matches(route: Route, headers: Mapping[str, str]) -> bool:
    rule = route.header_rule
    if rule is None:
        return True
    name, value = rule
    got = headers.get(name)
    return got is not None and (value is None or got == value)


def _decide_route(route: Route, req: Request, method: str, params: dict[str, str]) -> Decision:
    fallback = MONOLITH if route.fallback and method in IDEMPOTENT else None
    hold = route.hold if method not in SAFE else 0.0
    base = Decision(route.id, route.mode, MONOLITH, params=params, hold=hold)
    if route.mode == "monolith":
        return dataclasses.replace(base, reason="off")
    if route.mode == "shadow":
        mirror = route.target if method in route.shadow_methods else None
        return dataclasses.replace(base, shadow=mirror, reason="shadow")
    if route.mode == "service":
        return dataclasses.replace(base, target=route.target, fallback=fallback, reason="service")
    forced = req.headers.get(FORCE_HEADER, "").strip().lower()
    if forced in ("service", "monolith"):
        chosen = route.target if forced == "service" else MONOLITH
        return dataclasses.replace(base, target=chosen, reason=f"forced-{forced}")
    if in_canary(route.id + ":" + sticky_key(route, req), route.percent):
        return dataclasses.replace(base, target=route.target, fallback=fallback, reason="canary")
    return dataclasses.replace(base, reason="canary-monolith")


def sticky_key(route: Route, req: Request) -> str:
    """Return the user key for canary bucketing; the client address when absent."""
    kind, _, name = route.sticky.partition(":")
    if kind == "header":
        return req.headers.get(name.lower()) or req.client
    if kind == "cookie":
        return _cookie(req.headers.get("cookie", ""), name) or req.client
    return req.client


def _cookie(header: str, name: str) -> str:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


def validate(table: RouteTable) -> RouteTable:
    """Return the table when every invariant holds, else raise ValidationError naming it."""
    names = [u.name for u in table.upstreams]
    if MONOLITH not in names:
        raise ValidationError("the table needs an upstream named 'monolith' (the default route)")
    for u in table.upstreams:
        _check_upstream(u)
    if len(set(names)) != len(names):
        raise ValidationError("upstream names must be unique")
    ids = [r.id for r in table.routes]
    if len(set(ids)) != len(ids) or DEFAULT_ROUTE in ids:
        raise ValidationError("route ids must be unique and not 'default'")
    for r in table.routes:
        _check_route(r, set(names))
    _check_ambiguity(table.routes)
    return table


def _check_upstream(u: Upstream) -> None:
    if not _NAME.match(u.name):
        raise ValidationError(f"upstream name {u.name!r} must be a letter then letters/digits/_.-")
    if not u.urls:
        raise ValidationError(f"upstream {u.name!r} needs at least one URL")
    for url in u.urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError(f"upstream {u.name!r}: {url!r} is not an http(s) base URL")
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            raise ValidationError(f"upstream {u.name!r}: {url!r} has a bad port") from None
    if u.health_interval <= 0 or u.health_timeout <= 0 or u.breaker_cooldown <= 0:
        raise ValidationError(f"upstream {u.name!r}: intervals and timeouts must be positive")
    if u.breaker_failures < 1 or u.breaker_window <= 0:
        raise ValidationError(f"upstream {u.name!r}: breaker needs failures >= 1, window > 0")


def _check_route(r: Route, upstreams: set[str]) -> None:
    if not _NAME.match(r.id):
        raise ValidationError(f"route id {r.id!r} must be a letter then letters/digits/_.-")
    try:
        r.template  # noqa: B018 - parses
    except ValueError as exc:
        raise ValidationError(f"route {r.id!r}: {exc}") from None
    if r.target not in upstreams:
        raise ValidationError(f"route {r.id!r}: unknown upstream {r.target!r}")
    if r.mode not in MODES:
        raise ValidationError(f"route {r.id!r}: mode {r.mode!r} is not one of {', '.join(MODES)}")
    if isinstance(r.percent, bool) or not 0 <= float(r.percent) <= 100:
        raise ValidationError(f"route {r.id!r}: percent {r.percent!r} is outside 0-100")
    if isinstance(r.hold, bool) or not 0 <= float(r.hold) <= MAX_HOLD:
        raise ValidationError(f"route {r.id!r}: hold {r.hold!r} is outside 0-{MAX_HOLD:g} seconds")
    for m in (*r.methods, *r.shadow_methods):
        if not _METHOD.match(m):
            raise ValidationError(f"route {r.id!r}: {m!r} is not an upper-case HTTP method")
    if r.header_rule and not _HEADER_NAME.match(r.header_rule[0]):
        raise ValidationError(f"route {r.id!r}: header {r.header!r} is malformed")
    kind, _, name = r.sticky.partition(":")
    if kind not in ("client", "header", "cookie") or (kind != "client") != bool(name):
        raise ValidationError(
            f"route {r.id!r}: sticky {r.sticky!r} must be client, header:NAME or cookie:NAME"
        )


def _check_ambiguity(routes: tuple[Route, ...]) -> None:
    for i, a in enumerate(routes):
        for b in routes[i + 1 :]:
            if a.rank() != b.rank() or not a.template.overlaps(b.template):
                continue
            if a.methods and b.methods and not set(a.methods) & set(b.methods):
                continue
            ha, hb = a.header_rule, b.header_rule
            if ha and hb and ha[0] == hb[0] and None not in (ha[1], hb[1]) and ha[1] != hb[1]:
                continue
            raise ValidationError(
                f"routes {a.id!r} ({a.path}) and {b.id!r} ({b.path}) match the same "
                "requests with equal specificity; make one more specific"
            )
