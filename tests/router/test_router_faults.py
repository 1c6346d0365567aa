"""A fault inside the router (an addon hook, the data plane) answers a tagged 502 and
never passes the request on, unrouted, to the monolith."""

from __future__ import annotations

from tests.router.conftest import Proxy
from tests.router.test_data_plane import setup_catalog


def test_a_fault_in_the_router_answers_a_tagged_502_and_never_passes_the_request_on(
    upstream, start_router
) -> None:
    """An unforeseen exception (here: in the upstream client, then in the data plane
    itself) is the router's error; mitmproxy must not send the flow on to its reverse-mode
    placeholder, the monolith, untagged and unrouted (seen once under load in CI)."""
    mono, catalog = upstream("monolith"), upstream("catalog")
    router = start_router(mono.url)
    setup_catalog(router, catalog)

    async def broken_client(*args, **kwargs):
        raise RuntimeError("client fault")

    async def broken_plane(*args, **kwargs):
        raise RuntimeError("plane fault")

    proxy = Proxy(router.proxy_url)
    router.plane.client.request = broken_client
    status, headers, body = proxy.send("POST", "/api/products", b"{}", X_Request_ID="r-1")
    assert (status, body["error"]["code"]) == (502, "router_error")
    assert "client fault" in body["error"]["message"]
    assert (headers["x-strangler-target"], headers["x-request-id"]) == ("router", "r-1")
    assert router.metrics.value("strangler_writes_in_flight", route="products") == 0

    router.plane.handle = broken_plane
    status, headers, body = proxy.send("GET", "/anything", X_Request_ID="r-2")
    assert (status, body["error"]["code"]) == (502, "router_error")
    assert (headers["x-strangler-target"], headers["x-request-id"]) == ("router", "r-2")
    assert mono.requests == [] and catalog.requests == []


def _addon(router):
    return router._master.addons.get("strangleraddon")


def test_a_fault_anywhere_in_the_request_hook_answers_a_tagged_502(
    upstream, start_router, monkeypatch
) -> None:
    """Not only the data plane: a fault while reading the flow or after answering must
    not let mitmproxy send the flow on to its placeholder (the monolith), unrouted."""
    mono, catalog = upstream("monolith"), upstream("catalog")
    router = start_router(mono.url)
    setup_catalog(router, catalog)
    addon = _addon(router)
    proxy = Proxy(router.proxy_url)

    def broken(*args, **kwargs):
        raise RuntimeError("addon fault")

    monkeypatch.setattr(addon, "_incoming", broken)
    status, headers, body = proxy.send("POST", "/api/products", b"{}", X_Request_ID="r-3")
    assert (status, body["error"]["code"]) == (502, "router_error")
    assert "addon fault" in body["error"]["message"]
    assert (headers["x-strangler-target"], headers["x-request-id"]) == ("router", "r-3")
    assert mono.requests == [] and catalog.requests == []
    assert router.metrics.value("strangler_router_errors_total", stage="request") == 1
    monkeypatch.undo()

    monkeypatch.setattr(addon, "after", broken)  # the access log fails after the answer
    status, _, body = proxy.send("GET", "/api/products/1")
    assert status == 200 and body["served_by"] == "catalog"  # the answer stands
    assert router.metrics.value("strangler_router_errors_total", stage="request") == 2


def test_a_fault_in_requestheaders_after_rewriting_the_request_answers_a_tagged_502(
    upstream, start_router, monkeypatch
) -> None:
    """requestheaders points a streamed request at its upstream; a fault half-way must
    neither send it there unfinished nor leave its write counted in flight."""
    import dataclasses

    import router.addon

    mono, catalog = upstream("monolith"), upstream("catalog")
    router_ = start_router(mono.url, stream_threshold=1000)
    setup_catalog(router_, catalog)
    real = router.addon.streaming.plan

    def bad_headers(plane, inc):
        planned = real(plane, inc)
        return dataclasses.replace(planned, headers=[("host", "x")])  # str: mitmproxy refuses

    monkeypatch.setattr(router.addon.streaming, "plan", bad_headers)
    status, headers, body = Proxy(router_.proxy_url).send("PUT", "/api/products/9", b"x" * 5000)
    assert (status, body["error"]["code"]) == (502, "router_error")
    assert headers["x-strangler-target"] == "router"
    assert mono.requests == [] and catalog.requests == []
    assert router_.metrics.value("strangler_writes_in_flight", route="products") == 0
    assert router_.metrics.value("strangler_router_errors_total", stage="requestheaders") == 1
