"""Once the reviews' writes move to the service, reverse sync keeps the monolith's readers right.

The router sends POST/DELETE /api/reviews to the service; the monolith still reads
`reviews` (a product's average rating, a customer's deletion). The generic CDC runs the
other way, service -> monolith, with no mapping (the service's `reviews` has the
monolith's columns), and the origin marker keeps forward and reverse sync from looping.
"""

from __future__ import annotations

import threading

import pytest

from cdc.bootstrap import open_pipeline
from cdc.config import CdcConfig
from extracted._service.config import ServiceConfig
from extracted.reviews.app import create_app
from monolith.app import create_app as create_monolith
from monolith.config import MonolithConfig

from .conftest import service_copy

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _reverse_sync(service_url: str, monolith_url: str, tmp_path) -> None:
    config = CdcConfig(
        source=service_url, tables=("reviews",), sink=monolith_url, prefix="reviews_back",
        transport=f"embedded:{tmp_path / 'back.db'}", pipeline="reviews-back",
    )  # fmt: skip
    from cdc.bootstrap import capture_from

    capture = capture_from(config)
    capture.setup(["reviews"])
    capture.close()
    with open_pipeline(config) as flow:
        flow.run(threading.Event(), until_idle=True)


def test_reviews_written_by_the_service_reach_the_monolith(
    monolith_url, databases, goldens, tmp_path
):
    service_url = service_copy("reviews", databases, goldens, tmp_path)
    service = create_app(ServiceConfig(name="reviews", database_url=service_url)).test_client()
    legacy = create_monolith(MonolithConfig(database_url=monolith_url, log_level="WARNING"))
    monolith = legacy.test_client()
    _reverse_sync(service_url, monolith_url, tmp_path)  # nothing new yet: a snapshot of equals
    before = monolith.get("/api/products/11").get_json()
    taken = {r["customer_id"] for r in service.get("/api/reviews?product_id=11&per_page=100")
             .get_json()["items"]}  # fmt: skip
    customer = next(c for c in range(1, 300) if c not in taken)
    new = {"product_id": 11, "customer_id": customer, "rating": 1, "title": "Broke in a week"}
    created = service.post("/api/reviews", json=new).get_json()
    listed = service.get("/api/reviews?per_page=100").get_json()["items"]
    old = next(r for r in listed if r["product_id"] != 11)
    assert service.delete(f"/api/reviews/{old['id']}").status_code == 204
    _reverse_sync(service_url, monolith_url, tmp_path)
    after = monolith.get("/api/products/11").get_json()
    assert after["review_count"] == before["review_count"] + 1
    assert (
        monolith.get("/api/reviews?per_page=100").get_json()
        == service.get("/api/reviews?per_page=100").get_json()
    )
    assert created["id"] == monolith.get("/api/reviews?per_page=1").get_json()["items"][0]["id"]
    legacy.extensions["shopco"].engine.dispose()
