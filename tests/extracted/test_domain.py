"""The services' pure cores, with plain values: no database, no Flask."""

from __future__ import annotations

from datetime import datetime

import pytest

from extracted._service.errors import ValidationFailed
from extracted._service.validation import validate
from extracted.catalog.domain import (
    PRODUCT_FIELDS,
    Price,
    Product,
    Rating,
    StockEntry,
    parse_stock,
    price_changes,
    product_detail_json,
    product_json,
    slugify,
)
from extracted.reviews.domain import REVIEW_FIELDS, Review, listed_json

LAMP = Product(7, "LMP-1", "Lamp", None, 2, True, datetime(2026, 1, 2, 3, 4, 5, 6))


def test_a_category_slug_keeps_letters_and_digits_joined_by_dashes():
    assert slugify("  Garden & Tools 2!") == "garden-tools-2"


def test_stock_entries_are_parsed_and_every_bad_one_is_named():
    assert parse_stock([{"warehouse_id": 1, "quantity": 0}]) == [StockEntry(1, 0)]
    with pytest.raises(ValidationFailed) as caught:
        parse_stock(
            [
                {"warehouse_id": 1},
                {"warehouse_id": True, "quantity": 1},
                {"warehouse_id": 2, "quantity": -1},
                {"warehouse_id": 3, "quantity": 3},
            ]
        )
    assert [d["field"] for d in caught.value.details] == ["stock[0]", "stock[1]", "stock[2]"]


def test_a_new_price_opens_only_when_the_amount_changes():
    assert price_changes(None, 100)
    assert price_changes(Price(7, 100), 150)
    assert not price_changes(Price(7, 100), 100)


def test_a_product_answers_in_the_monolith_s_shape():
    assert list(product_json(LAMP, Price(7, 1999), None)) == [
        "id", "sku", "name", "description", "category_id", "active", "created_at",
        "price_cents", "currency", "stock",
    ]  # fmt: skip
    assert product_json(LAMP, None, 3)["price_cents"] is None
    detail = product_detail_json(LAMP, None, 0, Rating(4.6666, 3))
    assert (detail["average_rating"], detail["review_count"]) == (4.67, 3)
    assert detail["created_at"] == "2026-01-02T03:04:05.000006"


def test_validation_names_every_problem_with_the_monolith_s_words():
    with pytest.raises(ValidationFailed) as caught:
        validate({"sku": "a b", "price_cents": 0, "colour": 1}, PRODUCT_FIELDS)
    assert caught.value.details == [
        {"field": "colour", "message": "is not a known field"},
        {"field": "sku", "message": "has an invalid format"},
        {"field": "name", "message": "is required"},
        {"field": "category_id", "message": "is required"},
        {"field": "price_cents", "message": "must be at least 1"},
    ]
    with pytest.raises(ValidationFailed, match="the request changes nothing"):
        validate({}, PRODUCT_FIELDS, partial=True)


def test_a_listed_review_carries_the_names_of_its_product_and_customer():
    review = Review(1, 7, 9, 5, "Bright", None, True, datetime(2026, 1, 1))
    body = listed_json(review, "Lamp", "Ada")
    assert body["product_name"] == "Lamp" and body["customer_name"] == "Ada"
    assert validate({"product_id": 7, "customer_id": 9, "rating": 5, "title": " Bright "},
                    REVIEW_FIELDS)["title"] == "Bright"  # fmt: skip
