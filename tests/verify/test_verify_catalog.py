"""The extracted catalog service against the monolith over a ShopCo traffic run.

The recording comes from `run_traffic` (what `strangler monolith traffic` drives) against
a throwaway ShopCo; verify then replays the catalog's requests to a freshly seeded
monolith and to the catalog service filled from it by its own CDC sync, as in a real
migration, with the service's rules file.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from monolith.app import create_app
from monolith.config import MonolithConfig
from monolith.traffic import run_traffic
from tests.extracted.conftest import synced_service
from tests.monolith.live_server import serving
from tests.verify.conftest import verify_json

pytestmark = pytest.mark.slow

CATALOG = ("/api/categories", "/api/products", "/api/products/{id}")
RULES = Path(__file__).resolve().parents[2] / "extracted" / "catalog" / "parity.toml"


class Recorder:
    """Write each request an app receives as a `verify --requests` line."""

    def __init__(self, app: Any, out: list[str]) -> None:
        self.app, self.out = app, out

    def __call__(self, environ: dict[str, Any], start: Callable[..., Any]) -> Any:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size) if size else b""
        environ["wsgi.input"] = io.BytesIO(body)
        query = environ.get("QUERY_STRING", "")
        path = environ["PATH_INFO"] + (f"?{query}" if query else "")
        line: dict[str, Any] = {"method": environ["REQUEST_METHOD"], "path": path}
        if body:
            line["body"] = json.loads(body)
        self.out.append(json.dumps(line))
        return self.app(environ, start)


def test_the_catalog_service_answers_a_traffic_run_like_the_monolith(
    seeded_shopco: Path, tmp_path: Path
) -> None:
    recorded: list[str] = []
    throwaway = tmp_path / "throwaway.db"
    shutil.copy(seeded_shopco, throwaway)
    app = create_app(MonolithConfig(database_url=f"sqlite:///{throwaway}", log_level="WARNING"))
    app.wsgi_app = Recorder(app.wsgi_app, recorded)  # type: ignore[method-assign,assignment]
    with serving(app) as url:
        summary = run_traffic(url, requests=300, seed=3)
    assert summary.server_errors == summary.transport_errors == 0
    recording = tmp_path / "traffic.jsonl"
    recording.write_text("\n".join(recorded) + "\n", encoding="utf-8")

    legacy_db = tmp_path / "legacy.db"
    shutil.copy(seeded_shopco, legacy_db)
    legacy_url = f"sqlite:///{legacy_db}"
    synced = synced_service(
        "catalog", legacy_url, lambda n: f"sqlite:///{tmp_path / n}.db", tmp_path
    )
    from extracted.catalog.app import create_app as create_catalog

    legacy = create_app(MonolithConfig(database_url=legacy_url, log_level="WARNING"))
    catalog = create_catalog(synced.config())
    with serving(legacy) as legacy_base, serving(catalog) as catalog_base:
        only = [arg for route in CATALOG for arg in ("--only", route)]
        sides = ("--legacy", legacy_base, "--candidate", catalog_base)
        code, report = verify_json(
            *sides, "--requests", str(recording), "--rules", str(RULES), *only
        )
    totals = report["totals"]
    assert code == 0, json.dumps(report["routes"], indent=1)[:3000]
    assert totals["mismatched"] == 0 and totals["errors"] == 0
    assert totals["compared"] >= 50
    assert {r["route"].split("/")[2] for r in report["routes"]} == {"categories", "products"}


def test_catalog_writes_leave_the_same_rows_as_the_monolith_s_through_the_cdc_mapping(
    seeded_shopco: Path, tmp_path: Path
) -> None:
    legacy_db = tmp_path / "legacy.db"
    shutil.copy(seeded_shopco, legacy_db)
    legacy_url = f"sqlite:///{legacy_db}"
    synced = synced_service(
        "catalog", legacy_url, lambda n: f"sqlite:///{tmp_path / n}.db", tmp_path
    )
    from extracted.catalog.app import create_app as create_catalog

    writes = [
        {"method": "POST", "path": "/api/categories", "body": {"name": "Verify Garden"}},
        {
            "method": "POST",
            "path": "/api/products",
            "body": {
                "sku": "VERIFY-1",
                "name": "Rake",
                "category_id": 1,
                "price_cents": 1299,
                "stock": [{"warehouse_id": 1, "quantity": 5}],
            },
        },
        {
            "method": "PATCH",
            "path": "/api/products/3",
            "body": {"name": "Renamed", "active": False},
        },
        {"method": "GET", "path": "/api/products/3"},
    ]
    recording = tmp_path / "writes.jsonl"
    recording.write_text("".join(json.dumps(w) + "\n" for w in writes), encoding="utf-8")
    legacy = create_app(MonolithConfig(database_url=legacy_url, log_level="WARNING"))
    catalog = create_catalog(synced.config())
    mapping = RULES.with_name("cdc.toml")
    with serving(legacy) as legacy_base, serving(catalog) as catalog_base:
        code, report = verify_json(
            *("--legacy", legacy_base, "--candidate", catalog_base, "--requests", str(recording)),
            *("--rules", str(RULES), "--writes", "state", "--mapping", str(mapping)),
            *("--legacy-db", legacy_url, "--candidate-db", synced.url),
            *("--state-ignore", "created_at", "--state-ignore", "valid_from"),
        )
    assert code == 0, json.dumps(report["routes"], indent=1)[:3000]
    assert report["totals"]["compared"] == 4
