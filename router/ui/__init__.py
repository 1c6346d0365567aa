"""The migration dashboard: server-rendered pages at /ui/ on the router's admin listener.

Log in at /ui/login with the admin token (router/ui/session.py keeps an HttpOnly,
SameSite=Strict cookie). Pages are Jinja templates (autoescaped); ui.js (plain `fetch`,
no build step) polls each page's live part and sends every change to the admin API
itself (PATCH /routes/<id>, POST /rollback, ...) with the session's CSRF token, so the
API stays the single source of truth: its checks (the promotion gate, health) apply.
The views only read what the API serves (router/ui/views.py).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, Response, g, redirect, render_template, request, url_for

from router.errors import ValidationError
from router.ui import data, plan, session, traffic, views

if TYPE_CHECKING:
    from router.admin import Control

PAGES = ("routes", "history", "traffic", "parity", "data", "upstreams", "plan")
REFRESH_MS = {
    "routes": 3000,
    "history": 3000,
    "traffic": 2000,
    "parity": 3000,
    "data": 3000,
    "upstreams": 2000,
    "plan": 5000,
}


def register_dashboard(app: Flask, control: Control) -> None:
    app.register_blueprint(_blueprint(control))


def _blueprint(c: Control) -> Blueprint:
    bp = Blueprint(
        "ui",
        __name__,
        url_prefix="/ui",
        template_folder="templates",
        static_folder="static",
    )
    sampler = views.TrafficSampler(c.plane.metrics.render)
    config = data.load_config()
    gate_sink = data.SinkRef("forward", c.gate.cdc_pipeline, c.gate.cdc_pipeline, c.gate.cdc_sink)
    reader = data.DataReader(config, gate_sink if c.gate.cdc_sink else None)
    planner = plan.PlanReader(config.report)
    for name, fn in FILTERS.items():
        bp.add_app_template_filter(fn, name)

    @bp.before_request
    def _session() -> Any:
        if request.endpoint in ("ui.login", "ui.static"):
            return None
        found = session.from_request(request, c.token)
        if found is None:
            if request.path.startswith("/ui/part/"):
                return Response("session ended: log in again", 401, mimetype="text/plain")
            return redirect(url_for("ui.login"))
        g.session = found
        return None

    @bp.after_request
    def _headers(response: Response) -> Response:
        # no inline script anywhere: a script smuggled into a page cannot run
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @bp.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        if request.method == "GET":
            return render_template("login.html", error=None)
        given = request.form.get("token", "").strip()
        if not hmac.compare_digest(given.encode(), c.token.encode()):
            return render_template("login.html", error="wrong admin token"), 401
        actor = session.clean_actor(request.form.get("name", ""))
        response = redirect(url_for("ui.page", name="routes"))
        response.set_cookie(
            session.COOKIE,
            session.issue(c.token, actor),
            max_age=session.LIFETIME,
            httponly=True,
            samesite="Strict",
            path="/",
        )
        return response

    @bp.post("/logout")
    def logout() -> Any:
        if not hmac.compare_digest(request.form.get("csrf", ""), g.session.csrf(c.token)):
            return Response("missing or wrong CSRF token", 403, mimetype="text/plain")
        response = redirect(url_for("ui.login"))
        response.delete_cookie(session.COOKIE, path="/")
        return response

    @bp.get("/")
    def home() -> Any:
        return redirect(url_for("ui.page", name="routes"))

    parts: dict[str, Callable[[], dict[str, Any]]] = {
        "routes": lambda: views.routes(c),
        "history": lambda: views.history(c, _limit()),
        "traffic": lambda: views.traffic(c, sampler),
        "parity": lambda: views.parity(c, request.args.get("route")),
        "upstreams": lambda: views.upstreams(c),
        "data": lambda: _data(reader),
        "plan": lambda: views.plan(c, reader, planner),
    }

    @bp.get("/<any(" + ", ".join(PAGES) + "):name>")
    def page(name: str) -> Any:
        return render_template(
            f"{name}.html",
            page=name,
            pages=PAGES,
            part=f"_{name}.html",
            refresh=REFRESH_MS[name],
            query=request.query_string.decode(),
            csrf=g.session.csrf(c.token),
            actor=g.session.actor,
            **parts[name](),
        )

    @bp.get("/plan.svg")
    def plan_svg() -> Any:
        svg = planner.svg(views.plan(c, reader, planner)["states"])
        if svg is None:
            return Response("no context map: run strangler analyze --out DIR", 404)
        return Response(svg, mimetype="image/svg+xml")

    @bp.get("/part/<any(" + ", ".join(PAGES) + "):name>")
    def part(name: str) -> Any:
        return render_template(f"_{name}.html", **parts[name]())

    return bp


def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _lag(ms: int | None) -> str:
    return "unknown" if ms is None else f"{ms} ms"


def _json(value: Any) -> str:
    """A value as JSON text, to be escaped by the template like any other text."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:.1f} ms"


FILTERS: dict[str, Callable[..., str]] = {
    "num": _num,
    "pct": _pct,
    "ms": _ms,
    "json": _json,
    "lag": _lag,
    "sparkline": traffic.sparkline,
}


def _data(reader: data.DataReader) -> dict[str, Any]:
    raw = request.args.get("dlq")
    if raw is not None and not raw.isdigit():
        raise ValidationError("dlq must be a sink number")
    letters = reader.dead_letters(int(raw)) if raw is not None else None
    return {"sinks": reader.lag(), "handovers": reader.handovers(), "dlq": letters}


def _limit() -> int:
    raw = request.args.get("limit", "50")
    return min(int(raw), 500) if raw.isdigit() else 50
