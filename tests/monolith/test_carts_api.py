"""Carts context: items priced from the catalog; only open carts change."""


def test_cart_totals_use_current_catalog_prices(api):
    customer = api.customer()
    a, b = api.product(price_cents=250), api.product(price_cents=1000)
    cart = api.cart_with(customer["id"], {a["id"]: 2, b["id"]: 1})
    assert cart["total_cents"] == 1500
    api.ok("PATCH", f"/api/products/{a['id']}", {"price_cents": 300})
    assert api.ok("GET", f"/api/carts/{cart['id']}")["total_cents"] == 1600


def test_adding_the_same_product_twice_increases_the_quantity(api):
    customer, product = api.customer(), api.product()
    cart = api.cart_with(customer["id"], {product["id"]: 1})
    cart = api.ok(
        "POST", f"/api/carts/{cart['id']}/items", {"product_id": product["id"], "quantity": 2}
    )
    assert [i["quantity"] for i in cart["items"]] == [3]


def test_items_can_be_updated_and_removed(api):
    customer, product = api.customer(), api.product(price_cents=100)
    cart = api.cart_with(customer["id"], {product["id"]: 1})
    item_id = cart["items"][0]["id"]
    cart = api.ok("PATCH", f"/api/carts/{cart['id']}/items/{item_id}", {"quantity": 5})
    assert cart["total_cents"] == 500
    cart = api.ok("DELETE", f"/api/carts/{cart['id']}/items/{item_id}")
    assert cart["items"] == [] and cart["total_cents"] == 0


def test_cart_for_unknown_customer_or_inactive_product_is_unprocessable(client, api):
    assert client.post("/api/carts", json={"customer_id": 999}).status_code == 422
    customer = api.customer()
    retired = api.product(active=False)
    cart = api.ok("POST", "/api/carts", {"customer_id": customer["id"]})
    response = client.post(
        f"/api/carts/{cart['id']}/items", json={"product_id": retired["id"], "quantity": 1}
    )
    assert response.status_code == 422


def test_item_quantity_out_of_range_is_a_validation_error(client, api):
    customer, product = api.customer(), api.product()
    cart = api.ok("POST", "/api/carts", {"customer_id": customer["id"]})
    response = client.post(
        f"/api/carts/{cart['id']}/items", json={"product_id": product["id"], "quantity": 100}
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["details"] == [
        {"field": "quantity", "message": "must be at most 99"}
    ]


def test_item_of_another_cart_is_not_found(client, api):
    customer, product = api.customer(), api.product()
    first = api.cart_with(customer["id"], {product["id"]: 1})
    second = api.ok("POST", "/api/carts", {"customer_id": customer["id"]})
    item_id = first["items"][0]["id"]
    assert client.delete(f"/api/carts/{second['id']}/items/{item_id}").status_code == 404
    assert client.get("/api/carts/999").status_code == 404


def test_checked_out_cart_no_longer_changes(client, api):
    customer, product = api.customer(), api.product(stock={1: 5})
    cart = api.cart_with(customer["id"], {product["id"]: 1})
    api.checkout(cart["id"])
    response = client.post(
        f"/api/carts/{cart['id']}/items", json={"product_id": product["id"], "quantity": 1}
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "cart_not_open"
