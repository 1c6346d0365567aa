"""Checkout and cancellation: the transactions that cut across every context.

`place_order` runs inside the caller's Session and never commits: the endpoint commits once
at the end, so an insufficient stock level or a declined card leaves nothing written.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monolith.api.common import audit, current_prices, queue_email
from monolith.errors import Conflict, Unprocessable, not_found
from monolith.models import (
    Address,
    Cart,
    CartItem,
    Customer,
    Order,
    OrderLine,
    Payment,
    Product,
    StockLevel,
    StockMovement,
    utcnow,
)

DECLINED_TOKEN = "tok_declined"


def _items(db: Session, cart: Cart) -> list[CartItem]:
    items = list(
        db.scalars(select(CartItem).where(CartItem.cart_id == cart.id).order_by(CartItem.id))
    )
    if not items:
        raise Unprocessable(f"cart {cart.id} is empty", code="empty_cart")
    return items


def _check_stock(db: Session, items: list[CartItem]) -> None:
    """Raise 409 listing every product that lacks stock, before writing anything."""
    shortfalls = []
    for index, item in enumerate(items):
        levels = db.scalars(
            select(StockLevel.quantity).where(StockLevel.product_id == item.product_id)
        )
        available = sum(levels)
        if available < item.quantity:
            shortfalls.append(
                {
                    "field": f"items[{index}].quantity",
                    "product_id": item.product_id,
                    "requested": item.quantity,
                    "available": available,
                }
            )
    if shortfalls:
        raise Conflict(
            "not enough stock for some items", code="insufficient_stock", details=shortfalls
        )


def _take_stock(db: Session, product_id: int, quantity: int, order_id: int) -> None:
    """Decrement stock from the fullest warehouses first, one movement per warehouse."""
    levels = db.scalars(
        select(StockLevel)
        .where(StockLevel.product_id == product_id, StockLevel.quantity > 0)
        .order_by(StockLevel.quantity.desc(), StockLevel.id)
        .with_for_update()
    ).all()
    need = quantity
    for level in levels:
        take = min(level.quantity, need)
        # Guarded, so a concurrent checkout that got there first makes this one fail cleanly.
        done = db.execute(
            update(StockLevel)
            .where(StockLevel.id == level.id, StockLevel.quantity >= take)
            .values(quantity=StockLevel.quantity - take, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if not done:
            break
        db.add(
            StockMovement(
                product_id=product_id,
                warehouse_id=level.warehouse_id,
                delta=-take,
                reason="sale",
                order_id=order_id,
            )
        )
        need -= take
        if need == 0:
            return
    raise Conflict(
        f"not enough stock for product {product_id}",
        code="insufficient_stock",
        details=[{"product_id": product_id, "requested": quantity, "missing": need}],
    )


def place_order(
    db: Session, cart: Cart, method: str, address_id: int | None, card_token: str | None
) -> Order:
    """Turn an open cart into a paid order: stock, order, lines, payment, e-mail, audit."""
    customer = db.get(Customer, cart.customer_id)
    assert customer is not None  # a foreign key guarantees it
    if address_id is not None:
        address = db.get(Address, address_id)
        if address is None or address.customer_id != customer.id:
            raise Unprocessable(
                f"address {address_id} is not an address of customer {customer.id}",
                details=[{"field": "shipping_address_id", "message": "unknown address"}],
            )
    items = _items(db, cart)
    prices = current_prices(db, [i.product_id for i in items])
    for index, item in enumerate(items):
        product = db.get(Product, item.product_id)
        if product is None or not product.active or item.product_id not in prices:
            raise Unprocessable(
                f"product {item.product_id} is no longer for sale",
                details=[{"field": f"items[{index}].product_id", "message": "not for sale"}],
            )
    _check_stock(db, items)
    total = sum(prices[i.product_id].amount_cents * i.quantity for i in items)
    order = Order(
        customer_id=customer.id,
        shipping_address_id=address_id,
        cart_id=cart.id,
        status="paid",
        currency="EUR",
        total_cents=total,
        created_at=utcnow(),
    )
    db.add(order)
    db.flush()
    for item in items:
        unit = prices[item.product_id].amount_cents
        db.add(
            OrderLine(
                order_id=order.id,
                product_id=item.product_id,
                quantity=item.quantity,
                unit_price_cents=unit,
                line_total_cents=unit * item.quantity,
            )
        )
        _take_stock(db, item.product_id, item.quantity, order.id)
    if method == "card" and card_token == DECLINED_TOKEN:
        raise Unprocessable(
            "the card was declined",
            code="payment_declined",
            details=[{"field": "card_token", "message": "declined by the issuer"}],
        )
    db.add(
        Payment(
            order_id=order.id,
            method=method,
            status="captured",
            amount_cents=total,
            currency="EUR",
            reference=f"PAY-{order.id:08d}",
            created_at=utcnow(),
        )
    )
    cart.status, cart.updated_at = "checked_out", utcnow()
    queue_email(
        db,
        customer,
        "order_confirmation",
        f"Your ShopCo order {order.id}",
        f"Thank you {customer.name}, we received {total / 100:.2f} EUR.",
    )
    audit(db, "order.placed", "order", order.id, cart_id=cart.id, total_cents=total)
    return order


def cancel_order(db: Session, order_id: int) -> Order:
    """Cancel a paid, unshipped order: restock, refund, e-mail, audit (no commit)."""
    order = db.get(Order, order_id)
    if order is None:
        raise not_found("order", order_id)
    if order.status != "paid":
        raise Conflict(
            f"order {order_id} is {order.status} and cannot be cancelled",
            code="order_not_cancellable",
        )
    returned: dict[tuple[int, int], int] = defaultdict(int)
    for movement in db.scalars(
        select(StockMovement).where(
            StockMovement.order_id == order_id, StockMovement.reason == "sale"
        )
    ):
        returned[(movement.product_id, movement.warehouse_id)] -= movement.delta
    for (product_id, warehouse_id), quantity in sorted(returned.items()):
        db.execute(
            update(StockLevel)
            .where(StockLevel.product_id == product_id, StockLevel.warehouse_id == warehouse_id)
            .values(quantity=StockLevel.quantity + quantity, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        db.add(
            StockMovement(
                product_id=product_id,
                warehouse_id=warehouse_id,
                delta=quantity,
                reason="cancellation",
                order_id=order_id,
            )
        )
    for payment in db.scalars(
        select(Payment).where(Payment.order_id == order_id, Payment.status == "captured")
    ):
        payment.status = "refunded"
    order.status = "cancelled"
    customer = db.get(Customer, order.customer_id)
    assert customer is not None
    queue_email(
        db,
        customer,
        "order_cancelled",
        f"Your ShopCo order {order_id} was cancelled",
        f"We refunded {order.total_cents / 100:.2f} EUR.",
    )
    audit(db, "order.cancelled", "order", order_id)
    return order
