"""Customers context: CRUD, search, validation and conflicts."""


def test_created_customer_can_be_read_back_with_addresses_and_order_stats(api):
    customer = api.customer(name="Ann Smit", phone="+31 6 1")
    api.address(customer["id"])
    body = api.ok("GET", f"/api/customers/{customer['id']}")
    assert body["name"] == "Ann Smit"
    assert body["addresses"][0]["country"] == "NL"
    assert body["order_count"] == 0 and body["lifetime_value_cents"] == 0


def test_customer_list_searches_by_name_or_email_and_paginates(api):
    for name in ("Ann Smit", "Bob Bos", "Anna Kok"):
        api.customer(name=name)
    found = api.ok("GET", "/api/customers?q=ann&per_page=1")
    assert found["total"] == 2 and len(found["items"]) == 1
    second = api.ok("GET", "/api/customers?q=ann&per_page=1&page=2")
    assert second["items"][0]["id"] != found["items"][0]["id"]


def test_customer_with_invalid_fields_is_rejected_with_per_field_details(client, api):
    response = client.post("/api/customers", json={"email": "not-an-email", "name": "", "age": 3})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    fields = {d["field"]: d["message"] for d in error["details"]}
    assert fields == {
        "email": "has an invalid format",
        "name": "must not be blank",
        "age": "is not a known field",
    }


def test_duplicate_email_is_a_conflict_regardless_of_case(client, api):
    api.customer(email="dup@example.com")
    response = client.post("/api/customers", json={"email": "DUP@example.com", "name": "X"})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "duplicate_email"


def test_customer_update_changes_only_given_fields(api):
    customer = api.customer(name="Old")
    updated = api.ok("PATCH", f"/api/customers/{customer['id']}", {"name": "New"})
    assert updated["name"] == "New" and updated["email"] == customer["email"]


def test_empty_update_is_rejected(client, api):
    customer = api.customer()
    response = client.patch(f"/api/customers/{customer['id']}", json={})
    assert response.status_code == 400


def test_deleting_a_customer_without_orders_removes_it_and_its_addresses(client, api):
    customer = api.customer()
    api.address(customer["id"])
    assert client.delete(f"/api/customers/{customer['id']}").status_code == 204
    assert client.get(f"/api/customers/{customer['id']}").status_code == 404


def test_deleting_a_customer_with_orders_is_a_conflict(client, api):
    order, _ = api.order()
    response = client.delete(f"/api/customers/{order['customer']['id']}")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "customer_has_orders"


def test_address_list_and_unknown_customer(client, api):
    customer = api.customer()
    api.address(customer["id"])
    assert api.ok("GET", f"/api/customers/{customer['id']}/addresses")["total"] == 1
    response = client.post(
        "/api/customers/999/addresses",
        json={"line1": "x", "city": "y", "postcode": "1", "country": "NL"},
    )
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
