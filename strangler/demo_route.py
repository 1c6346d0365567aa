"""Steps 3 to 5 of the demo: the catalog routes through shadow, canary and service, and back.

Strangler fig: the router stands before ShopCo and sends each catalog route where its
mode says. Parallel run: in shadow every catalog read is also sent to the service and
the answers compared by the parity engine (noise learned from a second monolith call).
The promotion gate reads those numbers before each step up. Rollback: a route table
version restored is served by the next request.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import parity
from monolith.traffic import run_traffic
from router.server import RouterServer
from strangler.cli.router_client import AdminClient
from strangler.demo import Progress, Say, drive
from strangler.demo_router import (
    ROUTES,
    RULES,
    UPSTREAM,
    crawl,
    served_by,
    start_router,
    target_counts,
    write_config,
)
from strangler.demo_stack import DemoError, Ports, Stack

CANARY_PERCENT = 25


@dataclass
class Routed:
    """What steps 3-5 found, step by step (filled in as they run)."""

    proxy_url: str = ""
    admin_url: str = ""
    config_file: str = ""
    comparisons: dict[str, dict[str, Any]] = field(default_factory=dict)
    noise: dict[str, Any] = field(default_factory=dict)
    gate: dict[str, dict[str, Any]] = field(default_factory=dict)  # route -> last verdict
    targets: dict[str, int] = field(default_factory=dict)  # X-Strangler-Target -> requests
    switches: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    versions: dict[str, int] = field(default_factory=dict)
    explained: int = 0  # mismatches re-checked after CDC caught up: both sides agree
    verify: Any = None  # `strangler verify`'s JSON report on the router's capture


def _wait_caught_up(caught_up: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60
    while not caught_up():
        if time.monotonic() > deadline:
            raise DemoError("gave up after 60 s waiting for the CDC lag to reach zero")
        time.sleep(0.05)


def _wait_mirrors(server: RouterServer) -> None:
    """Let the shadow copies in flight finish and their comparisons be stored."""
    deadline = time.monotonic() + 30
    while server.mirror.counts()[1] > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # the comparison store writes in batches of up to 50 ms


def shadow_step(
    stack: Stack,
    folder: Path,
    *,
    host: str,
    ports: Ports,
    monolith_url: str,
    service_url: str,
    catalog_db: str,
    requests: int,
    min_comparisons: int,
    caught_up: Callable[[], bool],
    say: Say,
    on_progress: Progress = None,
) -> tuple[RouterServer, AdminClient, Routed]:
    """Step 3: the router before ShopCo, the catalog routes in shadow, traffic, comparisons."""
    config_file = write_config(folder, host, ports, catalog_db, min_comparisons)
    server, admin = start_router(stack, folder, host, ports, monolith_url, config_file)
    out = Routed(server.proxy_url, server.admin_url, str(config_file))
    actual = Ports(ports.monolith, ports.catalog, server.listen[1], server.admin_address[1])
    write_config(folder, host, actual, catalog_db, min_comparisons)  # the real ports
    admin.call("PUT", f"/upstreams/{UPSTREAM}", {"urls": [service_url], "reason": "demo"})
    for route_id, path in ROUTES.items():
        route = {
            "id": route_id, "path": path, "target": UPSTREAM, "mode": "shadow",
            "percent": CANARY_PERCENT, "sticky": "header:X-Request-ID",
            "reason": "demo: compare the catalog service with ShopCo",
        }  # fmt: skip
        admin.call("POST", "/routes", route)
    out.versions["shadow"] = admin.call("GET", "/routes")["version"]
    say(f"router on {server.proxy_url} (admin API {server.admin_url}); catalog routes in shadow")
    summary = drive(server.proxy_url, requests, 2, on_progress)
    _wait_mirrors(server)
    _wait_caught_up(caught_up)
    reads = crawl(server.proxy_url, min_comparisons)
    out.requests += summary.requests + reads
    _wait_mirrors(server)
    rows = admin.call("GET", "/shadow/comparisons?limit=100000")["comparisons"]
    for route_id in ROUTES:
        mine = [r for r in rows if r["route"] == route_id]
        out.comparisons[route_id] = {
            "comparisons": len(mine),
            "mismatches": sum(1 for r in mine if not r["match"] and not r["error"]),
            "errors": sum(1 for r in mine if r["error"]),
        }
    out.noise = admin.call("GET", "/shadow/summary").get("noise", {})
    total = sum(c["comparisons"] for c in out.comparisons.values())
    flagged = [r for r in rows if not r["match"] and not r["error"]]
    learned = sorted({f for r in out.noise.values() for f in (r.get("fields") or {})})
    say(
        f"drove {summary.requests} requests and {reads} catalog reads through the router; "
        f"{total} catalog reads compared with the service, {len(flagged)} differed"
    )
    say(f"noise learned from ShopCo's own answers: {', '.join(learned) or 'none'}")
    out.explained = recheck(flagged, monolith_url, service_url, admin.url)
    if flagged:
        say(
            f"re-checked those {len(flagged)} once CDC lag was zero: both sides now agree, so "
            "they read rows still in flight (explained: CDC lag); 0 unexplained mismatches"
        )
    out.verify = verify_capture(folder, monolith_url, service_url, admin)
    t = out.verify["totals"]
    say(
        f"strangler verify replayed the router's capture of catalog reads to both: "
        f"{t['compared']} compared, {t['mismatched']} mismatched, {t['skipped']} writes skipped "
        f"(report: {folder / 'verify.html'})"
    )
    return server, admin, out


def verify_capture(folder: Path, monolith_url: str, service_url: str, admin: AdminClient) -> Any:
    """`strangler verify` on the router's capture (catalog routes only), with an HTML report."""
    command = [
        sys.executable, "-m", "strangler", "verify", "--capture",
        str(folder / "router-capture.jsonl"), "--legacy", monolith_url,
        "--candidate", service_url, "--rules", str(RULES), "--json",
        "--html", str(folder / "verify.html"), "--admin-url", admin.url, "--token", admin.token,
        *(arg for path in ROUTES.values() for arg in ("--only", path)),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        raise DemoError(f"strangler verify failed: {done.stderr.strip()[-500:]}") from None
    if done.returncode != 0:
        raise DemoError(
            f"strangler verify found unexplained differences; see {folder / 'verify.html'}"
        )
    return report


def recheck(flagged: list[dict[str, Any]], monolith_url: str, service_url: str, admin: str) -> int:
    """Send each mismatching read again to both sides; fail if any still differs."""
    rules = parity.load_rules(RULES)
    for row in flagged:
        path = row["target"]
        legacy, candidate = _fetch(monolith_url + path), _fetch(service_url + path)
        result = parity.compare(
            legacy, candidate, rules, route=ROUTES.get(row["route"], ""), method="GET", path=path
        )
        if not result.match:
            raise DemoError(
                f"GET {path} still differs between ShopCo and the catalog service after CDC "
                f"caught up (an unexplained mismatch); see {admin}/shadow/comparisons"
            )
    return len(flagged)


def _fetch(url: str) -> parity.Response:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return parity.Response(r.status, dict(r.headers.items()), r.read())
    except urllib.error.HTTPError as exc:
        return parity.Response(exc.code, dict(exc.headers.items()), exc.read())


def _promote(admin: AdminClient, route_id: str, out: Routed, say: Say) -> str:
    verdict = admin.call("GET", f"/routes/{route_id}/gate")
    out.gate[route_id] = verdict
    e = verdict["evidence"]
    body = {"reason": "demo: the gate's numbers allow it"}
    after = admin.call("POST", f"/routes/{route_id}/promote", body)["route"]
    say(
        f"  {route_id}: gate {'passed' if verdict.get('allowed') else 'refused'} "
        f"(newest {e['comparisons']} comparisons: {e['mismatches']} mismatches; candidate errors "
        f"{e['candidate_errors']}, CDC lag {_lag(e)}) -> {after['mode']}"
    )
    return str(after["mode"])


def _lag(evidence: dict[str, Any]) -> str:
    lags = [v for v in evidence.get("cdc_lag_ms", {}).values() if v is not None]
    return f"{max(lags)} ms" if lags else "n/a"


def promote_step(
    server: RouterServer,
    admin: AdminClient,
    out: Routed,
    *,
    requests: int,
    min_comparisons: int,
    say: Say,
    on_progress: Progress = None,
    handover: Callable[[], None] | None = None,
) -> None:
    """Step 4: each catalog route shadow -> canary -> service, through the promotion gate.

    With a `handover`, the catalog's writes must reach the service only through it (held,
    drained, then reverse-synced): so only reads are sent before it, the traffic mix after.
    """
    say(f"promoting to canary ({CANARY_PERCENT} % of requests, sticky per request id):")
    for route_id in ROUTES:
        _promote(admin, route_id, out, say)
    out.versions["canary"] = admin.call("GET", "/routes")["version"]
    if handover is None:
        out.requests += drive(out.proxy_url, requests, 3, on_progress).requests
    else:
        out.requests += crawl(out.proxy_url, min_comparisons)
    say("promoting to service:")
    for route_id in ROUTES:
        _promote(admin, route_id, out, say)
    out.versions["service"] = admin.call("GET", "/routes")["version"]
    if handover is not None:
        handover()
    before = target_counts(server)
    served = drive(out.proxy_url, requests, 4, on_progress)
    out.requests += served.requests
    after = target_counts(server)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    out.targets = after
    say(
        f"drove {served.requests} requests: {delta.get(UPSTREAM, 0)} answered by the catalog "
        f"service, {delta.get('monolith', 0)} by ShopCo (X-Strangler-Target)"
    )


Switch = tuple[str, str, Callable[[], int]]  # what it does, the target after, do it


def table_switches(admin: AdminClient, out: Routed) -> list[Switch]:
    """Back to the shadow version of the route table, then forward to the service one."""

    def restore(name: str) -> Callable[[], int]:
        body = {"version": out.versions[name], "reason": f"demo: back to {name}"}
        return lambda: int(admin.call("POST", "/rollback", body)["version"])

    return [
        (f"table back to version {out.versions['shadow']} (shadow)", "monolith", restore("shadow")),
        (f"table forward to version {out.versions['service']} (service)", UPSTREAM,
         restore("service")),
    ]  # fmt: skip


def rollback_step(out: Routed, switches: list[Switch], *, requests: int, say: Say) -> None:
    """Step 5: roll back and forward under live traffic; both show at once, none fails."""
    marks = {requests * (i + 1) // (len(switches) + 1): sw for i, sw in enumerate(switches)}
    reached = {n: threading.Event() for n in marks}

    def progress(sent: int, _elapsed: float) -> None:
        if sent in reached:
            reached[sent].set()
            time.sleep(0.2)  # let the switch land while this traffic waits

    result: list[Any] = []
    traffic = threading.Thread(
        target=lambda: result.append(
            run_traffic(out.proxy_url, requests=requests, seed=5, on_progress=progress)
        ),
        name="demo-traffic",
        daemon=True,
    )
    traffic.start()
    for n, (label, want, action) in marks.items():
        reached[n].wait(60)
        started = time.perf_counter()
        version = action()
        first = served_by(out.proxy_url)
        seconds = time.perf_counter() - started
        ms = round(seconds * 1000, 1)
        out.switches.append({"to": label, "version": version, "served_by": first, "ms": ms})
        say(f"  {label}: the next request was answered by {first}, {ms:.0f} ms after the call")
        if first != want:
            raise DemoError(f"after '{label}' the router still sent requests to {first}")
    traffic.join(120)
    summary = result[0] if result else None
    if summary is None or not summary.ok:
        samples = ", ".join(summary.error_samples[:3]) if summary else "traffic did not finish"
        raise DemoError(f"requests failed while switching: {samples}")
    out.requests += summary.requests
    say(f"{summary.requests} requests ran across both switches: none failed, none dropped")
