"""Shadow mirrors run in a child process (router/mirrorproc.py): lifecycle and counters."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.router.conftest import TOKEN, Admin, Proxy
from tests.router.test_data_plane import setup_catalog, wait_for
from tests.router.test_workers import gone
from tests.services._common import free_port, wait_port


def metric(admin: Admin, line: str) -> float | None:
    text = admin.call("GET", "/metrics")[1]
    found = re.search(rf"^{re.escape(line)} (\S+)$", text, re.M)
    return float(found.group(1)) if found else None


def test_mirrors_run_in_a_child_process_that_stops_with_the_router(upstream, start_router) -> None:
    mono, catalog = upstream("monolith"), upstream("catalog")
    router = start_router(mono.url)
    assert router.mirror.proc is None  # nothing in shadow yet: no child
    admin = setup_catalog(router, catalog, mode="shadow")
    proxy = Proxy(router.proxy_url)
    for i in range(3):
        assert proxy.send("GET", f"/api/products/{i}")[2]["served_by"] == "monolith"
    proc = router.mirror.proc
    assert proc is not None and proc.pid != os.getpid() and proc.poll() is None

    def stored() -> int:
        return len(admin.call("GET", "/shadow/comparisons?route=products")[1]["comparisons"])

    assert wait_for(lambda: stored() == 3)
    assert {r["headers"]["x-strangler-shadow"] for r in catalog.requests} == {"1"}
    # the child's counters, fetched for /metrics and /shadow/summary
    compared = 'strangler_shadow_comparisons_total{outcome="mismatch",route="products"}'
    assert metric(admin, compared) == 3  # the catalog says it is the catalog
    assert metric(admin, 'strangler_shadow_total{outcome="done",route="products"}') == 3
    summary = admin.call("GET", "/shadow/summary")[1]
    assert summary["dropped"] == 0 and summary["in_flight"] == 0
    router.stop()
    assert proc.wait(10) == 0


def test_a_dead_mirror_process_never_fails_a_request_and_drops_are_counted(
    upstream, start_router
) -> None:
    mono, catalog = upstream("monolith"), upstream("catalog")
    router = start_router(mono.url)
    admin = setup_catalog(router, catalog, mode="shadow")
    proxy = Proxy(router.proxy_url)
    assert proxy.send("GET", "/api/products/1")[0] == 200
    assert wait_for(lambda: len(catalog.requests) == 1)
    proc = router.mirror.proc
    assert proc is not None
    proc.kill()
    proc.wait(5)
    for i in range(5):
        assert proxy.send("GET", f"/api/products/{i}")[2]["served_by"] == "monolith"
    assert wait_for(lambda: admin.call("GET", "/shadow/summary")[1]["dropped"] >= 4)
    assert (
        metric(admin, 'strangler_shadow_dropped_total{route="products"}')
        == (admin.call("GET", "/shadow/summary")[1]["dropped"])
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_the_mirror_process_never_outlives_the_router(upstream, tmp_path, sig) -> None:
    mono, catalog = upstream("monolith"), upstream("catalog")
    port, admin_port = free_port(), free_port()
    cmd = [sys.executable, "-m", "strangler", "router", "serve", "--listen", f"127.0.0.1:{port}"]
    cmd += ["--admin", f"127.0.0.1:{admin_port}", "--monolith", mono.url]
    cmd += ["--store", f"sqlite:///{tmp_path}/routes.db", "--access-log", ""]
    env = {**os.environ, "STRANGLER_ADMIN_TOKEN": TOKEN}
    router = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    try:
        wait_port(port, 30)  # a loaded machine starts a router slowly
        wait_port(admin_port, 30)
        admin = Admin(f"http://127.0.0.1:{admin_port}")
        assert admin.call("PUT", "/upstreams/catalog", {"urls": [catalog.url]})[0] == 200
        route = {"id": "p", "path": "/api/**", "target": "catalog", "mode": "shadow"}
        assert admin.call("POST", "/routes", {**route, "force": True})[0] == 201
        assert Proxy(f"http://127.0.0.1:{port}").send("GET", "/api/products/1")[0] == 200
        assert wait_for(lambda: len(catalog.requests) == 1)
        ps = subprocess.run(["ps", "-eo", "pid,ppid,args"], capture_output=True, text=True)
        children = [
            int(fields[0])
            for fields in (line.split(None, 2) for line in ps.stdout.splitlines()[1:])
            if int(fields[1]) == router.pid and "router.mirrorproc" in fields[2]
        ]
        assert len(children) == 1
        router.send_signal(sig)
        router.wait(15)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not gone(children[0]):
            time.sleep(0.05)
        assert gone(children[0])
    finally:
        if router.poll() is None:
            router.kill()
            router.wait()
