"""Pure pieces: circuit breaker, metrics text, table edits (comparison: tests/parity)."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from router import ops
from router.breaker import CLOSED, HALF_OPEN, OPEN, Breaker
from router.errors import NotFound, ValidationError
from router.metrics import Metrics
from router.table import Route, RouteTable, Upstream


def test_breaker_opens_after_n_failures_within_the_window_only() -> None:
    b = Breaker(failures=3, window=10, cooldown=5)
    for t in (0, 20, 40):  # spread beyond the window: never 3 within 10 s
        b = b.failure(t)
    assert b.state == CLOSED
    for t in (50, 51, 52):
        b = b.failure(t)
    assert b.state == OPEN and b.allow(53)[0] is False


def test_breaker_half_opens_after_cooldown_with_a_single_probe() -> None:
    b = Breaker(failures=1, window=10, cooldown=5).failure(0)
    allowed, b = b.allow(5)
    assert allowed and b.state == HALF_OPEN
    assert b.allow(5.1)[0] is False  # one probe at a time
    assert b.success(6).state == CLOSED
    reopened = b.failure(6)
    assert reopened.state == OPEN and reopened.opened_at == 6


def test_metrics_render_prometheus_text_with_histograms() -> None:
    m = Metrics()
    m.inc("strangler_requests_total", route="a", target="monolith", code="2xx")
    m.observe(0.003, route="a", target="monolith")
    text = m.render()
    assert "# TYPE strangler_requests_total counter" in text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    route = (("route", "a"), ("target", "monolith"))
    assert samples[("strangler_requests_total", (("code", "2xx"), *route))] == 1
    assert samples[("strangler_request_seconds_bucket", (("le", "0.005"), *route))] == 1
    assert samples[("strangler_request_seconds_bucket", (("le", "0.001"), *route))] == 0


BASE = RouteTable(
    (Upstream("monolith", ("http://127.0.0.1:1",)), Upstream("svc", ("http://127.0.0.1:2",)))
)


def test_promote_walks_the_ladder_and_sets_a_canary_share() -> None:
    t, r = ops.add_route(BASE, {"path": "/api/{id}", "target": "svc"})
    modes = []
    for _ in range(3):
        t, r = ops.step(t, r.id, +1)
        modes.append((r.mode, r.percent))
    assert modes == [("shadow", 0.0), ("canary", 10.0), ("service", 10.0)]
    with pytest.raises(ValidationError, match="cannot be promoted"):
        ops.step(t, r.id, +1)


def test_route_ids_are_derived_and_made_unique() -> None:
    t, a = ops.add_route(BASE, {"path": "/api/**", "target": "svc", "methods": ["GET"]})
    t, b = ops.add_route(t, {"path": "/api/**", "target": "svc", "methods": "POST"})
    assert (a.id, b.id) == ("api-all-get", "api-all-post")
    assert ops.slug("/api/products/{id}") == "api-products-id"


def test_find_by_path_template_and_missing_route() -> None:
    t, r = ops.add_route(BASE, {"path": "/x/{id}", "target": "svc"})
    assert ops.find_route(t, "/x/{id}") == r
    with pytest.raises(NotFound):
        ops.find_route(t, "nope")


def test_activation_is_a_move_into_canary_or_service() -> None:
    off = Route("r", "/x", "svc")
    assert ops.activates(off, Route("r", "/x", "svc", mode="service"))
    assert not ops.activates(off, Route("r", "/x", "svc", mode="shadow"))
    live = Route("r", "/x", "svc", mode="canary", percent=5)
    assert not ops.activates(live, Route("r", "/x", "svc", mode="service"))
