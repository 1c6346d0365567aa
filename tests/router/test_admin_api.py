"""The admin API: token on every call but /health, JSON errors, versions, OpenAPI."""

from __future__ import annotations

import os
import stat

import pytest

from router.health import Probe
from router.server import admin_token
from tests.router.conftest import Admin, Proxy


@pytest.fixture
def admin(upstream, start_router) -> Admin:
    router = start_router(upstream("monolith").url)
    return Admin(router.admin_url)


def test_health_needs_no_token(admin: Admin) -> None:
    status, body = admin.call("GET", "/health", token="")
    assert status == 200 and body["status"] == "ok"


@pytest.mark.parametrize("token", ["", "wrong-token", "test-admin-token-but-longer"])
@pytest.mark.parametrize("path", ["/routes", "/metrics", "/openapi.json", "/versions"])
def test_calls_without_or_with_a_wrong_token_are_rejected(admin: Admin, path, token) -> None:
    status, body = admin.call("GET", path, token=token)
    assert status == 401 and body["error"]["code"] == "unauthorized"


def test_writes_without_token_change_nothing(admin: Admin) -> None:
    status, _ = admin.call("PUT", "/upstreams/x", {"urls": ["http://127.0.0.1:9"]}, token="nope")
    assert status == 401
    assert [u["name"] for u in admin.call("GET", "/upstreams")[1]["upstreams"]] == ["monolith"]


def test_openapi_document_lists_the_api(admin: Admin) -> None:
    status, doc = admin.call("GET", "/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    assert {"/routes", "/routes/{key}", "/rollback", "/metrics"} <= set(doc["paths"])


def test_unknown_path_and_bad_json_are_json_errors(admin: Admin) -> None:
    status, body = admin.call("GET", "/nope")
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body = admin.call("POST", "/routes", ["not", "an", "object"])
    assert status == 400 and "JSON object" in body["error"]["message"]


@pytest.mark.parametrize(
    ("route", "needle"),
    [
        ({"path": "/api/**", "target": "ghost"}, "unknown upstream 'ghost'"),
        ({"path": "/api/**", "target": "monolith", "percent": 150}, "outside 0-100"),
        ({"path": "/api/{id", "target": "monolith"}, "malformed"),
        ({"path": "/api/**", "target": "monolith", "colour": "red"}, "unknown route field"),
    ],
)
def test_malformed_route_updates_are_rejected_and_old_table_keeps_serving(
    upstream, start_router, route, needle
) -> None:
    router = start_router(upstream("monolith").url)
    admin = Admin(router.admin_url)
    before = router.plane.table.version
    status, body = admin.call("POST", "/routes", route)
    assert status == 400 and needle in body["error"]["message"]
    assert router.plane.table.version == before
    assert Proxy(router.proxy_url).send("GET", "/api/x")[2]["served_by"] == "monolith"


def test_ambiguous_routes_are_rejected(admin: Admin) -> None:
    assert admin.call("POST", "/routes", {"path": "/api/{a}", "target": "monolith"})[0] == 201
    status, body = admin.call("POST", "/routes", {"path": "/api/{b}", "target": "monolith"})
    assert status == 400 and "equal specificity" in body["error"]["message"]


def test_activating_an_unhealthy_target_is_refused_unless_forced(upstream, start_router) -> None:
    router = start_router(upstream("monolith").url)
    admin = Admin(router.admin_url)
    dead = upstream("dead")
    dead.healthy = False  # before it is registered, so no health probe can see it healthy
    admin.call("PUT", "/upstreams/dead", {"urls": [dead.url]})
    router.health.record(Probe(dead.url, False, "503", 0))
    admin.call("POST", "/routes", {"id": "r", "path": "/api/**", "target": "dead"})
    status, body = admin.call("PATCH", "/routes/r", {"mode": "service"})
    assert status == 409 and "unhealthy" in body["error"]["message"]
    status, _ = admin.call(
        "PATCH", "/routes/r", {"mode": "service", "force": True, "reason": "drill"}
    )
    assert status == 200
    latest = admin.call("GET", "/versions?limit=1")[1]["versions"][0]
    assert latest["change"]["forced"] is True and latest["reason"] == "drill"
    assert latest["actor"] == "pytest"


def test_promote_demote_history_diff_and_rollback(upstream, start_router, monkeypatch) -> None:
    monkeypatch.setenv("STRANGLER_GATE_MIN_COMPARISONS", "0")  # the gate: tests/router/test_gate*
    router = start_router(upstream("monolith").url)
    admin = Admin(router.admin_url)
    cat = upstream("catalog")
    admin.call("PUT", "/upstreams/catalog", {"urls": [cat.url]})
    admin.call("POST", "/routes", {"path": "/api/products/{id}", "target": "catalog"})
    modes = [
        admin.call("POST", "/routes/api-products-id/promote")[1]["route"]["mode"] for _ in range(3)
    ]
    assert modes == ["shadow", "canary", "service"]
    status, body = admin.call("POST", "/routes/api-products-id/promote")
    assert status == 400 and "cannot be promoted" in body["error"]["message"]
    assert admin.call("POST", "/routes/api-products-id/demote")[1]["route"]["mode"] == "canary"
    history = admin.call("GET", "/versions")[1]["versions"]
    assert [v["change"]["op"] for v in history[:2]] == ["demote", "promote"]
    diff = admin.call("GET", "/diff")[1]["changes"]
    assert diff == [
        {"kind": "route", "name": "api-products-id", "op": "changed", "field": "mode",
         "from": "service", "to": "canary"}
    ]  # fmt: skip
    target = history[-1]["version"]
    status, body = admin.call("POST", "/rollback", {"version": target, "reason": "undo all"})
    assert status == 200
    assert admin.call("GET", "/routes")[1]["routes"] == []
    assert router.plane.table.version == body["version"]
    status, body = admin.call("POST", "/rollback", {"version": 999})
    assert status == 404 and "999" in body["error"]["message"]


def test_upstream_in_use_cannot_be_removed(admin: Admin, upstream) -> None:
    admin.call("PUT", "/upstreams/catalog", {"urls": [upstream("catalog").url]})
    admin.call("POST", "/routes", {"id": "r", "path": "/x/**", "target": "catalog"})
    status, body = admin.call("DELETE", "/upstreams/catalog")
    assert status == 400 and "route(s) r" in body["error"]["message"]
    assert admin.call("DELETE", "/routes/r")[0] == 200
    assert admin.call("DELETE", "/upstreams/catalog")[0] == 200
    status, body = admin.call("DELETE", "/upstreams/monolith")
    assert status == 400


def test_metrics_are_prometheus_text(admin: Admin, upstream) -> None:
    status, text = admin.call("GET", "/metrics")
    assert status == 200 and "# TYPE strangler_requests_total counter" in text


def test_generated_token_file_is_owner_only(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("STRANGLER_ADMIN_TOKEN", raising=False)
    token, path = admin_token(str(tmp_path / "var" / "token"))
    assert path and len(token) >= 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert admin_token(str(tmp_path / "var" / "token")) == (token, path)
    monkeypatch.setenv("STRANGLER_ADMIN_TOKEN", "from-env")
    assert admin_token(str(tmp_path / "other")) == ("from-env", None)
