"""Carts context: a customer's open cart and its items, priced from the catalog."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import select

from monolith.api.common import as_dict, audit, current_prices, get_or_404
from monolith.db import session
from monolith.errors import Conflict, Unprocessable, not_found
from monolith.models import Cart, CartItem, Customer, Product, utcnow
from monolith.validation import Field, validate_body

bp = Blueprint("carts", __name__, url_prefix="/api/carts")

NEW_CART = {"customer_id": Field(kind=int, required=True)}
NEW_ITEM = {
    "product_id": Field(kind=int, required=True),
    "quantity": Field(kind=int, required=True, min=1, max=99),
}
ITEM_UPDATE = {"quantity": Field(kind=int, required=True, min=1, max=99)}


def cart_json(cart: Cart) -> dict[str, Any]:
    """Render a cart with its items, product names and current prices."""
    db = session()
    rows = db.execute(
        select(CartItem, Product.name, Product.sku)
        .join(Product, Product.id == CartItem.product_id)
        .where(CartItem.cart_id == cart.id)
        .order_by(CartItem.id)
    ).all()
    prices = current_prices(db, [item.product_id for item, _, _ in rows])
    items = []
    for item, name, sku in rows:
        unit = prices[item.product_id].amount_cents if item.product_id in prices else 0
        items.append(
            {
                **as_dict(item),
                "product_name": name,
                "sku": sku,
                "unit_price_cents": unit,
                "line_total_cents": unit * item.quantity,
            }
        )
    body = as_dict(cart)
    body.update(items=items, total_cents=sum(i["line_total_cents"] for i in items))
    return body


def open_cart(cart_id: int) -> Cart:
    """Load a cart that can still change, or raise 404/409."""
    cart = get_or_404(session(), Cart, cart_id, "cart")
    if cart.status != "open":
        raise Conflict(f"cart {cart_id} is {cart.status}", code="cart_not_open")
    return cart


def _item(cart_id: int, item_id: int) -> CartItem:
    item = session().get(CartItem, item_id)
    if item is None or item.cart_id != cart_id:
        raise not_found("cart item", item_id)
    return item


@bp.post("")
def create_cart():
    data = validate_body(NEW_CART)
    db = session()
    customer = db.get(Customer, data["customer_id"])
    if customer is None:
        raise Unprocessable(
            f"customer {data['customer_id']} does not exist",
            details=[{"field": "customer_id", "message": "unknown customer"}],
        )
    if customer.status != "active":
        raise Conflict(f"customer {customer.id} is {customer.status}", code="customer_not_active")
    cart = Cart(customer_id=customer.id, status="open")
    db.add(cart)
    db.commit()
    return cart_json(cart), 201


@bp.get("/<int:cart_id>")
def get_cart(cart_id: int):
    return cart_json(get_or_404(session(), Cart, cart_id, "cart"))


@bp.post("/<int:cart_id>/items")
def add_item(cart_id: int):
    data = validate_body(NEW_ITEM)
    db = session()
    cart = open_cart(cart_id)
    product = db.get(Product, data["product_id"])
    if product is None or not product.active:
        raise Unprocessable(
            f"product {data['product_id']} is not for sale",
            details=[{"field": "product_id", "message": "unknown or inactive product"}],
        )
    item = db.scalar(
        select(CartItem).where(CartItem.cart_id == cart_id, CartItem.product_id == product.id)
    )
    if item is None:
        db.add(CartItem(cart_id=cart_id, product_id=product.id, quantity=data["quantity"]))
    else:
        item.quantity = min(item.quantity + data["quantity"], 99)
    cart.updated_at = utcnow()
    db.commit()
    return cart_json(cart), 201


@bp.patch("/<int:cart_id>/items/<int:item_id>")
def update_item(cart_id: int, item_id: int):
    data = validate_body(ITEM_UPDATE)
    cart = open_cart(cart_id)
    _item(cart_id, item_id).quantity = data["quantity"]
    cart.updated_at = utcnow()
    session().commit()
    return cart_json(cart)


@bp.delete("/<int:cart_id>/items/<int:item_id>")
def remove_item(cart_id: int, item_id: int):
    db = session()
    cart = open_cart(cart_id)
    db.delete(_item(cart_id, item_id))
    cart.updated_at = utcnow()
    audit(db, "cart.item_removed", "cart", cart_id, item_id=item_id)
    db.commit()
    return cart_json(cart)
