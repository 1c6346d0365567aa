"""The visits the traffic generator makes: small scenarios of ShopCo requests.

Pure: no I/O. Actions are generators that yield `Call`s and receive each `Reply`, so a
multi-step visit (register, fill a cart, check out) uses the ids the server handed out.
A run first makes one `tour` that calls every endpoint once, then picks weighted random
actions. With the same seed against the same database state, the same calls are made.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Call:
    """One HTTP request; `endpoint` is the Flask URL rule it hits (the attribution key)."""

    method: str
    endpoint: str
    path: str
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any


Visit = Generator[Call, Reply, None]


@dataclass
class State:
    """What the generator has learned about the shop so far."""

    serial: int = 0
    warehouses: list[int] = field(default_factory=list)
    categories: list[int] = field(default_factory=list)
    products: list[int] = field(default_factory=list)
    customers: list[int] = field(default_factory=list)
    paid_orders: list[int] = field(default_factory=list)
    orders: list[int] = field(default_factory=list)
    shipments: list[int] = field(default_factory=list)
    payments: list[int] = field(default_factory=list)

    def next_serial(self) -> int:
        self.serial += 1
        return self.serial


def _ids(reply: Reply) -> list[int]:
    if reply.status != 200 or not isinstance(reply.body, dict):
        return []
    return [item["id"] for item in reply.body.get("items", []) if "id" in item]


def _id(reply: Reply) -> int | None:
    ok = reply.status in (200, 201) and isinstance(reply.body, dict)
    return reply.body.get("id") if ok else None


def _pick(rng: random.Random, ids: list[int], fallback: int = 1) -> int:
    return rng.choice(ids) if ids else fallback


def _keep(ids: list[int], value: int | None, cap: int = 200) -> None:
    if value is not None:
        ids.append(value)
        del ids[:-cap]


# --- visits, one small scenario each -------------------------------------------------


def learn(state: State, rng: random.Random) -> Visit:
    """Discover reference data and a unique serial base (the audit log only grows)."""
    audit = yield Call("GET", "/api/audit-log", "/api/audit-log?per_page=1")
    if audit.status == 200:
        state.serial = max(state.serial, int(audit.body.get("total", 0)) * 10)
    state.warehouses = _ids((yield Call("GET", "/api/warehouses", "/api/warehouses"))) or [1]
    state.categories = _ids((yield Call("GET", "/api/categories", "/api/categories?per_page=100")))
    state.products = _ids(
        (yield Call("GET", "/api/products", "/api/products?active=true&per_page=100"))
    )
    state.customers = _ids(
        (yield Call("GET", "/api/customers", "/api/customers?status=active&per_page=100"))
    )


def probes(state: State, rng: random.Random) -> Visit:
    yield Call("GET", "/health", "/health")
    yield Call("GET", "/ready", "/ready")


def browse_catalog(state: State, rng: random.Random) -> Visit:
    query = rng.choice(
        [
            "q=pro",
            "q=lamp",
            f"category_id={_pick(rng, state.categories)}",
            "min_price=500&max_price=5000",
            f"page={rng.randint(1, 5)}",
        ]
    )
    yield Call("GET", "/api/products", f"/api/products?{query}")
    yield Call(
        "GET", "/api/products/<int:product_id>", f"/api/products/{_pick(rng, state.products)}"
    )


def manage_catalog(state: State, rng: random.Random) -> Visit:
    n = state.next_serial()
    if rng.random() < 0.3 or not state.categories:
        reply = yield Call(
            "POST", "/api/categories", "/api/categories", {"name": f"Collection {n}"}
        )
        _keep(state.categories, _id(reply))
    yield Call("GET", "/api/categories", "/api/categories")
    body = {
        "sku": f"TRF-{n}",
        "name": f"Traffic Item {n}",
        "category_id": _pick(rng, state.categories),
        "price_cents": rng.randrange(199, 9999),
        "stock": [
            {"warehouse_id": w, "quantity": rng.randrange(20, 200)} for w in state.warehouses
        ],
    }
    product = _id((yield Call("POST", "/api/products", "/api/products", body)))
    _keep(state.products, product)
    target = product or _pick(rng, state.products)
    change: dict[str, Any] = rng.choice(
        [
            {"price_cents": rng.randrange(199, 9999)},
            {"stock": [{"warehouse_id": _pick(rng, state.warehouses), "quantity": 150}]},
        ]
    )
    yield Call("PATCH", "/api/products/<int:product_id>", f"/api/products/{target}", change)


def retire_product(state: State, rng: random.Random) -> Visit:
    n = state.next_serial()
    body = {
        "sku": f"OLD-{n}",
        "name": f"Mistake {n}",
        "category_id": _pick(rng, state.categories),
        "price_cents": 100,
    }
    product = _id((yield Call("POST", "/api/products", "/api/products", body)))
    yield Call("DELETE", "/api/products/<int:product_id>", f"/api/products/{product or 0}")


def browse_customers(state: State, rng: random.Random) -> Visit:
    query = rng.choice(["q=ada", "q=jansen", "status=active", f"page={rng.randint(1, 5)}"])
    yield Call("GET", "/api/customers", f"/api/customers?{query}")
    customer = _pick(rng, state.customers)
    yield Call("GET", "/api/customers/<int:customer_id>", f"/api/customers/{customer}")
    yield Call(
        "GET", "/api/customers/<int:customer_id>/addresses", f"/api/customers/{customer}/addresses"
    )


def register(state: State, rng: random.Random) -> Visit:
    n = state.next_serial()
    body = {"email": f"shopper{n}@traffic.example", "name": f"Shopper {n}"}
    customer = _id((yield Call("POST", "/api/customers", "/api/customers", body)))
    _keep(state.customers, customer)
    target = customer or _pick(rng, state.customers)
    address = {
        "line1": f"{n} Canal St",
        "city": "Utrecht",
        "postcode": "3511",
        "country": "NL",
        "is_default": True,
    }
    yield Call(
        "POST",
        "/api/customers/<int:customer_id>/addresses",
        f"/api/customers/{target}/addresses",
        address,
    )
    yield Call(
        "PATCH",
        "/api/customers/<int:customer_id>",
        f"/api/customers/{target}",
        {"phone": f"+31 6 {n}"},
    )


def unregister(state: State, rng: random.Random) -> Visit:
    n = state.next_serial()
    body = {"email": f"leaver{n}@traffic.example", "name": f"Leaver {n}"}
    customer = _id((yield Call("POST", "/api/customers", "/api/customers", body)))
    yield Call("DELETE", "/api/customers/<int:customer_id>", f"/api/customers/{customer or 0}")


def shop(state: State, rng: random.Random, *, tidy: bool = False) -> Visit:
    """Fill a cart, fiddle with it, and (usually) check out."""
    customer = _pick(rng, state.customers)
    cart = _id((yield Call("POST", "/api/carts", "/api/carts", {"customer_id": customer})))
    if cart is None:
        return
    items: list[int] = []
    for product in rng.sample(state.products, min(len(state.products), rng.randint(1, 3))):
        reply = yield Call(
            "POST",
            "/api/carts/<int:cart_id>/items",
            f"/api/carts/{cart}/items",
            {"product_id": product, "quantity": rng.randint(1, 3)},
        )
        if reply.status == 201:
            items = [i["id"] for i in reply.body["items"]]
    if items and (tidy or rng.random() < 0.3):
        yield Call(
            "PATCH",
            "/api/carts/<int:cart_id>/items/<int:item_id>",
            f"/api/carts/{cart}/items/{items[0]}",
            {"quantity": 1},
        )
    if len(items) > 1 and (tidy or rng.random() < 0.2):
        yield Call(
            "DELETE",
            "/api/carts/<int:cart_id>/items/<int:item_id>",
            f"/api/carts/{cart}/items/{items[-1]}",
        )
    yield Call("GET", "/api/carts/<int:cart_id>", f"/api/carts/{cart}")
    if tidy or rng.random() < 0.8:
        body = {"payment_method": rng.choice(["card", "card", "paypal", "invoice"])}
        order = _id(
            (
                yield Call(
                    "POST", "/api/carts/<int:cart_id>/checkout", f"/api/carts/{cart}/checkout", body
                )
            )
        )
        _keep(state.orders, order)
        _keep(state.paid_orders, order)


def track_orders(state: State, rng: random.Random) -> Visit:
    query = rng.choice(
        [
            "status=paid",
            f"customer_id={_pick(rng, state.customers)}",
            f"product_id={_pick(rng, state.products)}",
            f"page={rng.randint(1, 3)}",
        ]
    )
    reply = yield Call("GET", "/api/orders", f"/api/orders?{query}")
    found = _ids(reply)
    order = _pick(rng, state.orders + found)
    yield Call("GET", "/api/orders/<int:order_id>", f"/api/orders/{order}")


def fulfil(state: State, rng: random.Random) -> Visit:
    if not state.paid_orders:
        state.paid_orders = _ids((yield Call("GET", "/api/orders", "/api/orders?status=paid")))
    if not state.paid_orders:
        return
    order = state.paid_orders.pop(0)
    body = {
        "order_id": order,
        "warehouse_id": _pick(rng, state.warehouses),
        "carrier": rng.choice(["dhl", "ups", "dpd", "postnl"]),
    }
    shipment = _id((yield Call("POST", "/api/shipments", "/api/shipments", body)))
    _keep(state.shipments, shipment)
    yield Call("GET", "/api/shipments", f"/api/shipments?order_id={order}")
    if shipment is not None:
        status = rng.choice(["in_transit", "delivered"])
        yield Call(
            "PATCH",
            "/api/shipments/<int:shipment_id>",
            f"/api/shipments/{shipment}",
            {"status": status},
        )


def cancel(state: State, rng: random.Random) -> Visit:
    if state.paid_orders:
        order = state.paid_orders.pop()
        yield Call("POST", "/api/orders/<int:order_id>/cancel", f"/api/orders/{order}/cancel")


def payments(state: State, rng: random.Random, *, refund: bool = False) -> Visit:
    reply = yield Call("GET", "/api/payments", "/api/payments?status=captured")
    captured = _ids(reply)
    if captured and (refund or rng.random() < 0.3):
        payment = rng.choice(captured)
        yield Call(
            "POST", "/api/payments/<int:payment_id>/refund", f"/api/payments/{payment}/refund"
        )


def warehouse_ops(state: State, rng: random.Random) -> Visit:
    product = _pick(rng, state.products)
    yield Call("GET", "/api/inventory", f"/api/inventory?below={rng.choice([20, 50, 100])}")
    yield Call("GET", "/api/inventory/<int:product_id>", f"/api/inventory/{product}")
    body = {
        "product_id": product,
        "warehouse_id": _pick(rng, state.warehouses),
        "delta": rng.choice([25, 50, 100, -1]),
        "reason": rng.choice(["restock", "restock", "damage"]),
    }
    yield Call("POST", "/api/inventory/adjustments", "/api/inventory/adjustments", body)
    yield Call("GET", "/api/inventory/movements", f"/api/inventory/movements?product_id={product}")
    yield Call("GET", "/api/warehouses", "/api/warehouses")


def review(state: State, rng: random.Random, *, retract: bool = False) -> Visit:
    product = _pick(rng, state.products)
    yield Call("GET", "/api/reviews", f"/api/reviews?product_id={product}")
    body = {
        "product_id": product,
        "customer_id": _pick(rng, state.customers),
        "rating": rng.randint(1, 5),
        "title": rng.choice(["Great", "Okay", "Broke fast"]),
    }
    created = _id((yield Call("POST", "/api/reviews", "/api/reviews", body)))
    if created is not None and (retract or rng.random() < 0.2):
        yield Call("DELETE", "/api/reviews/<int:review_id>", f"/api/reviews/{created}")


def back_office(state: State, rng: random.Random) -> Visit:
    yield Call("GET", "/api/notifications", "/api/notifications?status=queued")
    yield Call("POST", "/api/notifications/dispatch", "/api/notifications/dispatch", {"limit": 50})
    yield Call(
        "GET",
        "/api/reports/sales",
        "/api/reports/sales?group_by=" + rng.choice(["category", "day"]),
    )
    yield Call("GET", "/api/audit-log", "/api/audit-log?entity=order")


def tour(state: State, rng: random.Random) -> Visit:
    """Call every endpoint at least once, in an order where each call can succeed."""
    for visit in (
        learn(state, rng),
        probes(state, rng),
        manage_catalog(state, rng),
        browse_catalog(state, rng),
        retire_product(state, rng),
        register(state, rng),
        browse_customers(state, rng),
        unregister(state, rng),
        shop(state, rng, tidy=True),
        shop(state, rng, tidy=True),
        track_orders(state, rng),
        fulfil(state, rng),
        cancel(state, rng),
        payments(state, rng, refund=True),
        warehouse_ops(state, rng),
        review(state, rng, retract=True),
        back_office(state, rng),
    ):
        yield from visit


# Relative frequency of each visit after the tour: mostly browsing, a steady trickle of sales.
MIX: tuple[tuple[Callable[..., Visit], int], ...] = (
    (browse_catalog, 30),
    (browse_customers, 8),
    (shop, 14),
    (track_orders, 10),
    (fulfil, 5),
    (cancel, 2),
    (payments, 3),
    (warehouse_ops, 5),
    (review, 5),
    (register, 5),
    (manage_catalog, 3),
    (retire_product, 1),
    (unregister, 1),
    (back_office, 3),
    (probes, 2),
)
