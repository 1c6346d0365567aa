"""Run the demo's steps in order and sum them up; every process started stops at the end.

1 analyze (strangler/demo.py), 2 sync (demo_sync.py), 3 shadow, 4 promote + handover,
5 roll back and forward (demo_route.py), 6 the summary. `until` stops after a step.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strangler.demo import Analyzed, Progress, Say, analyze_step
from strangler.demo_handover import handover_step, handover_switches, nothing_lost
from strangler.demo_route import Routed, promote_step, rollback_step, shadow_step, table_switches
from strangler.demo_router import ROUTES, store_url
from strangler.demo_stack import Ports, Stack, check_ports, reset
from strangler.demo_sync import Synced, sync_step

STEPS = {
    1: (
        "analyze",
        "Strangler fig starts with a map: which tables belong together, and who writes them.",
    ),
    2: (
        "sync",
        "Database per service, filled by change data capture: the catalog gets its own copy.",
    ),
    3: (
        "shadow",
        "Parallel run: the router sends each catalog read to both and compares the answers.",
    ),
    4: (
        "promote",
        "The promotion gate lets a route move on only when the comparison's numbers allow it.",
    ),
    5: ("rollback", "The way back stays open: back to ShopCo and forward again, under traffic."),
    6: ("summary", "What moved, what it took, and where everything is."),
}
# Everything a run writes in its folder; a new run removes these first (nothing else).
FILES = (
    "shopco.db", "sql.jsonl", "analysis", "catalog.db", "cdc-log.db", "router.db",
    "router-admin-token", "router-access.log", "router-capture.jsonl", "strangler.toml",
    "handover", "handover.db", "verify.html",
)  # fmt: skip

ProgressFactory = Callable[[int], AbstractContextManager[Progress]]


def _no_progress(_total: int) -> AbstractContextManager[Progress]:
    return contextlib.nullcontext(None)


@dataclass(frozen=True)
class DemoOptions:
    folder: Path
    host: str = "127.0.0.1"
    port: int = 5000
    scale: int = 1
    requests: int = 300
    until: int = 6
    min_comparisons: int = 20
    say: Say = print
    progress: ProgressFactory = _no_progress


@dataclass
class Demo:
    """Where the demo got to; `summary()` is what --json prints."""

    options: DemoOptions
    steps_done: list[int] = field(default_factory=list)
    step_seconds: dict[int, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    def done(self, step: int) -> None:
        self.steps_done.append(step)
        previous = sum(self.step_seconds.values())
        self.step_seconds[step] = round(time.perf_counter() - self.started - previous, 2)

    analyzed: Analyzed | None = None
    synced: Synced | None = None
    routed: Routed | None = None
    handover: dict[str, Any] = field(default_factory=dict)
    routes: dict[str, str] = field(default_factory=dict)

    def urls(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.analyzed:
            out["shopco"] = self.analyzed.base_url
        if self.synced:
            out["catalog"] = self.synced.url
        if self.routed:
            out["router"] = self.routed.proxy_url
            out["admin"] = self.routed.admin_url
        return out

    def artifacts(self) -> dict[str, str]:
        folder = self.options.folder
        candidates = {
            "monolith_db": folder / "shopco.db",
            "sql_log": folder / "sql.jsonl",
            "report_md": folder / "analysis" / "report.md",
            "report_json": folder / "analysis" / "report.json",
            "catalog_db": folder / "catalog.db",
            "cdc_log": folder / "cdc-log.db",
            "router_db": folder / "router.db",
            "router_token": folder / "router-admin-token",
            "router_access_log": folder / "router-access.log",
            "router_capture": folder / "router-capture.jsonl",
            "verify_html": folder / "verify.html",
            "config": folder / "strangler.toml",
        }
        out = {k: str(p) for k, p in candidates.items() if p.exists()}
        if self.analyzed:
            for graph in self.analyzed.graphs:
                out[f"graph_{graph.name.replace('.', '_')}"] = str(graph)
        return out

    def summary(self) -> dict[str, Any]:
        figures: dict[str, Any] = {
            "steps_done": self.steps_done,
            "step_seconds": {str(k): v for k, v in self.step_seconds.items()},
        }
        if self.analyzed:
            figures["contexts"] = {c["name"]: c["tables"] for c in self.analyzed.report["contexts"]}
            figures["extraction_order"] = self.analyzed.report["extraction_order"]
            figures["requests_to_shopco"] = self.analyzed.traffic.requests
        if self.synced:
            figures["snapshot_rows"] = self.synced.snapshot_rows
            figures["snapshot_s"] = round(self.synced.snapshot_s, 2)
            figures["change_to_service_ms"] = round(self.synced.change_ms, 1)
            figures["cdc_lag_events"] = self.synced.meter.read()[0]
        if self.routed:
            r = self.routed
            figures["requests_through_router"] = r.requests
            figures["comparisons"] = sum(c["comparisons"] for c in r.comparisons.values())
            flagged = sum(c["mismatches"] for c in r.comparisons.values())
            figures["mismatches_explained_by_cdc_lag"] = r.explained
            figures["unexplained_mismatches"] = flagged - r.explained
            figures["noise_learned"] = sorted(
                {f for n in r.noise.values() for f in (n.get("fields") or {})}
            )
            figures["served_by"] = r.targets
            figures["switches"] = r.switches
            if r.verify:
                figures["verify"] = r.verify["totals"]
        if self.handover:
            figures["handover"] = self.handover
        return {
            "figures": figures,
            "routes": self.routes,
            "urls": self.urls(),
            "artifacts": self.artifacts(),
        }


def run_demo(options: DemoOptions, stack: Stack) -> Demo:
    """Run steps 1..options.until on `stack` (the caller closes it: every process stops)."""
    o, say = options, options.say
    ports = Ports.from_base(o.port)
    check_ports(o.host, ports)
    reset(o.folder, FILES)
    demo = Demo(o)

    def header(n: int) -> bool:
        if n > o.until:
            return False
        name, why = STEPS[n]
        say(f"\n[{n}/6] {name}: {why}")
        return True

    if header(1):
        with o.progress(o.requests) as progress:
            demo.analyzed = analyze_step(
                stack, o.folder, host=o.host, port=ports.monolith, scale=o.scale,
                requests=o.requests, say=say, on_progress=progress,
            )  # fmt: skip
        demo.done(1)
    a = demo.analyzed
    if a and header(2):
        demo.synced = sync_step(
            stack, o.folder, a.database_url, a.base_url, o.host, ports.catalog, say
        )
        demo.done(2)
    s = demo.synced
    if a and s and header(3):
        with o.progress(o.requests) as progress:
            server, admin, demo.routed = shadow_step(
                stack, o.folder, host=o.host, ports=ports, monolith_url=a.base_url,
                service_url=s.url, catalog_db=s.database_url, requests=o.requests,
                min_comparisons=o.min_comparisons, caught_up=lambda: s.meter.read()[0] == 0,
                say=say, on_progress=progress,
            )  # fmt: skip
        demo.done(3)
        if header(4):
            handover = None
            if s.directed is not None:

                def handover() -> None:
                    demo.handover = handover_step(
                        s.directed, store_url(o.folder), admin, a.report, say
                    )

            with o.progress(o.requests) as progress:
                promote_step(server, admin, demo.routed, requests=o.requests // 2,
                             min_comparisons=o.min_comparisons, say=say,
                             on_progress=progress, handover=handover)  # fmt: skip
            if handover is None:
                demo.handover = handover_step(None, "", admin, a.report, say)
            demo.done(4)
        if header(5):
            if demo.handover.get("done"):
                switches = handover_switches(s.directed, store_url(o.folder), admin, a.report)
            else:
                switches = table_switches(admin, demo.routed)
            rollback_step(demo.routed, switches, requests=o.requests // 2, say=say)
            if demo.handover.get("done"):
                rows = nothing_lost(s.directed, a.database_url, s.database_url)
                demo.handover["rows_equal_after"] = rows
                say(
                    f"reverse sync caught up: ShopCo's categories, products and prices equal the "
                    f"service's, row for row ({rows} rows): no write was lost"
                )
            demo.done(5)
        demo.routes = {r["id"]: r["mode"] for r in admin.call("GET", "/routes")["routes"]}
        demo.routes["default"] = "monolith"
    if header(6):
        demo.done(6)
    return demo


def describe(demo: Demo, say: Say) -> None:
    """Step 6 in words: what moved, the figures, every artifact, the URLs to try."""
    f = demo.summary()
    fig = f["figures"]
    if demo.routes:
        moved = [k for k, m in demo.routes.items() if m == "service"]
        say(f"moved to the catalog service: {', '.join(ROUTES[k] for k in moved) or 'nothing'}")
    if "requests_through_router" in fig:
        say(
            f"requests: {fig['requests_to_shopco']} to ShopCo directly, "
            f"{fig['requests_through_router']} through the router; served by "
            + ", ".join(f"{k} {v}" for k, v in sorted(fig["served_by"].items()))
        )
        say(
            f"mismatches: {fig['unexplained_mismatches']} unexplained in {fig['comparisons']} "
            f"comparisons ({fig['mismatches_explained_by_cdc_lag']} explained by CDC lag); "
            f"CDC lag now {fig['cdc_lag_events']} events"
        )
        pauses = ", ".join(f"{s['to']} {s['ms']:.0f} ms" for s in fig["switches"])
        if pauses:
            say(f"switches (call to first request served by the new target): {pauses}")
        if demo.handover.get("done"):
            say(
                f"pauses: catalog writes held {demo.handover['hold_seconds'] * 1000:.0f} ms by "
                f"the handover; {demo.handover.get('rows_equal_after', 0)} rows equal after it"
            )
    say("artifacts:")
    for name, path in sorted(f["artifacts"].items()):
        say(f"  {name:<20} {path}")
