"""The promotion gate's decision (pure) and the numbers it gathers from real stores."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from cdc import sink_state
from router.gate import Evidence, GatePolicy, judge, load_policy
from router.gate_evidence import gather, quantile
from router.metrics import Metrics
from router.table import Route

POLICY = GatePolicy()


def failing(evidence: Evidence, policy: GatePolicy = POLICY) -> list[str]:
    return [c.message for c in judge(evidence, policy).failures]


def test_too_few_comparisons_are_refused_with_the_count_and_the_minimum() -> None:
    assert failing(Evidence(comparisons=199)) == ["shadow comparisons 199 (minimum 200)"]
    assert failing(Evidence(comparisons=200)) == []


def test_a_mismatch_rate_above_the_threshold_is_refused_with_both_numbers() -> None:
    assert failing(Evidence(comparisons=1000, mismatches=1)) == []
    assert failing(Evidence(comparisons=1000, mismatches=2)) == [
        "shadow mismatch rate 0.20 % (2 of 1000; threshold 0.10 %)"
    ]


def test_the_candidate_error_rate_may_exceed_the_monolith_s_only_by_the_margin() -> None:
    base = Evidence(comparisons=500, candidate_requests=500, monolith_requests=500)
    assert failing(replace(base, candidate_errors=10, monolith_errors=5)) == []
    assert failing(replace(base, candidate_errors=11, monolith_errors=0)) == [
        "candidate error rate 2.20 % vs monolith 0.00 % (margin 1.00 %)"
    ]


def test_a_slower_candidate_p99_is_refused_beyond_the_margin() -> None:
    fast = Evidence(comparisons=500, candidate_p99=0.110, monolith_p99=0.100)
    slow = Evidence(comparisons=500, candidate_p99=0.130, monolith_p99=0.100)
    assert failing(fast) == []
    assert failing(slow) == [
        "candidate p99 130 ms vs monolith 100 ms (margin 20.00 %, limit 120 ms)"
    ]
    assert failing(Evidence(comparisons=500, candidate_p99=None, monolith_p99=0.1)) == []


def test_cdc_lag_is_checked_per_table_and_an_unknown_lag_fails() -> None:
    lags = {"products": 200, "prices": 9000, "stock": None}
    assert failing(Evidence(comparisons=500, cdc_lag_ms=lags)) == [
        "CDC lag on table prices: 9000 ms (threshold 5000 ms)",
        "CDC lag on table stock: no CDC position yet (threshold 5000 ms)",
    ]


def test_the_policy_comes_from_the_gate_section_and_rejects_bad_values(
    tmp_path, monkeypatch
) -> None:
    config = tmp_path / "strangler.toml"
    config.write_text(
        '[gate]\nmin_comparisons = 50\n[gate.tables]\napi-products = ["products", "prices"]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("STRANGLER_CONFIG", str(config))
    policy = load_policy()
    assert policy.min_comparisons == 50
    assert policy.tables == {"api-products": ("products", "prices")}
    with pytest.raises(ValueError, match="max_mismatch_rate must be between 0 and 1"):
        load_policy(max_mismatch_rate=2)


def test_quantile_interpolates_like_prometheus() -> None:
    buckets = [(0.1, 50.0), (0.2, 100.0), (float("inf"), 100.0)]
    assert quantile(0.5, buckets) == pytest.approx(0.1)
    assert quantile(0.99, buckets) == pytest.approx(0.198)
    assert quantile(0.99, []) is None


def test_live_traffic_and_cdc_positions_feed_the_evidence(tmp_path) -> None:
    route = Route("api-products", "/api/products/**", "catalog", mode="canary")
    metrics = Metrics()
    for seconds in [0.004] * 99 + [0.4]:
        metrics.observe(seconds, route=route.id, target="monolith")
        metrics.observe(seconds * 3, route=route.id, target="catalog")
    metrics.inc("strangler_requests_total", 97, route=route.id, target="catalog", code="2xx")
    metrics.inc("strangler_requests_total", 3, route=route.id, target="catalog", code="5xx")
    metrics.inc("strangler_requests_total", 100, route=route.id, target="monolith", code="2xx")
    sink = f"sqlite:///{tmp_path / 'service.db'}"
    engine = sa.create_engine(sink)
    sink_state.META.create_all(engine)
    with engine.begin() as conn:
        sink_state.save_stats(conn, "default", {"products": ("products", 5, 1_000)}, 1_250)
    engine.dispose()
    policy = GatePolicy(cdc_sink=sink, tables={route.id: ("products", "prices")})

    evidence = gather(route, policy, None, metrics)

    assert (evidence.candidate_requests, evidence.candidate_errors) == (100, 3)
    assert (evidence.monolith_requests, evidence.monolith_errors) == (100, 0)
    assert evidence.monolith_p99 is not None and evidence.candidate_p99 is not None
    assert evidence.candidate_p99 > evidence.monolith_p99
    assert evidence.cdc_lag_ms == {"products": 250, "prices": None}
