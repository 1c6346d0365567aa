"""Inventory context: warehouses, stock levels and adjustments."""


def test_warehouses_list_units_on_hand(api):
    api.product(stock={1: 5, 2: 3})
    warehouses = api.ok("GET", "/api/warehouses")["items"]
    assert [(w["code"], w["units"]) for w in warehouses] == [("AMS", 5), ("RTM", 3)]


def test_stock_levels_filter_by_warehouse_and_threshold(api):
    low = api.product(stock={1: 2})
    api.product(stock={1: 50, 2: 1})
    below = api.ok("GET", "/api/inventory?warehouse_id=1&below=10")
    assert [(lv["product_id"], lv["warehouse_code"]) for lv in below["items"]] == [
        (low["id"], "AMS")
    ]


def test_restock_adjustment_raises_the_level_and_records_a_movement(api):
    product = api.product(stock={1: 2})
    body = api.ok(
        "POST",
        "/api/inventory/adjustments",
        {"product_id": product["id"], "warehouse_id": 2, "delta": 10, "reason": "restock"},
    )
    assert body["level"]["quantity"] == 10 and body["movement"]["delta"] == 10
    assert api.ok("GET", f"/api/inventory/{product['id']}")["total"] == 12


def test_adjustment_below_zero_is_a_conflict_and_changes_nothing(client, api):
    product = api.product(stock={1: 2})
    response = client.post(
        "/api/inventory/adjustments",
        json={"product_id": product["id"], "warehouse_id": 1, "delta": -3, "reason": "damage"},
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "insufficient_stock"
    assert api.ok("GET", f"/api/inventory/{product['id']}")["total"] == 2
    moves = api.ok("GET", f"/api/inventory/movements?product_id={product['id']}")
    assert [m["reason"] for m in moves["items"]] == ["initial"]


def test_adjustment_validation_and_unknown_references(client, api):
    bad = client.post(
        "/api/inventory/adjustments", json={"product_id": "1", "delta": 0, "reason": "theft"}
    )
    assert bad.status_code == 400
    fields = {d["field"] for d in bad.get_json()["error"]["details"]}
    assert fields == {"product_id", "warehouse_id", "reason"}
    zero = client.post(
        "/api/inventory/adjustments",
        json={"product_id": 1, "warehouse_id": 1, "delta": 0, "reason": "restock"},
    )
    assert zero.status_code == 400
    missing = client.post(
        "/api/inventory/adjustments",
        json={"product_id": 999, "warehouse_id": 1, "delta": 1, "reason": "restock"},
    )
    assert missing.status_code == 404


def test_bad_query_parameter_names_the_parameter(client, api):
    response = client.get("/api/inventory?below=many")
    assert response.status_code == 400
    assert response.get_json()["error"]["details"] == [
        {"field": "below", "message": "must be an integer"}
    ]
    assert client.get("/api/inventory/movements?reason=theft").status_code == 400
