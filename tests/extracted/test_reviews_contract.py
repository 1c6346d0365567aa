"""The reviews service answers every /api/reviews endpoint exactly as the monolith does."""

from __future__ import annotations

from .contract import assert_same

READS = [
    "/api/reviews",
    "/api/reviews?page=2&per_page=50",
    "/api/reviews?product_id=5",
    "/api/reviews?customer_id=7&min_rating=3",
    "/api/reviews?min_rating=5&per_page=100",
    "/api/reviews?min_rating=6",
    "/api/reviews?product_id=x",
    "/api/reviews?per_page=0",
]


def test_reads_answer_like_the_monolith(reviews):
    for path in READS:
        assert_same(reviews, "GET", path)


def test_reviews_are_created_and_deleted_like_the_monolith(reviews):
    listed = reviews.monolith.get("/api/reviews?per_page=100").get_json()["items"]
    reviewed = {(r["product_id"], r["customer_id"]) for r in listed}
    product, customer = next(
        (p, c) for p in range(1, 200) for c in range(1, 300) if (p, c) not in reviewed
    )
    new = {"product_id": product, "customer_id": customer, "rating": 4, "title": "Nice"}
    created = assert_same(reviews, "POST", "/api/reviews", json=new)
    assert_same(reviews, "POST", "/api/reviews", json=new)  # duplicate
    assert_same(reviews, "GET", f"/api/reviews?product_id={product}", created=True)
    assert_same(reviews, "DELETE", f"/api/reviews/{created['id']}")
    assert_same(reviews, "DELETE", f"/api/reviews/{created['id']}")


def test_a_buyer_s_review_is_marked_verified_like_in_the_monolith(reviews):
    order = reviews.monolith.get("/api/orders/1").get_json()
    product = order["lines"][0]["product_id"]
    reviews.both("DELETE", "/api/reviews/1")  # make room if the seed already had one
    taken = reviews.monolith.get(f"/api/reviews?product_id={product}&per_page=100").get_json()
    for item in taken["items"]:
        if item["customer_id"] == order["customer_id"]:
            reviews.both("DELETE", f"/api/reviews/{item['id']}")
    new = {"product_id": product, "customer_id": order["customer_id"], "rating": 5,
           "title": "Bought it", "body": None}  # fmt: skip
    assert_same(reviews, "POST", "/api/reviews", json=new)


BAD = [
    {},
    {"product_id": 1, "customer_id": 1, "rating": 9, "title": ""},
    {"product_id": 99999, "customer_id": 1, "rating": 3, "title": "x"},
    {"product_id": 1, "customer_id": 99999, "rating": 3, "title": "x"},
    {"product_id": 1, "customer_id": 1, "rating": 3, "title": "x", "stars": 5},
]


def test_invalid_reviews_get_the_monolith_errors(reviews):
    for body in BAD:
        assert_same(reviews, "POST", "/api/reviews", json=body)
    assert_same(reviews, "POST", "/api/reviews", data="{", content_type="application/json")
    assert_same(reviews, "DELETE", "/api/reviews/99999")
    assert_same(reviews, "PATCH", "/api/reviews/1", json={"rating": 1})
