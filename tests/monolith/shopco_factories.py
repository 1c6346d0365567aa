"""Build ShopCo data through the public API, so tests exercise the real write paths."""

from __future__ import annotations

import itertools
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine

from monolith.models import Warehouse

_numbers = itertools.count(1)


class Api:
    """A thin helper over the test client that asserts each setup call succeeded."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def ok(self, method: str, path: str, body: Any = None, status: int | None = None) -> Any:
        response = self.client.open(path, method=method, json=body)
        expected = status or (201 if method == "POST" else 200)
        assert response.status_code == expected, (method, path, response.get_json())
        return response.get_json()

    def customer(self, **fields: Any) -> dict[str, Any]:
        n = next(_numbers)
        body = {"email": f"user{n}@example.com", "name": f"User {n}", **fields}
        return self.ok("POST", "/api/customers", body)

    def address(self, customer_id: int) -> dict[str, Any]:
        body = {"line1": "1 Dam", "city": "Amsterdam", "postcode": "1012", "country": "NL"}
        return self.ok("POST", f"/api/customers/{customer_id}/addresses", body)

    def category(self, name: str | None = None) -> dict[str, Any]:
        return self.ok("POST", "/api/categories", {"name": name or f"Category {next(_numbers)}"})

    def product(
        self,
        price_cents: int = 1000,
        stock: dict[int, int] | None = None,
        category_id: int | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        category_id = category_id or self.category()["id"]
        body = {
            "sku": f"SKU-{next(_numbers)}",
            "name": "Widget",
            "category_id": category_id,
            "price_cents": price_cents,
            **fields,
        }
        if stock:
            body["stock"] = [{"warehouse_id": w, "quantity": q} for w, q in stock.items()]
        return self.ok("POST", "/api/products", body)

    def cart_with(self, customer_id: int, items: dict[int, int]) -> dict[str, Any]:
        cart = self.ok("POST", "/api/carts", {"customer_id": customer_id})
        for product_id, quantity in items.items():
            cart = self.ok(
                "POST",
                f"/api/carts/{cart['id']}/items",
                {"product_id": product_id, "quantity": quantity},
            )
        return cart

    def checkout(self, cart_id: int, **fields: Any) -> dict[str, Any]:
        return self.ok(
            "POST", f"/api/carts/{cart_id}/checkout", {"payment_method": "card", **fields}
        )

    def order(self, quantity: int = 1, stock: int = 10) -> tuple[dict[str, Any], dict[str, Any]]:
        """Place a paid order for a fresh customer and product; return (order, product)."""
        customer = self.customer()
        product = self.product(stock={1: stock})
        cart = self.cart_with(customer["id"], {product["id"]: quantity})
        return self.checkout(cart["id"]), product


def add_warehouses(engine: Engine, *codes: str) -> list[int]:
    """Create warehouses directly: the API has no warehouse writes (they are reference data)."""
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        rows = [Warehouse(code=code, name=f"{code} hub", city=code.title()) for code in codes]
        session.add_all(rows)
        session.commit()
        return [w.id for w in rows]
