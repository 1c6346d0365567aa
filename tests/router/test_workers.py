"""`router serve --workers 2`: two data-plane processes on one port, one store."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.router.conftest import TOKEN, Admin, Proxy
from tests.services._common import free_port


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


class Served:
    def __init__(self, proc: subprocess.Popen[str], lines: list[str], port: int) -> None:
        self.proc = proc
        self.proxy_url = f"http://127.0.0.1:{port}"
        text = "\n".join(lines)
        self.admin_urls = [re.search(r"admin API on (\S+)", lines[0]).group(1)]  # type: ignore[union-attr]
        self.admin_urls += re.search(r"own metrics\): (.*)", text).group(1).split()  # type: ignore[union-attr]
        self.pids = [proc.pid] + [
            int(p) for p in re.findall(r"\d+", text.split("pids")[1].split("\n")[0])
        ]


@pytest.fixture
def serve_workers(tmp_path) -> Iterator[Any]:
    procs: list[subprocess.Popen[str]] = []

    def start(monolith: str) -> Served:
        port = free_port()
        cmd = [sys.executable, "-m", "strangler", "router", "serve", "--workers", "2"]
        cmd += ["--listen", f"127.0.0.1:{port}", "--admin", "127.0.0.1:0"]
        cmd += ["--monolith", monolith, "--store", f"sqlite:///{tmp_path}/routes.db"]
        cmd += ["--access-log", ""]
        env = {**os.environ, "STRANGLER_ADMIN_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
        env["STRANGLER_ROUTER_POLL_INTERVAL"] = "0.01"
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
        assert lines[0].startswith("strangler router: traffic on"), lines
        return Served(proc, lines, port)

    yield start
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            p.wait(15)


def requests_seen(admin_url: str) -> float:
    metrics = Admin(admin_url).call("GET", "/metrics")[1]
    found = re.findall(r"^strangler_requests_total\{[^}]*\} (\S+)$", metrics, re.M)
    return sum(float(v) for v in found)


def test_two_workers_both_serve_and_both_apply_a_route_change(upstream, serve_workers) -> None:
    mono, catalog = upstream("monolith"), upstream("catalog")
    served = serve_workers(mono.url)
    assert len(served.admin_urls) == 2 and len(set(served.pids)) == 2
    for _ in range(40):  # new connections: the kernel spreads them over both workers
        proxy = Proxy(served.proxy_url)
        assert proxy.send("GET", "/api/products/1")[2]["served_by"] == "monolith"
        proxy.close()
    # worker 0's /metrics sums both workers (prometheus_client's multiprocess mode);
    # the other worker's admin API shows its own share, so both served some
    total, second = (requests_seen(url) for url in served.admin_urls)
    assert total == 40 and 0 < second < 40, (total, second)

    admin = Admin(served.admin_urls[0])
    assert admin.call("PUT", "/upstreams/catalog", {"urls": [catalog.url]})[0] == 200
    route = {"id": "p", "path": "/api/products/**", "target": "catalog", "mode": "service"}
    status, reply = admin.call("POST", "/routes", route)
    assert status == 201, reply
    version = admin.call("GET", "/routes")[1]["version"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        versions = [Admin(u).call("GET", "/routes")[1]["version"] for u in served.admin_urls]
        if versions == [version, version]:
            break
        time.sleep(0.02)
    assert versions == [version, version]
    before = [requests_seen(url) for url in served.admin_urls]
    for _ in range(40):
        proxy = Proxy(served.proxy_url)
        assert proxy.send("GET", "/api/products/1")[2]["served_by"] == "catalog"
        proxy.close()
    after = [requests_seen(url) for url in served.admin_urls]
    assert after[0] == before[0] + 40 and after[1] > before[1], (before, after)


def test_stopping_the_router_stops_every_worker(upstream, serve_workers) -> None:
    served = serve_workers(upstream("monolith").url)
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(15) is not None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(gone(p) for p in served.pids):
        time.sleep(0.05)
    assert all(gone(p) for p in served.pids)


def test_workers_exit_when_the_first_process_is_killed(upstream, serve_workers) -> None:
    served = serve_workers(upstream("monolith").url)
    served.proc.kill()
    served.proc.wait(5)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(gone(p) for p in served.pids[1:]):
        time.sleep(0.05)
    assert all(gone(p) for p in served.pids[1:])
