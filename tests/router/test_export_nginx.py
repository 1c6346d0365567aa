"""The nginx export, run for real: the same requests reach the same targets as through
the mitmproxy data plane, and a reload under load fails no request."""

from __future__ import annotations

import http.client
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from router.export.nginx import render, standalone
from router.table import Route, RouteTable, Upstream
from tests.router.conftest import Proxy, Spawned, per_table, routing_mismatches, serve_routes
from tests.services._common import free_port, wait_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


class Nginx(Spawned):
    def __init__(self, prefix: Path, table: RouteTable) -> None:
        self.prefix = prefix
        self.port = free_port()
        self.conf = prefix / "nginx.conf"
        self.write(table)
        check = subprocess.run([NGINX, "-t", "-p", str(prefix), "-c", str(self.conf)],
                               capture_output=True, text=True)  # fmt: skip
        assert check.returncode == 0, check.stderr
        self.proc = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(self.conf)])
        wait_port(self.port)

    def write(self, table: RouteTable) -> None:
        self.conf.write_text(standalone(table, f"127.0.0.1:{self.port}", str(self.prefix)))

    def reload(self, table: RouteTable) -> None:
        self.write(table)
        subprocess.run([NGINX, "-p", str(self.prefix), "-c", str(self.conf), "-s", "reload"],
                       check=True, capture_output=True)  # fmt: skip


@pytest.fixture
def nginx(tmp_path) -> Iterator[callable]:
    if not Path(NGINX).exists():
        pytest.fail("nginx is not installed (scripts/ensure-services.sh installs it)")
    yield from per_table(tmp_path, "nginx", Nginx)


ROUTES = [
    {"id": "one", "path": "/api/products/{id}", "target": "catalog", "mode": "service"},
    {"id": "rest", "path": "/api/products/**", "target": "catalog", "mode": "canary",
     "percent": 37.5, "sticky": "header:X-User"},
    {"id": "beta", "path": "/api/orders/**", "target": "catalog", "mode": "service",
     "methods": ["GET"], "header": "X-Beta: 1"},
    {"id": "orders-off", "path": "/api/orders/{id}", "target": "catalog", "mode": "monolith"},
    {"id": "mirror", "path": "/api/reviews/**", "target": "catalog", "mode": "shadow"},
]  # fmt: skip

CORPUS = [
    ("GET", "/", {}),
    ("GET", "/api/products/7", {}),
    ("POST", "/api/products/7", {}),
    ("GET", "/api/products/7/", {}),
    ("GET", "/api/products", {}),
    ("GET", "/api/products/7/reviews", {"X-Strangler-Force": "service"}),
    ("GET", "/api/products/7/reviews", {"X-Strangler-Force": "monolith"}),
    ("GET", "/api/orders/9", {}),
    ("GET", "/api/orders/9/items", {"X-Beta": "1"}),
    ("POST", "/api/orders/9/items", {"X-Beta": "1"}),
    ("GET", "/api/orders/9/items", {"X-Beta": "2"}),
    ("GET", "/api/reviews/1", {}),
    ("GET", "/api/products/../orders/1/x", {"X-Beta": "1"}),
    *[("GET", "/api/products/1/x", {"X-User": f"user-{i}"}) for i in range(60)],
]


def test_nginx_export_routes_a_corpus_like_the_mitmproxy_data_plane(
    upstream, start_router, nginx
) -> None:
    _, catalog, router = serve_routes(upstream, start_router, ROUTES)
    server = nginx(router.store.current())
    via_router, via_nginx = Proxy(router.proxy_url), Proxy(server.url)
    mismatches, _ = routing_mismatches(via_router, via_nginx, CORPUS)
    assert mismatches == []
    canary_users = [via_nginx.send("GET", "/api/products/1/x", X_User=f"user-{i}")[2]["served_by"]
                    for i in range(60)]  # fmt: skip
    assert set(canary_users) == {"monolith", "catalog"}
    # nginx mirrors shadow traffic (without comparison) to the target
    assert any(r["path"] == "/api/reviews/1" and r["headers"].get("x-strangler-shadow") == "1"
               for r in catalog.requests)  # fmt: skip


def test_nginx_reload_with_a_changed_table_under_load_fails_no_request(upstream, nginx) -> None:
    mono, catalog = upstream("monolith"), upstream("catalog")
    base = RouteTable((Upstream("monolith", (mono.url,)), Upstream("catalog", (catalog.url,))))
    tables = [
        base.replace(routes=(Route("p", "/api/**", "catalog", mode=mode),), version=i)
        for i, mode in enumerate(["service", "monolith", "service", "monolith", "service"])
    ]
    server = nginx(tables[0])
    stop = threading.Event()
    results: list[int] = []
    failures: list[str] = []

    def load() -> None:
        # Like any keep-alive HTTP client (RFC 9112 9.3.1), a request that finds its idle
        # connection closed by the server before any response byte is resent once on a
        # new connection; a second failure counts as a failed request.
        proxy = Proxy(server.url)
        while not stop.is_set() and len(results) < 20000:
            for attempt in (1, 2):
                try:
                    status, _, body = proxy.send("GET", "/api/x")
                except (http.client.RemoteDisconnected, ConnectionError) as exc:
                    proxy.close()
                    proxy = Proxy(server.url)
                    if attempt == 2:
                        failures.append(repr(exc))
                    continue
                results.append(status)
                if status != 200 or body["served_by"] not in ("monolith", "catalog"):
                    failures.append(f"{status} {body}")
                break

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    for table in tables[1:]:
        time.sleep(0.3)
        server.reload(table)
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join(30)
    assert failures == [] and len(results) > 50


def test_export_names_shadow_limits_and_rejects_unexpressible_upstreams() -> None:
    table = RouteTable(
        (
            Upstream("monolith", ("http://127.0.0.1:1",)),
            Upstream("svc", ("http://127.0.0.1:2/base",)),
        ),
        (Route("s", "/api/**", "svc", mode="shadow"),),
    )
    from router.errors import RouterError

    with pytest.raises(RouterError, match="plain http://host:port"):
        render(table)
    ok = table.replace(upstreams=(table.upstreams[0], Upstream("svc", ("http://127.0.0.1:2",))))
    assert "WITHOUT response comparison" in render(ok)
