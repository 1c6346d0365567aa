"""Payments context: captured payments and refunds."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import select

from monolith.api.common import as_dict, audit, get_or_404, paginate, queue_email
from monolith.db import session
from monolith.errors import Conflict
from monolith.models import Customer, Order, Payment
from monolith.validation import query_choice, query_int

bp = Blueprint("payments", __name__, url_prefix="/api/payments")

STATUSES = ("captured", "refunded")


@bp.get("")
def list_payments():
    stmt = select(Payment).order_by(Payment.id.desc())
    if (order_id := query_int("order_id")) is not None:
        stmt = stmt.where(Payment.order_id == order_id)
    if status := query_choice("status", STATUSES):
        stmt = stmt.where(Payment.status == status)
    if method := query_choice("method", ("card", "paypal", "invoice")):
        stmt = stmt.where(Payment.method == method)
    return paginate(session(), stmt, as_dict)


@bp.post("/<int:payment_id>/refund")
def refund(payment_id: int):
    db = session()
    payment = get_or_404(db, Payment, payment_id, "payment")
    if payment.status != "captured":
        raise Conflict(f"payment {payment_id} is {payment.status}", code="payment_not_refundable")
    payment.status = "refunded"
    # Refunds reach into the orders table: the legacy app has no event between them.
    order = db.get(Order, payment.order_id)
    assert order is not None
    if order.status in ("paid", "shipped", "delivered"):
        order.status = "refunded"
    customer = db.get(Customer, order.customer_id)
    assert customer is not None
    queue_email(
        db,
        customer,
        "refund",
        f"Refund for order {order.id}",
        f"We refunded {payment.amount_cents / 100:.2f} {payment.currency}.",
    )
    audit(db, "payment.refunded", "payment", payment_id, order_id=order.id)
    db.commit()
    return as_dict(payment)
