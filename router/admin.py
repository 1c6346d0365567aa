"""The admin HTTP API: JSON over a bearer token, on its own port (127.0.0.1 by default).

Every call but GET /health needs `Authorization: Bearer <token>`, compared in constant
time, or the dashboard's session cookie (/ui/, router/ui) with its `X-CSRF-Token` header
on every state-changing call. Errors are `{"error": {"code", "message"}}`. Changes go to
the store as a new version (who = X-Strangler-Actor or "admin-api", why = the body's
"reason") and are published to this process's data plane at once; other data planes
sharing the store pick them up by polling. The OpenAPI document is at /openapi.json.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from router import codec, ops
from router.breaker import CLOSED
from router.comparisons import ComparisonStore
from router.dataplane import DataPlane
from router.errors import Conflict, NotFound, RouterError, ValidationError
from router.gate import (
    GATED_MODES,
    Evidence,
    GatePolicy,
    PromotionRefused,
    Verdict,
    judge,
    load_policy,
    refusal,
)
from router.openapi import document
from router.store import RouteStore
from router.table import MONOLITH, Route, RouteTable
from router.ui import register_dashboard
from router.ui.session import CsrfRefused, session_actor

STATUS = {
    ValidationError: 400,
    NotFound: 404,
    Conflict: 409,
    PromotionRefused: 409,
    CsrfRefused: 403,
}


@dataclass
class Control:
    """What the admin API works on."""

    store: RouteStore
    plane: DataPlane
    token: str
    comparisons: ComparisonStore | None = None
    gate: GatePolicy = field(default_factory=load_policy)  # [gate] in strangler.toml


def create_app(control: Control) -> Flask:
    app = Flask("strangler-router-admin")
    app.config["JSON_SORT_KEYS"] = False

    @app.before_request
    def _auth() -> Response | None:
        if request.path == "/health" or (request.path + "/").startswith("/ui/"):
            return None  # the dashboard (router/ui) checks its own session cookie
        given = request.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), control.token.encode()
        ):
            actor = session_actor(request, control.token)  # the dashboard's cookie + CSRF
            if actor is None:
                return _error(401, "unauthorized", "missing or wrong bearer token")
            g.actor = actor
            return None
        g.actor = request.headers.get("X-Strangler-Actor", "admin-api")[:200]
        return None

    @app.errorhandler(RouterError)
    def _router_error(exc: RouterError) -> Response:
        return _error(STATUS.get(type(exc), 400), exc.code, str(exc))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        code = (exc.name or "error").lower().replace(" ", "_")
        return _error(exc.code or 500, code, exc.description or code)

    _routes(app, control)
    _upstreams(app, control)
    _versions(app, control)
    _observability(app, control)
    register_dashboard(app, control)  # /ui/ (router/ui)
    return app


def _routes(app: Flask, c: Control) -> None:
    @app.get("/routes")
    def list_routes() -> Any:
        table = c.store.current()
        default = {"id": "default", "path": "/**", "target": MONOLITH, "mode": "monolith"}
        return {
            "version": table.version,
            "default": default,
            "routes": [codec.route_to_dict(r) for r in table.matching_order],
        }

    @app.post("/routes")
    def add_route() -> Any:
        body = _body()
        fields = {k: v for k, v in body.items() if k not in ("reason", "force")}
        gate: dict[str, Any] = {}
        if c.gate.guard_set and isinstance(fields.get("mode"), str):
            new = Route(str(fields.get("id") or ""), str(fields.get("path")), MONOLITH)
            gate = _gate(c, new, fields["mode"], body)  # a new route has no comparisons yet
        edit = lambda t: ops.add_route(t, fields)  # noqa: E731
        table, route = _change(c, edit, None, body, "add", gate)
        return jsonify({"version": table.version, "route": codec.route_to_dict(route)}), 201

    @app.get("/routes/<key>")
    def get_route(key: str) -> Any:
        return codec.route_to_dict(ops.find_route(c.store.current(), key))

    @app.patch("/routes/<key>")
    def set_route(key: str) -> Any:
        body = _body()
        fields = {k: v for k, v in body.items() if k not in ("reason", "force")}
        gate: dict[str, Any] = {}
        if c.gate.guard_set and isinstance(fields.get("mode"), str):
            gate = _gate(c, ops.find_route(c.store.current(), key), fields["mode"], body)
        edit = lambda t: ops.set_route(t, key, fields)  # noqa: E731
        table, route = _change(c, edit, key, body, "set", gate)
        return {"version": table.version, "route": codec.route_to_dict(route)}

    @app.post("/routes/<key>/<any(promote, demote):verb>")
    def step(key: str, verb: str) -> Any:
        body = _body(optional=True)
        direction = 1 if verb == "promote" else -1
        gate: dict[str, Any] = {}
        if direction > 0:
            before = ops.find_route(c.store.current(), key)
            _, after = ops.step(c.store.current(), key, direction)
            gate = _gate(c, before, after.mode, body)
        table, route = _change(c, lambda t: ops.step(t, key, direction), key, body, verb, gate)
        return {"version": table.version, "route": codec.route_to_dict(route)}

    @app.get("/routes/<key>/gate")
    def gate_verdict(key: str) -> Any:
        """What the promotion gate says about moving the route to `mode` (default: next)."""
        table = c.store.current()
        route = ops.find_route(table, key)
        mode = request.args.get("mode") or ops.step(table, key, 1)[1].mode
        evidence, verdict = _judge(c, route)
        return {
            "route": route.id,
            "mode": mode,
            "gated": mode in GATED_MODES,
            **verdict.to_json(),
            "evidence": evidence.to_json(),
        }

    @app.delete("/routes/<key>")
    def remove_route(key: str) -> Any:
        body = _body(optional=True)
        route_id = ops.find_route(c.store.current(), key).id
        change = {"op": "rm", "route": route_id}
        table = _commit(c, lambda t: ops.remove_route(t, route_id), body, change)
        return {"version": table.version, "removed": route_id}


def _upstreams(app: Flask, c: Control) -> None:
    @app.get("/upstreams")
    def list_upstreams() -> Any:
        return upstream_states(c)

    @app.put("/upstreams/<name>")
    def put_upstream(name: str) -> Any:
        body = _body()
        fields = {k: v for k, v in body.items() if k not in ("reason", "force")}
        data = {**fields, "name": name}
        holder: dict[str, Any] = {}

        def edit(t: RouteTable) -> RouteTable:
            new, holder["upstream"] = ops.put_upstream(t, data)
            return new

        table = _commit(c, edit, body, {"op": "upstream-put", "upstream": name})
        return {"version": table.version, "upstream": codec.upstream_to_dict(holder["upstream"])}

    @app.delete("/upstreams/<name>")
    def remove_upstream(name: str) -> Any:
        body = _body(optional=True)
        change = {"op": "upstream-rm", "upstream": name}
        table = _commit(c, lambda t: ops.remove_upstream(t, name), body, change)
        return {"version": table.version, "removed": name}


def _versions(app: Flask, c: Control) -> None:
    @app.get("/versions")
    def history() -> Any:
        limit = request.args.get("limit", "50")
        if not limit.isdigit():
            raise ValidationError("limit must be a positive integer")
        return {"versions": [v.summary() for v in c.store.history(int(limit))]}

    @app.get("/versions/<int:number>")
    def version(number: int) -> Any:
        v = c.store.get(number)
        return {**v.summary(), "table": codec.table_to_dict(v.table)}

    @app.post("/rollback")
    def rollback() -> Any:
        body = _body()
        number = body.get("version")
        if not isinstance(number, int) or isinstance(number, bool):
            raise ValidationError("body needs an integer 'version' to roll back to")
        table = c.store.rollback(number, actor=g.actor, reason=str(body.get("reason", "")))
        c.plane.publish(table)
        return {"version": table.version, "restored": number}

    @app.get("/diff")
    def diff() -> Any:
        latest = c.store.latest_version()
        a = _int_arg("from", max(latest - 1, 0))
        b = _int_arg("to", latest)
        left = c.store.get(a).table if a else RouteTable()
        right = c.store.get(b).table if b else RouteTable()
        return {"from": a, "to": b, "changes": ops.diff(left, right)}

    @app.get("/table")
    def table() -> Any:
        return codec.table_to_dict(c.store.current())


def _observability(app: Flask, c: Control) -> None:
    @app.get("/health")
    def health() -> Any:
        return {"status": "ok", "serving_version": c.plane.table.version}

    @app.get("/openapi.json")
    def openapi() -> Any:
        return document()

    @app.get("/metrics")
    def metrics() -> Response:
        text = c.plane.metrics.render()
        return Response(text, mimetype="text/plain; version=0.0.4")

    @app.get("/shadow/comparisons")
    def comparisons() -> Any:
        if c.comparisons is None:
            return {"comparisons": []}
        route = request.args.get("route")
        limit = _int_arg("limit", 100)
        return {"comparisons": c.comparisons.recent(route, limit)}

    @app.get("/shadow/summary")
    def shadow_summary() -> Any:
        mirror = c.plane.mirror
        dropped, in_flight = mirror.counts() if mirror else (0, 0)
        return {
            "routes": c.comparisons.summary() if c.comparisons else [],
            "dropped": dropped,
            "in_flight": in_flight,
            "noise": mirror.learned_noise() if mirror else {},  # per route: field -> times
        }


def upstream_states(c: Control) -> dict[str, Any]:
    """Every upstream with its health and circuit-breaker state (GET /upstreams, /ui/)."""
    table = c.store.current()
    out = []
    for u in table.upstreams:
        breaker = c.plane.breakers.get(u.name)
        item = codec.upstream_to_dict(u)
        item["healthy"] = c.plane.health.healthy(u)
        item["breaker"] = breaker.current(c.plane.clock()).state if breaker else CLOSED
        out.append(item)
    return {"version": table.version, "upstreams": out}


def _judge(c: Control, route: Route) -> tuple[Evidence, Verdict]:
    from router.gate_evidence import gather

    evidence = gather(route, c.gate, c.comparisons, c.plane.metrics)
    return evidence, judge(evidence, c.gate)


def _gate(c: Control, before: Route, mode: str, body: dict[str, Any]) -> dict[str, Any]:
    """Refuse a promotion into canary/service that the gate's numbers do not allow.

    Returns what to record in the change: the overridden failures when forced.
    """
    rungs = ops.LADDER
    if mode not in GATED_MODES or (mode in rungs and rungs.index(mode) <= rungs.index(before.mode)):
        return {}
    _, verdict = _judge(c, before)
    if verdict.allowed:
        return {"gate": "passed"}
    if body.get("force") is not True:
        raise PromotionRefused(refusal(before.id, mode, verdict))
    if not str(body.get("reason", "")).strip():
        raise ValidationError(
            "overriding the promotion gate needs a reason (the force is recorded)"
        )
    return {"forced": True, "gate": {"overridden": [f.message for f in verdict.failures]}}


def _change(
    c: Control,
    edit: Callable[[RouteTable], tuple[RouteTable, Route]],
    key: str | None,
    body: dict[str, Any],
    op: str,
    gate: dict[str, Any] | None = None,
) -> tuple[RouteTable, Route]:
    """Commit a route edit, refusing to activate an unhealthy target unless forced."""
    holder: dict[str, Any] = {}
    force = body.get("force") is True
    change: dict[str, Any] = {"op": op, "route": key, **(gate or {})}

    def apply(t: RouteTable) -> RouteTable:
        before = t.route(key) if key else None
        new, route = edit(t)
        holder["route"] = route
        change["route"] = route.id
        change["fields"] = {k: v for k, v in body.items() if k not in ("reason",)}
        if ops.activates(before, route):
            upstream = new.upstream(route.target)
            if upstream is not None and not c.plane.health.healthy(upstream):
                if not force:
                    raise Conflict(
                        f"target {route.target!r} of route {route.id!r} is unhealthy; "
                        "pass force=true to activate it anyway (the force is recorded)"
                    )
                change["forced"] = True
        return new

    table = _commit(c, apply, body, change)
    return table, holder["route"]


def _commit(
    c: Control,
    edit: Callable[[RouteTable], RouteTable],
    body: dict[str, Any],
    change: dict[str, Any],
) -> RouteTable:
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        raise ValidationError("'reason' must be a string")
    table = c.store.update(edit, actor=g.actor, reason=reason, change=change)
    c.plane.publish(table)
    return table


def _body(optional: bool = False) -> dict[str, Any]:
    if optional and not request.get_data():
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError("request body must be a JSON object")
    return data


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise ValidationError(f"query parameter {name!r} must be a non-negative integer")
    return int(raw)


def _error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response
