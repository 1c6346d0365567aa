"""Orders, payments and shipments: the order lifecycle after checkout."""


def test_order_listing_joins_customers_and_products_and_filters(api):
    first, product = api.order(quantity=2)
    second, _ = api.order()
    listed = api.ok("GET", "/api/orders")
    assert [o["id"] for o in listed["items"]] == [second["id"], first["id"]]
    row = listed["items"][1]
    assert row["customer"]["email"] == first["customer"]["email"]
    assert row["lines"][0]["product_name"] == "Widget" and row["lines"][0]["sku"] == product["sku"]
    assert api.ok("GET", f"/api/orders?product_id={product['id']}")["total"] == 1
    assert api.ok("GET", f"/api/orders?customer_id={first['customer']['id']}")["total"] == 1
    assert api.ok("GET", f"/api/orders?q={first['customer']['name']}")["total"] == 1
    assert api.ok("GET", "/api/orders?status=cancelled")["total"] == 0


def test_cancelling_a_paid_order_restocks_refunds_and_notifies(api):
    order, product = api.order(quantity=3, stock=5)
    cancelled = api.ok("POST", f"/api/orders/{order['id']}/cancel", status=200)
    assert cancelled["status"] == "cancelled"
    assert cancelled["payments"][0]["status"] == "refunded"
    assert api.ok("GET", f"/api/inventory/{product['id']}")["total"] == 5
    mails = api.ok(
        "GET", f"/api/notifications?kind=order_cancelled&customer_id={order['customer']['id']}"
    )
    assert mails["total"] == 1


def test_shipped_order_cannot_be_cancelled(client, api):
    order, _ = api.order()
    api.ok("POST", "/api/shipments", {"order_id": order["id"], "warehouse_id": 1, "carrier": "dhl"})
    response = client.post(f"/api/orders/{order['id']}/cancel")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "order_not_cancellable"
    assert client.post("/api/orders/999/cancel").status_code == 404


def test_shipment_moves_the_order_through_shipped_to_delivered(api):
    order, _ = api.order()
    shipment = api.ok(
        "POST", "/api/shipments", {"order_id": order["id"], "warehouse_id": 2, "carrier": "ups"}
    )
    assert shipment["status"] == "label_created" and shipment["tracking_number"].startswith("UPS")
    assert api.ok("GET", f"/api/orders/{order['id']}")["status"] == "shipped"
    api.ok("PATCH", f"/api/shipments/{shipment['id']}", {"status": "in_transit"})
    delivered = api.ok("PATCH", f"/api/shipments/{shipment['id']}", {"status": "delivered"})
    assert delivered["delivered_at"] is not None
    assert api.ok("GET", f"/api/orders/{order['id']}")["status"] == "delivered"
    assert api.ok("GET", f"/api/shipments?order_id={order['id']}&status=delivered")["total"] == 1


def test_shipment_rules_are_enforced(client, api):
    order, _ = api.order()
    assert (
        client.post(
            "/api/shipments", json={"order_id": 999, "warehouse_id": 1, "carrier": "dhl"}
        ).status_code
        == 422
    )
    assert (
        client.post(
            "/api/shipments", json={"order_id": order["id"], "warehouse_id": 1, "carrier": "owl"}
        ).status_code
        == 400
    )
    shipment = api.ok(
        "POST", "/api/shipments", {"order_id": order["id"], "warehouse_id": 1, "carrier": "dpd"}
    )
    again = client.post(
        "/api/shipments", json={"order_id": order["id"], "warehouse_id": 1, "carrier": "dpd"}
    )
    assert again.status_code == 409
    api.ok("PATCH", f"/api/shipments/{shipment['id']}", {"status": "delivered"})
    back = client.patch(f"/api/shipments/{shipment['id']}", json={"status": "in_transit"})
    assert back.status_code == 409 and back.get_json()["error"]["code"] == "invalid_transition"
    assert client.patch("/api/shipments/999", json={"status": "delivered"}).status_code == 404


def test_refund_marks_payment_and_order_refunded_once(client, api):
    order, _ = api.order()
    payment_id = order["payments"][0]["id"]
    listed = api.ok("GET", f"/api/payments?order_id={order['id']}&status=captured&method=card")
    assert [p["id"] for p in listed["items"]] == [payment_id]
    refunded = api.ok("POST", f"/api/payments/{payment_id}/refund", status=200)
    assert refunded["status"] == "refunded"
    assert api.ok("GET", f"/api/orders/{order['id']}")["status"] == "refunded"
    again = client.post(f"/api/payments/{payment_id}/refund")
    assert (
        again.status_code == 409 and again.get_json()["error"]["code"] == "payment_not_refundable"
    )
