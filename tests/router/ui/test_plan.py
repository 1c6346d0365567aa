"""The Plan view: each context of the analyzer's map coloured by its migration state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from router.ui.plan import COLOURS, PlanReader, coloured_dot, migration_state, service_of
from tests.router.ui.test_login import _call, _cookie, _login


def test_a_context_moves_through_the_states_furthest_first() -> None:
    assert migration_state([]) == "not started"
    assert migration_state([], synced=True) == "syncing"
    assert migration_state(["monolith", "shadow"], synced=True) == "shadow"
    assert migration_state(["shadow", "canary"]) == "canary"
    assert migration_state(["service", "monolith"]) == "canary"
    assert migration_state(["service", "service"]) == "owned by the service"
    assert migration_state(["monolith"], handed_over=True) == "owned by the service"


def test_each_known_context_gets_its_colour_and_its_state_in_words() -> None:
    dot = 'digraph contexts {\n  "a\\"b" [label="a\\"b\\n2 tables"];\n  "c" [label="c"];\n}\n'
    out = coloured_dot(dot, {'a"b': "shadow"})
    assert f'"a\\"b" [label="a\\"b\\n2 tables\\n[shadow]", fillcolor="{COLOURS["shadow"]}"];' in out
    assert '  "c" [label="c"];' in out


def test_the_map_renders_to_svg_with_graphviz(plan_report: list[str], tmp_path: Path) -> None:
    reader = PlanReader(str(tmp_path / "analysis" / "report.json"))
    assert reader.contexts() == plan_report
    svg = reader.svg({plan_report[0]: "canary"})
    assert svg is not None and svg.lstrip().startswith(b"<?xml") and b"[canary]" in svg
    assert PlanReader(str(tmp_path / "nowhere" / "report.json")).svg({}) is None


def test_the_plan_page_follows_the_route_table(plan_report: list[str], dashboard: Any) -> None:
    name = plan_report[0]
    dashboard.admin.call("PUT", f"/upstreams/{name}", {"urls": [dashboard.catalog.url]})
    route = {"id": "ctx", "path": "/ctx/**", "target": name, "mode": "shadow"}
    assert dashboard.admin.call("POST", "/routes", route)[0] == 201
    cookie = _cookie(_login(dashboard))
    page = _call(dashboard, "GET", "/ui/part/plan", Cookie=cookie).text
    assert f'<tr data-context="{name}">' in page
    row = page.split(f'<tr data-context="{name}">')[1].split("</tr>")[0]
    assert "shadow" in row
    svg = _call(dashboard, "GET", "/ui/plan.svg", Cookie=cookie)
    assert svg.status == 200 and "[shadow]" in svg.text
    assert _call(dashboard, "GET", "/ui/plan.svg").status == 302  # no session: to the login


def test_a_context_belongs_to_the_service_taking_over_most_of_its_tables() -> None:
    owned = {"catalog": ("categories", "products", "prices"), "reviews": ("reviews",)}
    assert service_of("products", ["categories", "prices", "products"], owned) == "catalog"
    assert service_of("reviews", ["reviews"], owned) == "reviews"
    assert service_of("orders", ["orders", "payments"], owned) == "orders"  # its own name
    assert service_of("orders", [], {}) == "orders"


def test_shopcos_products_context_follows_the_catalog_routes(tmp_path: Path) -> None:
    from router.ui.data import DashboardConfig, DataReader

    folder = tmp_path / "analysis"
    folder.mkdir()
    (folder / "contexts.dot").write_text(
        'digraph contexts {\n  "products" [label="products"];\n  "orders" [label="orders"];\n}\n'
    )
    contexts = [
        {"name": "products", "tables": ["categories", "prices", "products"]},
        {"name": "orders", "tables": ["orders"]},
    ]
    (folder / "report.json").write_text(json.dumps({"contexts": contexts}))
    planner = PlanReader(str(folder / "report.json"))
    assert planner.tables()["products"] == ["categories", "prices", "products"]
    service = service_of("products", planner.tables()["products"], DataReader(
        DashboardConfig()).owned_tables())  # fmt: skip
    assert service == "catalog"
