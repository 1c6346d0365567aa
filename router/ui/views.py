"""What each dashboard page shows, read through the same objects the admin API serves.

Each function returns the template's values; none changes anything (changes go to the
admin API from the page). Routes: the table in matching order with the promotion
gate's verdict for the next rung (GET /routes/<id>/gate). History: GET /versions with
GET /diff per version. Parity: GET /shadow/summary and /shadow/comparisons. Upstreams:
GET /upstreams. Traffic: rates and quantiles of GET /metrics (router/ui/traffic.py).
Data and Plan: CDC sinks, handovers and the analyzer's map (router/ui/data.py, plan.py).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from parity.inputs import Recorded
from parity.report import curl
from router import codec, ops
from router.gate import GATED_MODES, judge
from router.gate_evidence import gather
from router.table import MONOLITH, Route, RouteTable
from router.ui.data import DataReader
from router.ui.plan import PlanReader, migration_state, service_of
from router.ui.traffic import TrafficSampler

if TYPE_CHECKING:
    from router.admin import Control

__all__ = ["TrafficSampler", "history", "parity", "plan", "routes", "traffic", "upstreams"]
MODES = ops.LADDER


def routes(c: Control) -> dict[str, Any]:
    table = c.store.current()
    rows = [
        {**codec.route_to_dict(r), "order": n, "gate": _gate(c, r)}
        for n, r in enumerate(table.matching_order, 1)
    ]
    targets = [u.name for u in table.upstreams if u.name != MONOLITH]
    return {"version": table.version, "rows": rows, "targets": targets, "modes": MODES}


def _gate(c: Control, route: Route) -> dict[str, Any]:
    """The gate's verdict on the route's next rung, as GET /routes/<id>/gate gives it."""
    if route.mode == MODES[-1]:
        return {"next": None}
    nxt = MODES[MODES.index(route.mode) + 1]  # what POST /routes/<id>/promote moves it to
    if nxt not in GATED_MODES:
        return {"next": nxt, "gated": False}
    verdict = judge(gather(route, c.gate, c.comparisons, c.plane.metrics), c.gate)
    return {"next": nxt, "gated": True, **verdict.to_json()}


def history(c: Control, limit: int) -> dict[str, Any]:
    found = c.store.history(limit + 1)  # one more: the base of the oldest shown diff
    latest = found[0].version if found else 0
    out = []
    for n, v in enumerate(found[:limit]):
        before = found[n + 1].table if n + 1 < len(found) else RouteTable()
        out.append({**v.summary(), "diff": ops.diff(before, v.table)})
    return {"versions": out, "latest": latest}


def upstreams(c: Control) -> dict[str, Any]:
    from router.admin import upstream_states  # router.admin registers this package

    return upstream_states(c)


def parity(c: Control, route: str | None) -> dict[str, Any]:
    """Mismatch rate per route after noise removal; with `route`, its fields and samples."""
    summary = c.comparisons.summary() if c.comparisons else []
    mirror = c.plane.mirror
    noise = mirror.learned_noise() if mirror else {}
    rows = []
    for s in sorted(summary, key=lambda s: s["route"]):
        learned = noise.get(s["route"], {})
        rows.append(
            {
                **s,
                "mismatches": s["total"] - s["matched"],
                "noise": sorted(learned.get("fields", {})),
                "pairs": learned.get("pairs", 0),
            }
        )
    detail = _drill(c, route) if route else None
    return {"summary": rows, "route": route, "detail": detail}


def _drill(c: Control, route: str) -> dict[str, Any]:
    recent = c.comparisons.recent(route, 200) if c.comparisons else []
    fields: Counter[str] = Counter()
    for row in recent:
        fields.update({d["field"] for d in row["differences"] if not d.get("noise")})
    table = c.store.current()
    mono = table.upstream(MONOLITH)
    found = table.route(route)
    cand = table.upstream(found.target) if found else None
    samples = []
    for row in [r for r in recent if not r["match"]][:10]:
        request = Recorded(row["method"], row["target"])
        samples.append(
            {
                **row,
                "differences": [d for d in row["differences"] if not d.get("noise")],
                "curl_legacy": curl(mono.urls[0], request) if mono else "",
                "curl_candidate": curl(cand.urls[0], request) if cand else "",
            }
        )
    return {"fields": fields.most_common(), "samples": samples, "compared": len(recent)}


def plan(c: Control, reader: DataReader, planner: PlanReader) -> dict[str, Any]:
    """Each context of the analyzer's map with its migration state (router/ui/plan.py)."""
    table = c.store.current()
    owned = {h["context"] for h in reader.handovers() if h["state"].startswith("handed over")}
    synced = {
        s["context"]
        for s in reader.lag()
        if s["direction"] == "forward" and any(t["applied"] for t in s["tables"])
    }
    rows = []
    tables = planner.tables()
    for name in planner.contexts():
        service = service_of(name, tables.get(name, ()), reader.owned_tables())
        modes = [r.mode for r in table.routes if r.target == service]
        state = migration_state(modes, service in owned, service in synced)
        rows.append({"context": name, "service": service, "state": state, "routes": len(modes)})
    states = {r["context"]: r["state"] for r in rows}
    tag = hashlib.sha256(json.dumps(states, sort_keys=True).encode()).hexdigest()[:12]
    return {"contexts": rows, "states": states, "tag": tag, "report": planner.folder}


def traffic(c: Control, sampler: TrafficSampler) -> dict[str, Any]:
    return {"rows": sampler.rows()}
