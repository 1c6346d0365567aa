"""Customers context: accounts and addresses."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request
from sqlalchemy import delete, func, or_, select

from monolith.api.common import as_dict, audit, get_or_404, paginate, queue_email
from monolith.db import session
from monolith.errors import Conflict
from monolith.models import Address, Cart, CartItem, Customer, Notification, Order, Review
from monolith.seams import delete_reviews
from monolith.validation import EMAIL, Field, query_choice, validate_body

bp = Blueprint("customers", __name__, url_prefix="/api/customers")

STATUSES = ("active", "suspended")
CUSTOMER = {
    "email": Field(required=True, max_len=255, pattern=EMAIL),
    "name": Field(required=True, max_len=200),
    "phone": Field(max_len=40, nullable=True),
    "status": Field(choices=STATUSES),
}
ADDRESS = {
    "kind": Field(choices=("shipping", "billing")),
    "line1": Field(required=True, max_len=200),
    "line2": Field(max_len=200, nullable=True),
    "city": Field(required=True, max_len=100),
    "postcode": Field(required=True, max_len=20),
    "country": Field(required=True, max_len=2),
    "is_default": Field(kind=bool),
}


def _email_taken(email: str, except_id: int | None = None) -> None:
    stmt = select(Customer.id).where(func.lower(Customer.email) == email.lower())
    existing = session().scalar(stmt)
    if existing is not None and existing != except_id:
        raise Conflict(
            f"a customer with email {email} already exists",
            code="duplicate_email",
            details=[{"field": "email", "message": "is already registered"}],
        )


@bp.get("")
def list_customers():
    stmt = select(Customer).order_by(Customer.id)
    if q := request.args.get("q"):
        like = f"%{q.lower()}%"
        stmt = stmt.where(
            or_(func.lower(Customer.name).like(like), func.lower(Customer.email).like(like))
        )
    if status := query_choice("status", STATUSES):
        stmt = stmt.where(Customer.status == status)
    return paginate(session(), stmt, as_dict)


@bp.post("")
def create_customer():
    data = validate_body(CUSTOMER)
    _email_taken(data["email"])
    db = session()
    customer = Customer(**data)
    db.add(customer)
    db.flush()
    queue_email(db, customer, "welcome", "Welcome to ShopCo", f"Hello {customer.name}!")
    audit(db, "customer.created", "customer", customer.id)
    db.commit()
    return as_dict(customer), 201


@bp.get("/<int:customer_id>")
def get_customer(customer_id: int):
    db = session()
    customer = get_or_404(db, Customer, customer_id, "customer")
    # The profile page shows order statistics: customers read the orders table directly.
    count, spent = db.execute(
        select(func.count(Order.id), func.coalesce(func.sum(Order.total_cents), 0)).where(
            Order.customer_id == customer_id, Order.status != "cancelled"
        )
    ).one()
    addresses = db.scalars(
        select(Address).where(Address.customer_id == customer_id).order_by(Address.id)
    )
    body: dict[str, Any] = as_dict(customer)
    body.update(
        addresses=[as_dict(a) for a in addresses], order_count=count, lifetime_value_cents=spent
    )
    return body


@bp.patch("/<int:customer_id>")
def update_customer(customer_id: int):
    data = validate_body(CUSTOMER, partial=True)
    db = session()
    customer = get_or_404(db, Customer, customer_id, "customer")
    if "email" in data:
        _email_taken(data["email"], except_id=customer_id)
    for key, value in data.items():
        setattr(customer, key, value)
    audit(db, "customer.updated", "customer", customer_id, fields=sorted(data))
    db.commit()
    return as_dict(customer)


@bp.delete("/<int:customer_id>")
def delete_customer(customer_id: int):
    db = session()
    get_or_404(db, Customer, customer_id, "customer")
    if db.scalar(select(func.count(Order.id)).where(Order.customer_id == customer_id)):
        raise Conflict(
            f"customer {customer_id} has orders and cannot be deleted; suspend it instead",
            code="customer_has_orders",
        )
    switched = current_app.config["SHOPCO"].reviews_service_url
    if switched:  # branch by abstraction: the reviews service owns the reviews
        delete_reviews(switched, customer_id=customer_id)
    carts = select(Cart.id).where(Cart.customer_id == customer_id)
    db.execute(delete(CartItem).where(CartItem.cart_id.in_(carts)))
    for model in (Cart, Address, Review, Notification):
        db.execute(delete(model).where(model.customer_id == customer_id))
    db.execute(delete(Customer).where(Customer.id == customer_id))
    audit(db, "customer.deleted", "customer", customer_id)
    db.commit()
    return "", 204


@bp.get("/<int:customer_id>/addresses")
def list_addresses(customer_id: int):
    db = session()
    get_or_404(db, Customer, customer_id, "customer")
    stmt = select(Address).where(Address.customer_id == customer_id).order_by(Address.id)
    return paginate(db, stmt, as_dict)


@bp.post("/<int:customer_id>/addresses")
def add_address(customer_id: int):
    data = validate_body(ADDRESS)
    data["country"] = data["country"].upper()
    db = session()
    get_or_404(db, Customer, customer_id, "customer")
    if data.get("is_default"):
        for other in db.scalars(select(Address).where(Address.customer_id == customer_id)):
            other.is_default = False
    address = Address(customer_id=customer_id, **data)
    db.add(address)
    db.flush()
    audit(db, "address.created", "address", address.id, customer_id=customer_id)
    db.commit()
    return as_dict(address), 201
