"""Routers sharing a store apply each other's changes when told, not at the next poll."""

from __future__ import annotations

import threading

from tests.router.conftest import Admin, Proxy


def test_a_change_made_on_one_router_is_served_by_another_without_a_poll(
    upstream, start_router
) -> None:
    mono, catalog = upstream("monolith"), upstream("catalog")
    # both poll the store once at start and then not for an hour
    first = start_router(mono.url, poll_interval=3600)
    second = start_router(mono.url, poll_interval=3600)
    assert second.watcher.listening
    applied = threading.Event()
    publish = second.watcher.on_change

    def on_change(table):  # the second router's own publish, then tell the test
        publish(table)
        if table.route("products") is not None:
            applied.set()

    second.watcher.on_change = on_change
    admin = Admin(first.admin_url)
    assert admin.call("PUT", "/upstreams/catalog", {"urls": [catalog.url]})[0] == 200
    body = {"id": "products", "path": "/api/products/**", "target": "catalog", "mode": "service"}
    assert admin.call("POST", "/routes", body)[0] == 201
    assert applied.wait(30), "the second router was not told of the change"
    assert Proxy(second.proxy_url).send("GET", "/api/products/1")[2]["served_by"] == "catalog"
