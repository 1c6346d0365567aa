"""Catalog context: categories and products; the product admin writes inventory too."""


def test_product_is_created_with_price_and_initial_stock_in_inventory(api):
    product = api.product(price_cents=1299, stock={1: 5, 2: 7})
    assert product["price_cents"] == 1299 and product["stock"] == 12
    levels = api.ok("GET", f"/api/inventory/{product['id']}")
    assert levels["total"] == 12
    movements = api.ok("GET", f"/api/inventory/movements?product_id={product['id']}")
    assert {m["reason"] for m in movements["items"]} == {"initial"}


def test_product_list_filters_by_search_category_and_price(api):
    books = api.category("Books")
    api.product(name="Red Novel", price_cents=500, category_id=books["id"])
    api.product(name="Blue Novel", price_cents=2500, category_id=books["id"])
    api.product(name="Red Lamp", price_cents=700)
    assert api.ok("GET", "/api/products?q=red")["total"] == 2
    assert api.ok("GET", f"/api/products?category_id={books['id']}")["total"] == 2
    cheap = api.ok("GET", "/api/products?max_price=1000&min_price=600")
    assert [p["name"] for p in cheap["items"]] == ["Red Lamp"]


def test_price_change_keeps_the_old_price_as_history(api):
    product = api.product(price_cents=1000)
    updated = api.ok("PATCH", f"/api/products/{product['id']}", {"price_cents": 1200})
    assert updated["price_cents"] == 1200


def test_admin_stock_update_sets_levels_and_records_a_correction(api):
    product = api.product(stock={1: 5})
    api.ok(
        "PATCH", f"/api/products/{product['id']}", {"stock": [{"warehouse_id": 1, "quantity": 9}]}
    )
    assert api.ok("GET", f"/api/inventory/{product['id']}")["total"] == 9
    moves = api.ok("GET", f"/api/inventory/movements?product_id={product['id']}&reason=correction")
    assert [m["delta"] for m in moves["items"]] == [4]


def test_product_validation_reports_every_bad_field(client, api):
    response = client.post(
        "/api/products",
        json={"sku": "lower case", "price_cents": 0, "stock": [{"warehouse_id": 1}]},
    )
    assert response.status_code == 400
    fields = {d["field"] for d in response.get_json()["error"]["details"]}
    assert fields == {"sku", "name", "category_id", "price_cents"}


def test_unknown_category_or_warehouse_is_unprocessable(client, api):
    response = client.post(
        "/api/products", json={"sku": "X-1", "name": "x", "category_id": 99, "price_cents": 100}
    )
    assert response.status_code == 422
    category = api.category()
    response = client.post(
        "/api/products",
        json={
            "sku": "X-1",
            "name": "x",
            "price_cents": 100,
            "category_id": category["id"],
            "stock": [{"warehouse_id": 42, "quantity": 1}],
        },
    )
    assert response.status_code == 422


def test_duplicate_sku_and_category_are_conflicts(client, api):
    product = api.product()
    again = client.post(
        "/api/products",
        json={
            "sku": product["sku"],
            "name": "x",
            "category_id": product["category_id"],
            "price_cents": 1,
        },
    )
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "duplicate_sku"
    api.category("Toys")
    assert client.post("/api/categories", json={"name": "Toys"}).status_code == 409


def test_category_list_counts_products(api):
    category = api.category("Garden")
    api.product(category_id=category["id"])
    listed = api.ok("GET", "/api/categories")["items"]
    assert [c["product_count"] for c in listed if c["name"] == "Garden"] == [1]


def test_product_detail_shows_rating_and_missing_product_is_404(client, api):
    product = api.product()
    customer = api.customer()
    api.ok(
        "POST",
        "/api/reviews",
        {"product_id": product["id"], "customer_id": customer["id"], "rating": 4, "title": "Good"},
    )
    body = api.ok("GET", f"/api/products/{product['id']}")
    assert body["average_rating"] == 4.0 and body["review_count"] == 1
    assert client.get("/api/products/424242").status_code == 404


def test_unordered_product_is_deleted_with_its_stock_but_ordered_one_is_kept(client, api):
    spare = api.product(stock={1: 3})
    assert client.delete(f"/api/products/{spare['id']}").status_code == 204
    assert client.get(f"/api/inventory/{spare['id']}").status_code == 404
    _, ordered = api.order()
    response = client.delete(f"/api/products/{ordered['id']}")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "product_has_orders"
