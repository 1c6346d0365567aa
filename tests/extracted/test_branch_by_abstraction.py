"""ShopCo's seam for the reviews: with `reviews_service_url` on, deleting a customer or a
product deletes their reviews through the reviews service, and the handover's check
counts those endpoints as switched."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from extracted.reviews.app import create_app as create_reviews
from handover.plan import CONTEXTS, remaining_writers
from monolith.app import create_app as create_monolith
from monolith.config import MonolithConfig
from monolith.seams import through_service

from .conftest import synced_service

on_sqlite = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

WRITERS = {  # what `strangler analyze` reports for ShopCo's writers of `reviews`
    "POST /api/reviews": {"writes": ["reviews"]},
    "DELETE /api/reviews/<int:review_id>": {"writes": ["reviews"]},
    "DELETE /api/customers/<int:customer_id>": {"writes": ["customers", "reviews"]},
    "DELETE /api/products/<int:product_id>": {"writes": ["products", "prices", "reviews"]},
}
REVIEW_ROUTES = [("/api/reviews", ()), ("/api/reviews/{id}", ())]


def test_the_check_names_the_writers_until_the_switch_is_on():
    off = through_service("reviews", MonolithConfig())
    reasons = remaining_writers(WRITERS, CONTEXTS["reviews"].owned, REVIEW_ROUTES, off)
    assert [r.split("'")[1] for r in reasons] == [
        "DELETE /api/customers/<int:customer_id>",
        "DELETE /api/products/<int:product_id>",
    ]
    on = through_service("reviews", MonolithConfig(reviews_service_url="http://reviews:5002"))
    assert remaining_writers(WRITERS, CONTEXTS["reviews"].owned, REVIEW_ROUTES, on) == []


@pytest.fixture
def shop(monolith_url, databases, tmp_path) -> Iterator[tuple]:
    legacy = create_monolith(MonolithConfig(database_url=monolith_url, log_level="WARNING"))
    client = legacy.test_client()
    customer = client.post("/api/customers", json={"email": "gone@example.com", "name": "Gone"})
    cid = customer.get_json()["id"]
    for product in (3, 4):
        review = {"product_id": product, "customer_id": cid, "rating": 4, "title": "Fine"}
        assert client.post("/api/reviews", json=review).status_code == 201
    synced = synced_service("reviews", monolith_url, databases.new, tmp_path)
    service = create_reviews(synced.config())
    server = make_server("127.0.0.1", 0, service, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield monolith_url, cid, f"http://127.0.0.1:{server.server_port}", service.test_client()
    server.shutdown()
    legacy.extensions["shopco"].engine.dispose()


def _monolith(url: str, reviews: str):
    config = MonolithConfig(database_url=url, log_level="WARNING", reviews_service_url=reviews)
    return create_monolith(config).test_client()


@on_sqlite
def test_deleting_a_customer_deletes_its_reviews_through_the_service(shop):
    monolith_url, cid, reviews_url, service = shop
    assert len(service.get(f"/api/reviews?customer_id={cid}").get_json()["items"]) == 2
    monolith = _monolith(monolith_url, reviews_url)
    assert monolith.delete(f"/api/customers/{cid}").status_code == 204
    assert service.get(f"/api/reviews?customer_id={cid}").get_json()["items"] == []
    assert monolith.get(f"/api/reviews?customer_id={cid}").get_json()["items"] == []


@on_sqlite
def test_a_service_that_cannot_be_reached_leaves_the_customer_in_place(shop):
    monolith_url, cid, _, service = shop
    monolith = _monolith(monolith_url, "http://127.0.0.1:9")
    answer = monolith.delete(f"/api/customers/{cid}")
    assert answer.status_code == 503
    assert answer.get_json()["error"]["code"] == "reviews_service_unavailable"
    assert monolith.get(f"/api/customers/{cid}").status_code == 200
    assert len(service.get(f"/api/reviews?customer_id={cid}").get_json()["items"]) == 2
