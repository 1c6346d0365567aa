"""Shipments context: parcels leaving a warehouse for a paid order."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import func, select

from monolith.api.common import as_dict, audit, get_or_404, paginate, queue_email
from monolith.db import session
from monolith.errors import Conflict, Unprocessable
from monolith.models import Customer, Order, Shipment, Warehouse, utcnow
from monolith.validation import Field, query_choice, query_int, validate_body

bp = Blueprint("shipments", __name__, url_prefix="/api/shipments")

CARRIERS = ("dhl", "ups", "dpd", "postnl")
STATUSES = ("label_created", "in_transit", "delivered")
NEXT_STATUS = {"label_created": ("in_transit", "delivered"), "in_transit": ("delivered",)}
NEW_SHIPMENT = {
    "order_id": Field(kind=int, required=True),
    "warehouse_id": Field(kind=int, required=True),
    "carrier": Field(required=True, choices=CARRIERS),
}
UPDATE = {"status": Field(required=True, choices=STATUSES)}


@bp.get("")
def list_shipments():
    stmt = select(Shipment).order_by(Shipment.id.desc())
    if (order_id := query_int("order_id")) is not None:
        stmt = stmt.where(Shipment.order_id == order_id)
    if status := query_choice("status", STATUSES):
        stmt = stmt.where(Shipment.status == status)
    if carrier := query_choice("carrier", CARRIERS):
        stmt = stmt.where(Shipment.carrier == carrier)
    return paginate(session(), stmt, as_dict)


@bp.post("")
def create_shipment():
    data = validate_body(NEW_SHIPMENT)
    db = session()
    order = db.get(Order, data["order_id"])
    if order is None:
        raise Unprocessable(
            f"order {data['order_id']} does not exist",
            details=[{"field": "order_id", "message": "unknown order"}],
        )
    if db.get(Warehouse, data["warehouse_id"]) is None:
        raise Unprocessable(
            f"warehouse {data['warehouse_id']} does not exist",
            details=[{"field": "warehouse_id", "message": "unknown warehouse"}],
        )
    if order.status != "paid":
        raise Conflict(
            f"order {order.id} is {order.status}, only paid orders ship", code="order_not_shippable"
        )
    count = db.scalar(select(func.count(Shipment.id)).where(Shipment.order_id == order.id)) or 0
    shipment = Shipment(
        **data,
        tracking_number=f"{data['carrier'].upper()}{order.id:09d}{count + 1}",
        status="label_created",
        shipped_at=utcnow(),
    )
    db.add(shipment)
    order.status = "shipped"
    customer = db.get(Customer, order.customer_id)
    assert customer is not None
    queue_email(
        db,
        customer,
        "order_shipped",
        f"Order {order.id} is on its way",
        f"Track it with {shipment.tracking_number}.",
    )
    db.flush()
    audit(db, "shipment.created", "shipment", shipment.id, order_id=order.id)
    db.commit()
    return as_dict(shipment), 201


@bp.patch("/<int:shipment_id>")
def update_shipment(shipment_id: int):
    data = validate_body(UPDATE)
    db = session()
    shipment = get_or_404(db, Shipment, shipment_id, "shipment")
    if data["status"] not in NEXT_STATUS.get(shipment.status, ()):
        raise Conflict(
            f"shipment {shipment_id} cannot go from {shipment.status} to {data['status']}",
            code="invalid_transition",
        )
    shipment.status = data["status"]
    if shipment.status == "delivered":
        shipment.delivered_at = utcnow()
        order = db.get(Order, shipment.order_id)
        if order is not None and order.status == "shipped":
            order.status = "delivered"
    audit(db, "shipment.updated", "shipment", shipment_id, status=shipment.status)
    db.commit()
    return as_dict(shipment)
