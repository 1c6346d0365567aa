"""The Data view: CDC lag per table and direction, dead letters with their entries, and
the handover state per context, read from real SQLite sink and handover databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from handover.state import HandoverState
from router.errors import ValidationError
from router.ui.data import DashboardConfig, DataReader
from tests.router.ui.conftest import sink_with
from tests.router.ui.test_login import _call, _cookie, _login


def test_lag_is_shown_per_table_and_direction(data_config: DashboardConfig) -> None:
    sinks = DataReader(data_config).lag()
    got = {(s["direction"], t["table"]): t["lag_ms"] for s in sinks for t in s["tables"]}
    assert got == {
        ("forward", "categories"): 5,
        ("forward", "products"): 120,
        ("reverse", "reviews"): 40,
    }
    assert [s["dead"] for s in sinks] == [2, 0]


def test_dead_letters_are_listed_with_their_reason(data_config: DashboardConfig) -> None:
    letters = DataReader(data_config).dead_letters(0)["letters"]
    assert [(d["offset"], d["reason"]) for d in letters] == [
        (0, "no such column: colour"),
        (1, "no such column: colour"),
    ]
    with pytest.raises(ValidationError, match="no sink number 5"):
        DataReader(data_config).dead_letters(5)


def test_handovers_not_started_until_their_store_exists(data_config: DashboardConfig) -> None:
    states = {h["context"]: h["state"] for h in DataReader(data_config).handovers()}
    assert set(states.values()) == {"not started"}
    assert not Path(data_config.handover.removeprefix("sqlite:///")).exists()


def test_a_stored_handover_shows_its_step_and_direction(data_config: DashboardConfig) -> None:
    from handover.plan import HANDOVER, Run

    state = HandoverState(data_config.handover)
    state.save(Run("catalog", HANDOVER, "held"))
    state.want("reviews", "reverse")
    state.close()
    states = {h["context"]: h["state"] for h in DataReader(data_config).handovers()}
    assert states["catalog"] == "handover in progress: step held"
    assert states["reviews"].startswith("handed over")


def test_a_malformed_sink_entry_is_named() -> None:
    with pytest.raises(ValidationError, match="'forward catalog' must be"):
        DashboardConfig(sinks=("forward catalog",)).sink_refs()


def test_an_unreadable_sink_is_reported_on_the_page_not_raised(tmp_path: Path) -> None:
    config = DashboardConfig(sinks=(f"forward x p sqlite:///{tmp_path}/no/such/dir/x.db",))
    (entry,) = DataReader(config).lag()
    assert entry["tables"] == [] and "cannot open the sink database" in entry["error"]


def test_the_data_page_links_dead_letters_to_their_entries(
    data_config: DashboardConfig, dashboard: Any
) -> None:
    cookie = _cookie(_login(dashboard))
    page = _call(dashboard, "GET", "/ui/part/data", Cookie=cookie).text
    assert 'href="/ui/data?dlq=0"' in page and "120 ms" in page and "← reverse" in page
    letters = _call(dashboard, "GET", "/ui/part/data?dlq=0", Cookie=cookie).text
    assert letters.count("no such column: colour") == 2
    bad = _call(dashboard, "GET", "/ui/part/data?dlq=x", Cookie=cookie)
    assert bad.status == 400 and "dlq must be a sink number" in bad.text


def test_without_sinks_configured_the_gates_sink_is_shown_forward(tmp_path: Path) -> None:
    from router.ui.data import SinkRef

    url = f"sqlite:///{tmp_path}/catalog.db"
    sink_with(url, "catalog", {"products": 7})
    gate = SinkRef("forward", "catalog", "catalog", url)
    (entry,) = DataReader(DashboardConfig(), gate).lag()
    assert (entry["direction"], entry["context"]) == ("forward", "catalog")
    assert [(t["table"], t["lag_ms"]) for t in entry["tables"]] == [("products", 7)]
    configured = DashboardConfig(sinks=(f"reverse catalog back {url}",))
    assert [r.direction for r in DataReader(configured, gate).refs] == ["reverse"]


def test_without_the_handover_package_no_handover_state_is_claimed(
    data_config: DashboardConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "handover.plan", None)  # import fails as if absent
    assert DataReader(data_config).handovers() == []
