"""The catalog service answers every catalog endpoint exactly as the monolith does.

Both sides hold the same data (the service's copy came by CDC), get the same requests
in the same order, and must give the same status, content type, Location and JSON
(timestamps of rows created during the test compared by type only).
"""

from __future__ import annotations

from .contract import assert_same

READS = [
    "/api/categories",
    "/api/categories?page=2&per_page=5",
    "/api/products",
    "/api/products?page=3&per_page=7",
    "/api/products?q=LAMP",
    "/api/products?q=e&category_id=3&active=true",
    "/api/products?active=false",
    "/api/products?min_price=1000&max_price=5000&per_page=100",
    "/api/products?min_price=999999999",
    "/api/products/1",
    "/api/products/57",
    "/api/products/200",
]
BAD_READS = [
    "/api/products/99999",
    "/api/products?page=0",
    "/api/products?per_page=101",
    "/api/products?category_id=x",
    "/api/products?active=maybe",
    "/api/categories?page=abc",
    "/api/products/abc",
]


def test_reads_answer_like_the_monolith(catalog):
    for path in READS + BAD_READS:
        assert_same(catalog, "GET", path)


def test_categories_are_created_like_the_monolith(catalog):
    created = assert_same(catalog, "POST", "/api/categories", json={"name": "Garden Tools"})
    assert created["slug"] == "garden-tools"
    child = {"name": "Hoses", "parent_id": created["id"]}
    assert_same(catalog, "POST", "/api/categories", json=child)
    assert_same(catalog, "POST", "/api/categories", json={"name": "garden tools!"})  # slug taken
    assert_same(catalog, "POST", "/api/categories", json={"name": "Orphans", "parent_id": 9999})
    assert_same(catalog, "GET", "/api/categories?per_page=100")


def test_products_are_created_updated_and_deleted_like_the_monolith(catalog):
    new = {
        "sku": "SVC-1",
        "name": "Service Lamp",
        "category_id": 2,
        "price_cents": 1999,
        "stock": [{"warehouse_id": 1, "quantity": 5}, {"warehouse_id": 2, "quantity": 3}],
    }
    product = assert_same(catalog, "POST", "/api/products", json=new)
    assert product["stock"] == 8 and product["price_cents"] == 1999
    path = f"/api/products/{product['id']}"
    assert_same(catalog, "GET", path, created=True)
    assert_same(catalog, "PATCH", path, created=True, json={"price_cents": 2499, "active": False})
    assert_same(
        catalog, "PATCH", path, created=True, json={"price_cents": 2499}
    )  # same price: no new row
    assert_same(
        catalog, "PATCH", path, created=True, json={"stock": [{"warehouse_id": 1, "quantity": 0}]}
    )
    assert_same(catalog, "PATCH", path, created=True, json={"name": "Lamp II", "description": None})
    assert_same(catalog, "GET", "/api/products?active=false&per_page=100", created=True)
    assert_same(catalog, "GET", "/api/products?min_price=2499&max_price=2499", created=True)
    assert_same(catalog, "DELETE", path)
    assert_same(catalog, "GET", path)
    assert_same(catalog, "DELETE", path)


def test_a_product_that_was_ordered_cannot_be_deleted(catalog):
    assert_same(catalog, "DELETE", "/api/products/1")


BAD_PRODUCTS = [
    {},
    {"sku": "bad sku", "name": " ", "category_id": "2", "price_cents": 0, "active": "yes"},
    {"sku": "OK-1", "name": "x", "category_id": 2, "price_cents": 10, "colour": "red"},
    {"sku": "OK-1", "name": "x", "category_id": 2, "price_cents": 10, "stock": [{"q": 1}]},
    {"sku": "OK-1", "name": "x", "category_id": 2, "price_cents": 10,
     "stock": [{"warehouse_id": 77, "quantity": 1}]},
    {"sku": "OK-1", "name": "x", "category_id": 9999, "price_cents": 10},
]  # fmt: skip


def test_invalid_products_get_the_monolith_errors(catalog):
    for body in BAD_PRODUCTS:
        assert_same(catalog, "POST", "/api/products", json=body)


def test_invalid_json_and_conflicts_get_the_monolith_errors(catalog):
    taken = catalog.monolith.get("/api/products/2").get_json()["sku"]
    duplicate = {"sku": taken, "name": "x", "category_id": 2, "price_cents": 10}
    assert_same(catalog, "POST", "/api/products", json=duplicate)
    assert_same(catalog, "PATCH", "/api/products/3", json={"sku": taken})
    assert_same(catalog, "PATCH", "/api/products/3", json={})
    assert_same(catalog, "PATCH", "/api/products/3", json={"category_id": 9999})
    assert_same(catalog, "PATCH", "/api/products/99999", json={"name": "x"})
    assert_same(catalog, "POST", "/api/products", data="{not json", content_type="application/json")
    assert_same(catalog, "POST", "/api/categories", data="[1, 2]", content_type="application/json")
    assert_same(catalog, "POST", "/api/categories", data="name=x")
    assert_same(catalog, "PUT", "/api/products/3", json={"name": "x"})
