"""What prometheus_client costs the router's hot path, as a share of its CPU per request.

Each request updates one counter and one histogram (`DataPlane.count`). This measures
that update with prometheus_client, in one process and in multiprocess mode (what
`router serve --workers N` uses), next to a plain dict-and-lock version like the
hand-written one it replaced, and the router's whole CPU time per request from /proc
at 8 connections, all in one run. Issue 15's rule: keep prometheus_client unless it
costs more than 2 % of throughput.

    .venv/bin/python bench/router_metrics.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

UPDATES = 200_000
CHILD = """
import sys, time
from router.metrics import Metrics
m = Metrics()
def step():
    m.inc("strangler_requests_total", route="r", target="monolith", code="2xx")
    m.observe(0.0012, route="r", target="monolith")
for _ in range(2000):
    step()
t = time.process_time()
for _ in range(int(sys.argv[1])):
    step()
print((time.process_time() - t) / int(sys.argv[1]) * 1e6)
"""


def prometheus_us(multiprocess: bool) -> float:
    """CPU microseconds per request's metrics update, in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    with tempfile.TemporaryDirectory() as folder:
        if multiprocess:
            env["PROMETHEUS_MULTIPROC_DIR"] = folder
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(UPDATES)],
            env=env, cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    return float(out)


def plain_us() -> float:
    """The same update on dicts under a lock (the shape of the hand-written metrics)."""
    lock = threading.Lock()
    counters: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(
        lambda: defaultdict(float)
    )
    hist: dict[tuple[tuple[str, str], ...], list[float]] = {}
    edges = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

    def step() -> None:
        key = tuple(sorted({"route": "r", "target": "monolith", "code": "2xx"}.items()))
        with lock:
            counters["strangler_requests_total"][key] += 1
        key = tuple(sorted({"route": "r", "target": "monolith"}.items()))
        with lock:
            slots = hist.setdefault(key, [0.0] * (len(edges) + 2))
            for i, edge in enumerate(edges):
                if edge >= 0.0012:
                    slots[i] += 1
            slots[-2] += 1
            slots[-1] += 0.0012

    t = time.process_time()
    for _ in range(UPDATES):
        step()
    return (time.process_time() - t) / UPDATES * 1e6


def router_cpu_us(requests: int = 3000) -> float:
    """The router's CPU microseconds per request at 8 connections (mode monolith)."""
    import router_bench as rb

    procs = rb.Procs()
    try:
        with tempfile.TemporaryDirectory() as d:
            up = rb.free_port()
            procs.start([rb.PY, str(ROOT / "bench/router_upstream.py"), str(up)], up)
            port, _ = rb.start_router(procs, f"http://127.0.0.1:{up}", f"{d}/r.db")
            pid = procs.procs[-1].pid
            rb.load(port, 500, 8)  # warm-up
            cpu = rb.cpu_seconds(pid)
            rb.load(port, requests, 8)
            return (rb.cpu_seconds(pid) - cpu) / requests * 1e6
    finally:
        procs.stop_all()


def main() -> None:
    router = router_cpu_us()
    plain = plain_us()
    for name, cost in (
        ("prometheus_client, one process", prometheus_us(False)),
        ("prometheus_client, multiprocess mode", prometheus_us(True)),
    ):
        print(
            f"{name}: {cost:.1f} us per request (dicts and a lock: {plain:.1f} us); "
            f"extra {cost - plain:+.1f} us = {(cost - plain) / router:+.2%} of the router's "
            f"{router:.0f} us CPU per request (rule: keep it under 2 %)"
        )


if __name__ == "__main__":
    main()
