"""Concurrent checkouts through the threaded server never oversell and never fail with 5xx."""

import http.client
import json
import threading
from urllib.parse import urlsplit

from .live_server import serving

BUYERS = 8
STOCK = 5


def _post(base_url: str, path: str, body: dict) -> tuple[int, dict]:
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_concurrent_checkouts_sell_exactly_the_stock_there_is(app, api):
    product = api.product(stock={1: 3, 2: 2})
    carts = [api.cart_with(api.customer()["id"], {product["id"]: 1})["id"] for _ in range(BUYERS)]
    statuses: list[int] = []
    start = threading.Barrier(BUYERS)

    def buy(cart_id: int) -> None:
        start.wait()
        status, _ = _post(base_url, f"/api/carts/{cart_id}/checkout", {"payment_method": "card"})
        statuses.append(status)

    with serving(app) as base_url:
        threads = [threading.Thread(target=buy, args=(cart,)) for cart in carts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert sorted(statuses) == [201] * STOCK + [409] * (BUYERS - STOCK)
    assert api.ok("GET", f"/api/inventory/{product['id']}")["total"] == 0
    sales = api.ok("GET", f"/api/inventory/movements?product_id={product['id']}&reason=sale")
    assert sum(m["delta"] for m in sales["items"]) == -STOCK
