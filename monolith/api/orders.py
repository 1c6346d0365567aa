"""Orders context: checkout, the order listing that joins customers and products, cancel."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import Blueprint, request
from sqlalchemy import func, or_, select

from monolith.api.common import as_dict, get_or_404, paginate
from monolith.checkout import cancel_order, place_order
from monolith.db import session
from monolith.models import Address, Customer, Order, OrderLine, Payment, Product, Shipment
from monolith.validation import Field, query_choice, query_int, validate_body

bp = Blueprint("orders", __name__, url_prefix="/api")

STATUSES = ("paid", "shipped", "delivered", "cancelled", "refunded")
CHECKOUT = {
    "payment_method": Field(required=True, choices=("card", "paypal", "invoice")),
    "shipping_address_id": Field(kind=int, nullable=True),
    "card_token": Field(max_len=64, nullable=True),
}


def _lines(order_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    rows = session().execute(
        select(OrderLine, Product.sku, Product.name)
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id.in_(order_ids))
        .order_by(OrderLine.id)
    )
    by_order: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for line, sku, name in rows:
        by_order[line.order_id].append({**as_dict(line), "sku": sku, "product_name": name})
    return by_order


def _order_json(order: Order, name: str, email: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        **as_dict(order),
        "customer": {"id": order.customer_id, "name": name, "email": email},
        "lines": lines,
    }


@bp.post("/carts/<int:cart_id>/checkout")
def checkout(cart_id: int):
    data = validate_body(CHECKOUT)
    from monolith.api.carts import open_cart

    db = session()
    cart = open_cart(cart_id)
    order = place_order(
        db, cart, data["payment_method"], data.get("shipping_address_id"), data.get("card_token")
    )
    db.commit()
    return get_order(order.id), 201


@bp.get("/orders")
def list_orders():
    stmt = (
        select(Order, Customer.name, Customer.email)
        .join(Customer, Customer.id == Order.customer_id)
        .order_by(Order.id.desc())
    )
    if (customer_id := query_int("customer_id")) is not None:
        stmt = stmt.where(Order.customer_id == customer_id)
    if status := query_choice("status", STATUSES):
        stmt = stmt.where(Order.status == status)
    if (product_id := query_int("product_id")) is not None:
        stmt = stmt.where(
            Order.id.in_(select(OrderLine.order_id).where(OrderLine.product_id == product_id))
        )
    if q := request.args.get("q"):
        like = f"%{q.lower()}%"
        stmt = stmt.where(
            or_(func.lower(Customer.name).like(like), func.lower(Customer.email).like(like))
        )
    page = paginate(session(), stmt, lambda row: row)
    lines = _lines([order.id for order, _, _ in page["items"]])
    page["items"] = [_order_json(o, n, e, lines.get(o.id, [])) for o, n, e in page["items"]]
    return page


@bp.get("/orders/<int:order_id>")
def get_order(order_id: int):
    db = session()
    order = get_or_404(db, Order, order_id, "order")
    customer = db.get(Customer, order.customer_id)
    assert customer is not None
    body = _order_json(order, customer.name, customer.email, _lines([order_id]).get(order_id, []))
    address = db.get(Address, order.shipping_address_id) if order.shipping_address_id else None
    body["shipping_address"] = as_dict(address) if address else None
    body["payments"] = [
        as_dict(p) for p in db.scalars(select(Payment).where(Payment.order_id == order_id))
    ]
    body["shipments"] = [
        as_dict(s) for s in db.scalars(select(Shipment).where(Shipment.order_id == order_id))
    ]
    return body


@bp.post("/orders/<int:order_id>/cancel")
def cancel(order_id: int):
    db = session()
    cancel_order(db, order_id)
    db.commit()
    return get_order(order_id)
