"""The sales report (raw SQL) and the audit log."""


def test_sales_report_groups_revenue_by_category_and_skips_cancelled_orders(client, api):
    books, toys = api.category("Books"), api.category("Toys")
    customer = api.customer()
    book = api.product(price_cents=1000, stock={1: 10}, category_id=books["id"])
    toy = api.product(price_cents=300, stock={1: 10}, category_id=toys["id"])
    api.checkout(api.cart_with(customer["id"], {book["id"]: 2, toy["id"]: 1})["id"])
    cancelled = api.checkout(api.cart_with(customer["id"], {toy["id"]: 5})["id"])
    api.ok("POST", f"/api/orders/{cancelled['id']}/cancel", status=200)
    report = api.ok("GET", "/api/reports/sales")
    assert report["group_by"] == "category"
    assert report["groups"] == [
        {"key": "Books", "orders": 1, "units": 2, "revenue_cents": 2000},
        {"key": "Toys", "orders": 1, "units": 1, "revenue_cents": 300},
    ]
    assert report["total_revenue_cents"] == 2300


def test_sales_report_by_day_and_date_window(api):
    api.order(quantity=2)
    by_day = api.ok("GET", "/api/reports/sales?group_by=day")
    assert len(by_day["groups"]) == 1 and by_day["groups"][0]["units"] == 2
    assert len(by_day["groups"][0]["key"]) == 10  # an ISO date on both backends
    empty = api.ok("GET", "/api/reports/sales?from=2001-01-01&to=2001-02-01")
    assert empty["groups"] == [] and empty["total_revenue_cents"] == 0


def test_sales_report_rejects_bad_parameters(client, api):
    assert client.get("/api/reports/sales?group_by=week").status_code == 400
    bad = client.get("/api/reports/sales?from=yesterday")
    assert bad.get_json()["error"]["details"][0]["field"] == "from"
    assert client.get("/api/reports/sales?from=2026-02-01&to=2026-01-01").status_code == 400


def test_audit_log_records_writes_with_the_actor(client, api):
    client.post("/api/customers", json={"email": "a@x.io", "name": "A"}, headers={"X-Actor": "ops"})
    entries = api.ok("GET", "/api/audit-log?entity=customer&action=customer.created")["items"]
    assert [(e["actor"], e["entity"]) for e in entries] == [("ops", "customer")]
