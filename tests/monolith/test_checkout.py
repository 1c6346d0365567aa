"""Checkout: one transaction across carts, inventory, orders, payments, notifications, audit."""

from sqlalchemy import func, select

from monolith.models import AuditEntry, Notification, Order, OrderLine, Payment, StockMovement


def _counts(engine):
    with engine.connect() as conn:
        return {
            model.__tablename__: conn.scalar(select(func.count()).select_from(model))
            for model in (Order, OrderLine, Payment, Notification, StockMovement, AuditEntry)
        }


def test_checkout_writes_order_lines_stock_payment_and_notification(api):
    customer = api.customer()
    address = api.address(customer["id"])
    a, b = (
        api.product(price_cents=500, stock={1: 2, 2: 3}),
        api.product(price_cents=100, stock={2: 9}),
    )
    cart = api.cart_with(customer["id"], {a["id"]: 4, b["id"]: 1})
    order = api.checkout(cart["id"], shipping_address_id=address["id"])
    assert order["status"] == "paid" and order["total_cents"] == 2100
    assert [(line["product_id"], line["quantity"]) for line in order["lines"]] == [
        (a["id"], 4),
        (b["id"], 1),
    ]
    assert (
        order["payments"][0]["status"] == "captured"
        and order["payments"][0]["amount_cents"] == 2100
    )
    assert order["shipping_address"]["id"] == address["id"]
    assert api.ok("GET", f"/api/inventory/{a['id']}")["total"] == 1
    sales = api.ok("GET", f"/api/inventory/movements?order_id={order['id']}&reason=sale")["items"]
    assert sorted((m["product_id"], m["warehouse_id"], m["delta"]) for m in sales) == sorted(
        [(a["id"], 2, -3), (a["id"], 1, -1), (b["id"], 2, -1)]
    )
    mails = api.ok(
        "GET", f"/api/notifications?customer_id={customer['id']}&kind=order_confirmation"
    )
    assert mails["total"] == 1 and mails["items"][0]["recipient"] == customer["email"]
    assert api.ok("GET", f"/api/carts/{cart['id']}")["status"] == "checked_out"
    assert api.ok("GET", f"/api/audit-log?entity=order&entity_id={order['id']}")["total"] == 1


def test_insufficient_stock_is_a_conflict_and_nothing_is_written(client, api, engine):
    customer = api.customer()
    plenty, scarce = api.product(stock={1: 50}), api.product(stock={1: 1, 2: 1})
    cart = api.cart_with(customer["id"], {plenty["id"]: 2, scarce["id"]: 3})
    before = _counts(engine)
    response = client.post(f"/api/carts/{cart['id']}/checkout", json={"payment_method": "card"})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "insufficient_stock"
    assert error["details"] == [
        {"field": "items[1].quantity", "product_id": scarce["id"], "requested": 3, "available": 2}
    ]
    assert _counts(engine) == before
    assert api.ok("GET", f"/api/inventory/{plenty['id']}")["total"] == 50
    assert api.ok("GET", f"/api/carts/{cart['id']}")["status"] == "open"


def test_declined_card_rolls_back_the_stock_already_taken(client, api, engine):
    customer, product = api.customer(), api.product(stock={1: 5})
    cart = api.cart_with(customer["id"], {product["id"]: 2})
    before = _counts(engine)
    response = client.post(
        f"/api/carts/{cart['id']}/checkout",
        json={"payment_method": "card", "card_token": "tok_declined"},
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "payment_declined"
    assert _counts(engine) == before
    assert api.ok("GET", f"/api/inventory/{product['id']}")["total"] == 5


def test_empty_cart_and_foreign_address_are_unprocessable(client, api):
    customer, stranger = api.customer(), api.customer()
    empty = api.ok("POST", "/api/carts", {"customer_id": customer["id"]})
    response = client.post(f"/api/carts/{empty['id']}/checkout", json={"payment_method": "card"})
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "empty_cart"
    product = api.product(stock={1: 1})
    cart = api.cart_with(customer["id"], {product["id"]: 1})
    foreign = api.address(stranger["id"])
    response = client.post(
        f"/api/carts/{cart['id']}/checkout",
        json={"payment_method": "card", "shipping_address_id": foreign["id"]},
    )
    assert response.status_code == 422


def test_checkout_requires_a_known_payment_method(client, api):
    response = client.post("/api/carts/1/checkout", json={"payment_method": "gold"})
    assert response.status_code == 400
    assert response.get_json()["error"]["details"][0]["field"] == "payment_method"


def test_second_checkout_of_the_same_cart_is_a_conflict(client, api):
    customer, product = api.customer(), api.product(stock={1: 5})
    cart = api.cart_with(customer["id"], {product["id"]: 1})
    api.checkout(cart["id"])
    response = client.post(f"/api/carts/{cart['id']}/checkout", json={"payment_method": "card"})
    assert response.status_code == 409
