"""Inventory context: warehouses, stock levels and the movement ledger."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import func, select, update

from monolith.api.common import as_dict, audit, get_or_404, paginate
from monolith.db import session
from monolith.errors import Conflict, ValidationFailed
from monolith.models import Product, StockLevel, StockMovement, Warehouse, utcnow
from monolith.validation import Field, query_choice, query_int, validate_body

bp = Blueprint("inventory", __name__, url_prefix="/api")

REASONS = ("restock", "damage", "correction", "return")
MOVEMENT_REASONS = (*REASONS, "initial", "sale", "cancellation")
ADJUSTMENT = {
    "product_id": Field(kind=int, required=True),
    "warehouse_id": Field(kind=int, required=True),
    "delta": Field(kind=int, required=True, min=-100_000, max=100_000),
    "reason": Field(required=True, choices=REASONS),
}


def _level_json(row) -> dict:
    level, sku, name, code = row
    return {**as_dict(level), "sku": sku, "product_name": name, "warehouse_code": code}


@bp.get("/warehouses")
def list_warehouses():
    totals = (
        select(StockLevel.warehouse_id, func.sum(StockLevel.quantity).label("units"))
        .group_by(StockLevel.warehouse_id)
        .subquery()
    )
    stmt = (
        select(Warehouse, func.coalesce(totals.c.units, 0))
        .outerjoin(totals, totals.c.warehouse_id == Warehouse.id)
        .order_by(Warehouse.id)
    )
    return paginate(session(), stmt, lambda row: {**as_dict(row[0]), "units": int(row[1])})


@bp.get("/inventory")
def list_stock_levels():
    stmt = (
        select(StockLevel, Product.sku, Product.name, Warehouse.code)
        .join(Product, Product.id == StockLevel.product_id)
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .order_by(StockLevel.id)
    )
    if (product_id := query_int("product_id")) is not None:
        stmt = stmt.where(StockLevel.product_id == product_id)
    if (warehouse_id := query_int("warehouse_id")) is not None:
        stmt = stmt.where(StockLevel.warehouse_id == warehouse_id)
    if (below := query_int("below")) is not None:
        stmt = stmt.where(StockLevel.quantity < below)
    return paginate(session(), stmt, _level_json)


@bp.get("/inventory/<int:product_id>")
def product_stock(product_id: int):
    db = session()
    product = get_or_404(db, Product, product_id, "product")
    rows = db.execute(
        select(StockLevel, Warehouse.code)
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .where(StockLevel.product_id == product_id)
        .order_by(Warehouse.code)
    )
    levels = [{**as_dict(level), "warehouse_code": code} for level, code in rows]
    return {
        "product_id": product.id,
        "sku": product.sku,
        "total": sum(level["quantity"] for level in levels),
        "levels": levels,
    }


@bp.post("/inventory/adjustments")
def adjust_stock():
    data = validate_body(ADJUSTMENT)
    if data["delta"] == 0:
        raise ValidationFailed(
            "delta must not be zero", details=[{"field": "delta", "message": "must not be 0"}]
        )
    db = session()
    get_or_404(db, Product, data["product_id"], "product")
    get_or_404(db, Warehouse, data["warehouse_id"], "warehouse")
    where = (StockLevel.product_id == data["product_id"]) & (
        StockLevel.warehouse_id == data["warehouse_id"]
    )
    level = db.scalar(select(StockLevel).where(where))
    if level is None:
        level = StockLevel(
            product_id=data["product_id"], warehouse_id=data["warehouse_id"], quantity=0
        )
        db.add(level)
        db.flush()
    # A guarded UPDATE, so a concurrent checkout can never drive stock below zero.
    changed = db.execute(
        update(StockLevel)
        .where(StockLevel.id == level.id, StockLevel.quantity + data["delta"] >= 0)
        .values(quantity=StockLevel.quantity + data["delta"], updated_at=utcnow())
    ).rowcount  # type: ignore[attr-defined]
    if not changed:
        raise Conflict(
            "the adjustment would make stock negative",
            code="insufficient_stock",
            details=[{"field": "delta", "available": level.quantity, "requested": data["delta"]}],
        )
    movement = StockMovement(**data)
    db.add(movement)
    db.flush()
    audit(db, "stock.adjusted", "stock_level", level.id, delta=data["delta"], reason=data["reason"])
    db.commit()
    db.refresh(level)
    return {"movement": as_dict(movement), "level": as_dict(level)}, 201


@bp.get("/inventory/movements")
def list_movements():
    stmt = select(StockMovement).order_by(StockMovement.id.desc())
    if (product_id := query_int("product_id")) is not None:
        stmt = stmt.where(StockMovement.product_id == product_id)
    if (warehouse_id := query_int("warehouse_id")) is not None:
        stmt = stmt.where(StockMovement.warehouse_id == warehouse_id)
    if (order_id := query_int("order_id")) is not None:
        stmt = stmt.where(StockMovement.order_id == order_id)
    if reason := query_choice("reason", MOVEMENT_REASONS):
        stmt = stmt.where(StockMovement.reason == reason)
    return paginate(session(), stmt, as_dict)
