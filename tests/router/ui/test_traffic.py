"""Traffic figures from the router's metrics text: rates, error rate, quantiles, sparkline."""

from __future__ import annotations

import pytest

from router.metrics import Metrics
from router.ui.traffic import TrafficSampler, quantile, sparkline


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def serve(metrics: Metrics, n: int, seconds: float, code: str = "2xx") -> None:
    for _ in range(n):
        metrics.inc("strangler_requests_total", route="products", target="catalog", code=code)
        metrics.observe(seconds, route="products", target="catalog")


def test_quantiles_interpolate_within_a_bucket_like_prometheus() -> None:
    buckets = {0.01: 50.0, 0.1: 100.0, float("inf"): 100.0}
    assert quantile(0.5, buckets) == pytest.approx(0.01)
    assert quantile(0.75, buckets) == pytest.approx(0.055)
    assert quantile(0.5, {float("inf"): 0.0}) is None


def test_the_first_look_shows_counts_since_the_start() -> None:
    metrics, clock = Metrics(), Clock()
    serve(metrics, 9, 0.004)
    serve(metrics, 1, 0.004, code="5xx")
    (row,) = TrafficSampler(metrics.render, clock).rows()
    assert (row["route"], row["target"]) == ("products", "catalog")
    assert (row["total"], row["errors"]) == (10, 1)
    assert row["rps"] is None and row["error_rate"] == pytest.approx(0.1)
    assert 0.0025 < row["p50"] <= 0.005


def test_later_looks_show_the_rate_and_latency_of_recent_traffic_only() -> None:
    metrics, clock = Metrics(), Clock()
    sampler = TrafficSampler(metrics.render, clock)
    serve(metrics, 100, 0.004)
    sampler.rows()
    clock.now += 5
    serve(metrics, 40, 2.0)
    sampler.rows()  # a page polled meanwhile
    clock.now += 5
    serve(metrics, 10, 2.0, code="5xx")
    (row,) = sampler.rows()
    assert row["total"] == 150
    assert row["rps"] == pytest.approx(50 / 10)
    assert row["error_rate"] == pytest.approx(10 / 50)
    assert 1.0 < row["p50"] <= 2.5  # the fast requests before the window do not count
    assert row["spark"] == [pytest.approx(8.0), pytest.approx(2.0)]


def test_a_sparkline_scales_to_its_box() -> None:
    assert sparkline([1.0]) == ""
    assert sparkline([0.0, 2.0], width=10, height=10) == "0.0,9.0 10.0,1.0"
