"""`verify --writes state`: writes replayed on two isolated databases, rows compared."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from monolith.app import create_app
from monolith.config import MonolithConfig
from monolith.db import make_engine
from monolith.migrate import upgrade
from monolith.seed import seed
from tests.monolith.live_server import serving
from tests.verify.conftest import Changed, route_of, run_verify, verify_json, write_requests

WRITES: list[dict[str, Any]] = [
    {"method": "POST", "path": "/api/categories", "body": {"name": "Verify Garden Tools"}},
    {"method": "GET", "path": "/api/categories?page=1"},
    {
        "method": "POST",
        "path": "/api/products",
        "body": {"sku": "NEW-1", "name": "Rake", "category_id": 1, "price_cents": 1299},
    },
    {"method": "PATCH", "path": "/api/products/3", "body": {"name": "Renamed"}},
]
MAPPING = "[tables.categories]\n[tables.products]\n[tables.prices]\n"


def verify_writes(shopco: Any, legacy: str, candidate: str, tmp_path: Path) -> Any:
    """Replay WRITES with --writes state on the two ShopCo copies; return (code, report)."""
    (tmp_path / "mapping.toml").write_text(MAPPING, encoding="utf-8")
    (tmp_path / "rules.toml").write_text('[defaults]\nignore = ["created_at"]\n', encoding="utf-8")
    requests = write_requests(tmp_path / "r.jsonl", WRITES)
    db = {side: f"sqlite:///{shopco.databases[side]}" for side in (legacy, candidate)}
    ignored = ("--state-ignore", "created_at", "--state-ignore", "prices.valid_from")
    return verify_json(
        *("--legacy", legacy, "--candidate", candidate, "--requests", requests),
        *("--rules", str(tmp_path / "rules.toml"), "--writes", "state"),
        *("--legacy-db", db[legacy], "--candidate-db", db[candidate]),
        *("--mapping", str(tmp_path / "mapping.toml"), *ignored),
    )


def test_the_same_writes_on_two_copies_leave_the_same_rows(shopco, tmp_path: Path) -> None:
    legacy, candidate = shopco(), shopco()
    code, report = verify_writes(shopco, legacy, candidate, tmp_path)
    assert code == 0, report["routes"]
    assert report["totals"]["compared"] == 4 and report["totals"]["skipped"] == 0


def test_a_wrong_status_and_a_row_written_differently_are_caught(shopco, tmp_path: Path) -> None:
    candidate_db: dict[str, Path] = {}

    def buggy(method: str, path: str, status: int, body: Any) -> tuple[int, Any]:
        if method == "POST" and path == "/api/categories":
            return 200, body  # the monolith answers 201 Created
        if method == "PATCH" and path == "/api/products/3":
            with sqlite3.connect(candidate_db["file"]) as conn:  # a write gone astray
                conn.execute("UPDATE products SET active = 0 WHERE id = 3")
        return status, body

    legacy, candidate = shopco(), shopco(buggy)
    candidate_db["file"] = shopco.databases[candidate]
    code, report = verify_writes(shopco, legacy, candidate, tmp_path)
    assert code == 1
    categories = route_of(report, "/api/categories")
    assert [f["path"] for f in categories["fields"]] == ["$status"]
    assert categories["mismatched"] == 1 and categories["compared"] == 2
    product = route_of(report, "/api/products/3")
    assert [f["path"] for f in product["fields"]] == ["$state.products.active"]
    (state,) = product["samples"][0]["state"]
    assert state == {
        "table": "products",
        "key": {"id": 3},
        "column": "active",
        "legacy": 1,
        "candidate": 0,
    }
    assert "products {'id': 3} active: legacy 1 != candidate 0" in product["samples"][0]["diff"]
    assert route_of(report, "/api/products")["mismatched"] == 0


def test_writes_state_needs_both_databases_and_a_mapping(shopco, tmp_path: Path) -> None:
    requests = write_requests(tmp_path / "r.jsonl", WRITES)
    out = run_verify(
        "--legacy",
        "http://a",
        "--candidate",
        "http://b",
        "--requests",
        requests,
        "--writes",
        "state",
    )
    assert out.exit_code == 2 and "--writes state needs --legacy-db URL" in out.output
    (tmp_path / "m.toml").write_text("[tables.nope]\n", encoding="utf-8")
    legacy = shopco()
    db = f"sqlite:///{shopco.databases[legacy]}"
    out = run_verify(
        "--legacy",
        legacy,
        "--candidate",
        legacy,
        "--requests",
        requests,
        "--writes",
        "state",
        "--legacy-db",
        db,
        "--candidate-db",
        db,
        "--mapping",
        str(tmp_path / "m.toml"),
    )
    assert out.exit_code == 2 and "the legacy database has no table 'nope'" in out.output


@pytest.mark.postgres
def test_writes_state_on_postgresql_names_the_row_a_write_left_different(
    postgres, tmp_path: Path
) -> None:
    urls = [postgres.create_database() for _ in range(2)]
    for url in urls:
        upgrade(url)
        engine = make_engine(url)
        seed(engine, scale=1)
        engine.dispose()

    def astray(method: str, path: str, status: int, body: Any) -> tuple[int, Any]:
        if method == "PATCH":
            engine = sa.create_engine(urls[1])
            with engine.begin() as conn:
                conn.execute(sa.text("UPDATE products SET description = 'x' WHERE id = 3"))
            engine.dispose()
        return status, body

    apps = [create_app(MonolithConfig(database_url=u, log_level="WARNING")) for u in urls]
    apps[1].wsgi_app = Changed(apps[1].wsgi_app, astray)  # type: ignore[method-assign,assignment]
    (tmp_path / "mapping.toml").write_text(MAPPING, encoding="utf-8")
    (tmp_path / "rules.toml").write_text('[defaults]\nignore = ["created_at"]\n', encoding="utf-8")
    requests = write_requests(tmp_path / "r.jsonl", WRITES)
    with serving(apps[0]) as legacy, serving(apps[1]) as candidate:
        code, report = verify_json(
            *("--legacy", legacy, "--candidate", candidate, "--requests", requests),
            *("--rules", str(tmp_path / "rules.toml"), "--writes", "state"),
            *("--legacy-db", urls[0], "--candidate-db", urls[1]),
            *("--mapping", str(tmp_path / "mapping.toml")),
            *("--state-ignore", "created_at", "--state-ignore", "prices.valid_from"),
        )
    for app in apps:
        app.extensions["shopco"].engine.dispose()
    assert code == 1
    bad = [
        (r["route"], [f["path"] for f in r["fields"]]) for r in report["routes"] if r["mismatched"]
    ]
    assert bad == [("/api/products/3", ["$state.products.description"])]
    (state,) = route_of(report, "/api/products/3")["samples"][0]["state"]
    assert state["key"] == {"id": 3} and state["candidate"] == "x"
