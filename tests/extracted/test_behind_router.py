"""Both services run behind the strangler router in every mode, with the monolith's answers.

The monolith and the two services (synced from it by CDC) serve over real HTTP; the
router is started as in tests/router, the services are registered as upstreams and
their routes walk monolith -> shadow -> canary -> service through the admin API.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from extracted._service.config import ServiceConfig
from extracted._service.registry import service_module
from monolith.app import create_app as create_monolith
from monolith.config import MonolithConfig
from tests.monolith.live_server import serving
from tests.router.conftest import Admin, Proxy
from tests.services._common import wait_until

from .conftest import service_copy

# The route patterns each service takes over (the monolith endpoints of its context).
ROUTES = {
    "catalog": ["/api/categories", "/api/products", "/api/products/{id}"],
    "reviews": ["/api/reviews", "/api/reviews/{id}"],
}
# The router's behaviour does not depend on the services' database: SQLite is enough here.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

PROBES = {"catalog": "/api/products/7", "reviews": "/api/reviews?product_id=5"}


@pytest.fixture
def live(monolith_url, databases, goldens, tmp_path) -> Iterator[dict[str, str]]:
    """Base URLs of the monolith and both services over the same data."""
    with ExitStack() as stack:
        urls = {}
        app = create_monolith(MonolithConfig(database_url=monolith_url, log_level="WARNING"))
        urls["monolith"] = stack.enter_context(serving(app))
        for name in ROUTES:
            config = ServiceConfig(
                name=name,
                database_url=service_copy(name, databases, goldens, tmp_path),
                log_level="WARNING",
            )
            urls[name] = stack.enter_context(serving(service_module(name).create_app(config)))
        yield urls


def _wait_for(check) -> bool:
    return wait_until(check, lambda: True, 20.0)


def _served(proxy: Proxy, path: str) -> tuple[str, int, object]:
    status, headers, body = proxy.send("GET", path)
    return headers["x-strangler-target"], status, body


def test_both_services_answer_behind_the_router_in_every_mode(live, start_router):
    router = start_router(live["monolith"])
    admin = Admin(router.admin_url)
    proxy = Proxy(router.proxy_url)
    expected = {name: Proxy(live["monolith"]).send("GET", path)[2] for name, path in PROBES.items()}
    for name, patterns in ROUTES.items():
        assert admin.call("PUT", f"/upstreams/{name}", {"urls": [live[name]]})[0] == 200
        for i, pattern in enumerate(patterns):
            route = {"id": f"{name}-{i}", "path": pattern, "target": name}
            assert admin.call("POST", "/routes", route)[0] == 201
    steps = [("monolith", {}), ("shadow", {}), ("canary", {"percent": 100}), ("service", {})]
    for mode, extra in steps:
        for name, patterns in ROUTES.items():
            for i in range(len(patterns)):
                change = {"mode": mode, **extra, "force": True}
                assert admin.call("PATCH", f"/routes/{name}-{i}", change)[0] == 200
        for name, path in PROBES.items():
            want = "monolith" if mode in ("monolith", "shadow") else name
            assert _wait_for(lambda p=path, w=want: _served(proxy, p)[0] == w), (mode, name)
            assert _served(proxy, path)[1:] == (200, expected[name]), (mode, name)
    proxy.close()


def test_shadow_mirrors_reach_the_service(live, start_router):
    router = start_router(live["monolith"])
    admin = Admin(router.admin_url)
    admin.call("PUT", "/upstreams/catalog", {"urls": [live["catalog"]]})
    admin.call("POST", "/routes", {"id": "products", "path": "/api/products/{id}",
                                   "target": "catalog", "mode": "shadow"})  # fmt: skip
    proxy = Proxy(router.proxy_url)
    assert _served(proxy, "/api/products/3")[0] == "monolith"
    metrics = Proxy(live["catalog"])

    def mirrored() -> bool:
        text = metrics.send("GET", "/metrics")[2]
        text = text.decode() if isinstance(text, bytes) else str(text)
        return 'route="/api/products/<int:product_id>",status="200"' in text

    assert _wait_for(mirrored)
    proxy.close()
