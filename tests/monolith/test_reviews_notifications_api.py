"""Reviews and the notification outbox."""


def test_review_of_a_bought_product_is_a_verified_purchase(api):
    order, product = api.order()
    review = api.ok(
        "POST",
        "/api/reviews",
        {
            "product_id": product["id"],
            "customer_id": order["customer"]["id"],
            "rating": 5,
            "title": "Love it",
        },
    )
    assert review["verified_purchase"] is True
    other = api.customer()
    unverified = api.ok(
        "POST",
        "/api/reviews",
        {
            "product_id": product["id"],
            "customer_id": other["id"],
            "rating": 2,
            "title": "Meh",
            "body": "Saw it in a shop",
        },
    )
    assert unverified["verified_purchase"] is False
    listed = api.ok("GET", f"/api/reviews?product_id={product['id']}&min_rating=4")
    assert [(r["id"], r["customer_name"]) for r in listed["items"]] == [
        (review["id"], order["customer"]["name"])
    ]


def test_review_rules(client, api):
    customer, product = api.customer(), api.product()
    body = {"product_id": product["id"], "customer_id": customer["id"], "rating": 6, "title": ""}
    bad = client.post("/api/reviews", json=body)
    assert {d["field"] for d in bad.get_json()["error"]["details"]} == {"rating", "title"}
    body.update(rating=3, title="ok")
    api.ok("POST", "/api/reviews", body)
    assert client.post("/api/reviews", json=body).status_code == 409
    assert client.post("/api/reviews", json={**body, "product_id": 999}).status_code == 422


def test_deleted_review_is_gone(client, api):
    customer, product = api.customer(), api.product()
    review = api.ok(
        "POST",
        "/api/reviews",
        {"product_id": product["id"], "customer_id": customer["id"], "rating": 3, "title": "ok"},
    )
    assert client.delete(f"/api/reviews/{review['id']}").status_code == 204
    assert client.delete(f"/api/reviews/{review['id']}").status_code == 404


def test_dispatch_sends_queued_mail_oldest_first_up_to_the_limit(api):
    first, second = api.customer(), api.customer()
    assert api.ok("GET", "/api/notifications?status=queued")["total"] == 2
    sent = api.ok("POST", "/api/notifications/dispatch", {"limit": 1}, status=200)
    assert sent["dispatched"] == 1
    mails = api.ok("GET", "/api/notifications?status=sent")["items"]
    assert [m["recipient"] for m in mails] == [first["email"]]
    assert api.ok("POST", "/api/notifications/dispatch", {}, status=200)["dispatched"] == 1
    assert second["email"] in [
        m["recipient"] for m in api.ok("GET", "/api/notifications?kind=welcome")["items"]
    ]


def test_dispatch_limit_is_validated(client, api):
    response = client.post("/api/notifications/dispatch", json={"limit": 0})
    assert response.status_code == 400


def test_dispatch_without_a_body_sends_everything_queued(client, api):
    api.customer()
    response = client.post("/api/notifications/dispatch")
    assert response.status_code == 200 and response.get_json()["dispatched"] == 1
