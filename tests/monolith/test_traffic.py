"""The traffic generator against a live ShopCo server."""

import pytest

from monolith.app import create_app
from monolith.config import MonolithConfig
from monolith.db import make_engine
from monolith.migrate import upgrade
from monolith.seed import seed
from monolith.traffic import TrafficError, TrafficPlan, run_traffic
from monolith.traffic_visits import Reply

from .live_server import serving


def _rules(app):
    return {
        f"{method} {rule.rule}"
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_a_modest_run_covers_every_endpoint_without_server_errors(app, engine):
    seed(engine, scale=1)
    with serving(app) as base_url:
        summary = run_traffic(base_url, requests=300, seed=3)
    assert summary.ok, summary.error_samples
    assert summary.requests == 300
    assert set(summary.per_endpoint) == _rules(app)
    assert sum(summary.per_status.values()) == 300
    assert summary.per_status.get(201, 0) > 20  # writes, not just reads


def test_same_seed_against_the_same_data_repeats_the_same_requests(tmp_path):
    outcomes = []
    for name in ("a", "b"):
        url = f"sqlite:///{tmp_path / name}.db"
        upgrade(url)
        engine = make_engine(url)
        seed(engine, scale=1, seed=5)
        engine.dispose()
        app = create_app(MonolithConfig(database_url=url, log_level="WARNING"))
        with serving(app) as base_url:
            summary = run_traffic(base_url, requests=150, seed=9)
        outcomes.append((summary.per_endpoint, summary.per_status))
        app.extensions["shopco"].engine.dispose()
    assert outcomes[0] == outcomes[1]


def test_duration_mode_stops_by_itself(app):
    with serving(app) as base_url:
        summary = run_traffic(base_url, duration=0.5, seed=1)
    assert summary.requests > 0 and summary.ok


def test_unreachable_target_is_one_clear_error():
    with pytest.raises(TrafficError, match=r"cannot reach http://127\.0\.0\.1:1"):
        run_traffic("http://127.0.0.1:1", requests=5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"requests": 5, "duration": 1.0}, "not both"),
        ({"requests": 0}, "positive"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, message):
    with pytest.raises(TrafficError, match=message):
        run_traffic("http://127.0.0.1:1", **kwargs)


def test_bad_base_url_is_rejected():
    with pytest.raises(TrafficError, match="http://host:port"):
        run_traffic("ftp://example", requests=1)


def test_plan_is_deterministic_for_a_seed_and_starts_with_the_tour():
    def first_calls(seed_value):
        plan, calls = TrafficPlan(seed_value), []
        for _ in range(80):
            call = plan.next_call()
            calls.append(call)
            plan.observe(Reply(404, None))
        return calls

    assert first_calls(1) == first_calls(1)
    assert first_calls(1)[0].endpoint == "/api/audit-log"
