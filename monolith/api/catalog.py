"""Catalog context: categories and products; the product admin also writes stock levels."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app, request
from sqlalchemy import delete, func, or_, select

from monolith.api.common import as_dict, audit, current_prices, get_or_404, paginate
from monolith.db import session
from monolith.errors import Conflict, Unprocessable, ValidationFailed
from monolith.models import (
    CartItem,
    Category,
    OrderLine,
    Price,
    Product,
    Review,
    StockLevel,
    StockMovement,
    Warehouse,
    utcnow,
)
from monolith.seams import delete_reviews
from monolith.validation import Field, query_choice, query_int, validate_body

bp = Blueprint("catalog", __name__, url_prefix="/api")

CATEGORY = {"name": Field(required=True, max_len=100), "parent_id": Field(kind=int, nullable=True)}
PRODUCT = {
    "sku": Field(required=True, max_len=40, pattern=re.compile(r"^[A-Z0-9-]+$")),
    "name": Field(required=True, max_len=200),
    "description": Field(max_len=5000, nullable=True),
    "category_id": Field(kind=int, required=True),
    "price_cents": Field(kind=int, required=True, min=1, max=10_000_000),
    "active": Field(kind=bool),
    "stock": Field(kind=list),
}


def _product_json(product: Product, price: Price | None, stock: int | None) -> dict[str, Any]:
    body = as_dict(product)
    body["price_cents"] = price.amount_cents if price else None
    body["currency"] = price.currency if price else None
    body["stock"] = stock or 0
    return body


def _stock_totals(product_ids: list[int]) -> dict[int, int]:
    # The catalog reads inventory's table directly to show availability.
    rows = session().execute(
        select(StockLevel.product_id, func.sum(StockLevel.quantity))
        .where(StockLevel.product_id.in_(product_ids))
        .group_by(StockLevel.product_id)
    )
    return {pid: int(total or 0) for pid, total in rows}


def _parse_stock(raw: list[Any]) -> list[tuple[int, int]]:
    """Validate [{warehouse_id, quantity}] and return pairs."""
    pairs, details = [], []
    for i, entry in enumerate(raw):
        ok = isinstance(entry, dict) and set(entry) == {"warehouse_id", "quantity"}
        ok = ok and all(isinstance(entry[k], int) and not isinstance(entry[k], bool) for k in entry)
        if not ok or entry["quantity"] < 0:
            details.append(
                {"field": f"stock[{i}]", "message": "must be {warehouse_id, quantity>=0}"}
            )
        else:
            pairs.append((entry["warehouse_id"], entry["quantity"]))
    if details:
        raise ValidationFailed("the request has invalid fields", details=details)
    for warehouse_id, _ in pairs:
        if session().get(Warehouse, warehouse_id) is None:
            raise Unprocessable(
                f"warehouse {warehouse_id} does not exist",
                details=[{"field": "stock", "message": f"unknown warehouse {warehouse_id}"}],
            )
    return pairs


def _set_stock(product_id: int, pairs: list[tuple[int, int]], reason: str) -> None:
    """Set absolute stock levels from the admin screen, recording each change as a movement."""
    db = session()
    for warehouse_id, quantity in pairs:
        level = db.scalar(
            select(StockLevel).where(
                StockLevel.product_id == product_id, StockLevel.warehouse_id == warehouse_id
            )
        )
        before = level.quantity if level else 0
        if level is None:
            level = StockLevel(product_id=product_id, warehouse_id=warehouse_id, quantity=0)
            db.add(level)
        level.quantity, level.updated_at = quantity, utcnow()
        if quantity != before:
            db.add(
                StockMovement(
                    product_id=product_id,
                    warehouse_id=warehouse_id,
                    delta=quantity - before,
                    reason=reason,
                )
            )


def _check_category(category_id: int) -> None:
    if session().get(Category, category_id) is None:
        raise Unprocessable(
            f"category {category_id} does not exist",
            details=[{"field": "category_id", "message": "unknown category"}],
        )


@bp.get("/categories")
def list_categories():
    counts = (
        select(Product.category_id, func.count(Product.id).label("n"))
        .group_by(Product.category_id)
        .subquery()
    )
    stmt = (
        select(Category, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.category_id == Category.id)
        .order_by(Category.name)
    )
    return paginate(session(), stmt, lambda row: {**as_dict(row[0]), "product_count": row[1]})


@bp.post("/categories")
def create_category():
    data = validate_body(CATEGORY)
    db = session()
    slug = re.sub(r"[^a-z0-9]+", "-", data["name"].lower()).strip("-")
    if db.scalar(
        select(Category.id).where(or_(Category.name == data["name"], Category.slug == slug))
    ):
        raise Conflict(f"category {data['name']!r} already exists", code="duplicate_category")
    if data.get("parent_id") is not None:
        get_or_404(db, Category, data["parent_id"], "category")
    category = Category(slug=slug, **data)
    db.add(category)
    db.flush()
    audit(db, "category.created", "category", category.id)
    db.commit()
    return as_dict(category), 201


@bp.get("/products")
def list_products():
    stmt = select(Product).order_by(Product.id)
    if q := request.args.get("q"):
        stmt = stmt.where(func.lower(Product.name).like(f"%{q.lower()}%"))
    if (category_id := query_int("category_id")) is not None:
        stmt = stmt.where(Product.category_id == category_id)
    if (active := query_choice("active", ("true", "false"))) is not None:
        stmt = stmt.where(Product.active == (active == "true"))
    low, high = query_int("min_price"), query_int("max_price")
    if low is not None or high is not None:
        prices = select(Price.product_id).where(Price.valid_to.is_(None))
        if low is not None:
            prices = prices.where(Price.amount_cents >= low)
        if high is not None:
            prices = prices.where(Price.amount_cents <= high)
        stmt = stmt.where(Product.id.in_(prices))
    page = paginate(session(), stmt, lambda p: p)
    products: list[Product] = page["items"]
    ids = [p.id for p in products]
    prices_by_id, stock = current_prices(session(), ids), _stock_totals(ids)
    page["items"] = [_product_json(p, prices_by_id.get(p.id), stock.get(p.id)) for p in products]
    return page


@bp.post("/products")
def create_product():
    data = validate_body(PRODUCT)
    stock = _parse_stock(data.pop("stock", []))
    price_cents = data.pop("price_cents")
    db = session()
    _check_category(data["category_id"])
    if db.scalar(select(Product.id).where(Product.sku == data["sku"])):
        raise Conflict(
            f"a product with sku {data['sku']} already exists",
            code="duplicate_sku",
            details=[{"field": "sku", "message": "is already used"}],
        )
    product = Product(**data)
    db.add(product)
    db.flush()
    price = Price(
        product_id=product.id, amount_cents=price_cents, currency="EUR", valid_from=utcnow()
    )
    db.add(price)
    _set_stock(product.id, stock, "initial")
    audit(db, "product.created", "product", product.id, sku=product.sku)
    db.commit()
    return _product_json(product, price, sum(q for _, q in stock)), 201


@bp.get("/products/<int:product_id>")
def get_product(product_id: int):
    db = session()
    product = get_or_404(db, Product, product_id, "product")
    rating = db.execute(
        select(func.avg(Review.rating), func.count(Review.id)).where(
            Review.product_id == product_id
        )
    ).one()
    body = _product_json(product, current_prices(db, [product_id]).get(product_id), None)
    body["stock"] = _stock_totals([product_id]).get(product_id, 0)
    body["average_rating"] = round(float(rating[0]), 2) if rating[0] is not None else None
    body["review_count"] = rating[1]
    return body


@bp.patch("/products/<int:product_id>")
def update_product(product_id: int):
    data = validate_body(PRODUCT, partial=True)
    db = session()
    product = get_or_404(db, Product, product_id, "product")
    if "category_id" in data:
        _check_category(data["category_id"])
    sku_taken = select(Product.id).where(Product.sku == data.get("sku"), Product.id != product_id)
    if "sku" in data and db.scalar(sku_taken):
        raise Conflict(f"a product with sku {data['sku']} already exists", code="duplicate_sku")
    if "stock" in data:
        _set_stock(product_id, _parse_stock(data.pop("stock")), "correction")
    if "price_cents" in data:
        new_price = data.pop("price_cents")
        current = current_prices(db, [product_id]).get(product_id)
        if current is None or current.amount_cents != new_price:
            now = utcnow()
            if current is not None:
                current.valid_to = now
            db.add(
                Price(product_id=product_id, amount_cents=new_price, currency="EUR", valid_from=now)
            )
    for key, value in data.items():
        setattr(product, key, value)
    audit(db, "product.updated", "product", product_id)
    db.commit()
    return get_product(product_id)


@bp.delete("/products/<int:product_id>")
def delete_product(product_id: int):
    db = session()
    get_or_404(db, Product, product_id, "product")
    if db.scalar(select(func.count(OrderLine.id)).where(OrderLine.product_id == product_id)):
        raise Conflict(
            f"product {product_id} has been ordered and cannot be deleted; deactivate it instead",
            code="product_has_orders",
        )
    switched = current_app.config["SHOPCO"].reviews_service_url
    if switched:  # branch by abstraction: the reviews service owns the reviews
        delete_reviews(switched, product_id=product_id)
    for model in (CartItem, Review, StockMovement, StockLevel, Price):
        db.execute(delete(model).where(model.product_id == product_id))
    db.execute(delete(Product).where(Product.id == product_id))
    audit(db, "product.deleted", "product", product_id)
    db.commit()
    return "", 204
