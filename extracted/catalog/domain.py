"""The catalog's rules and the JSON it answers (pure: no Flask, no SQLAlchemy, no I/O).

Every message and shape here is the monolith's (monolith/api/catalog.py): the service
replaces those endpoints behind the router, so a client must not see a difference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from extracted._service.errors import ValidationFailed
from extracted._service.validation import Field

CURRENCY = "EUR"

CATEGORY_FIELDS = {
    "name": Field(required=True, max_len=100),
    "parent_id": Field(kind=int, nullable=True),
}
PRODUCT_FIELDS = {
    "sku": Field(required=True, max_len=40, pattern=re.compile(r"^[A-Z0-9-]+$")),
    "name": Field(required=True, max_len=200),
    "description": Field(max_len=5000, nullable=True),
    "category_id": Field(kind=int, required=True),
    "price_cents": Field(kind=int, required=True, min=1, max=10_000_000),
    "active": Field(kind=bool),
    "stock": Field(kind=list),
}
# Product fields stored on the product row itself (price and stock live elsewhere).
PRODUCT_COLUMNS = ("sku", "name", "description", "category_id", "active")


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    slug: str
    parent_id: int | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "slug": self.slug, "parent_id": self.parent_id}


@dataclass(frozen=True)
class Product:
    id: int
    sku: str
    name: str
    description: str | None
    category_id: int
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class Price:
    """A product's price; the current one has no end (valid_to is None)."""

    product_id: int
    amount_cents: int
    currency: str = CURRENCY


@dataclass(frozen=True)
class Rating:
    average: float | None
    count: int


@dataclass(frozen=True)
class StockEntry:
    warehouse_id: int
    quantity: int


@dataclass(frozen=True)
class ProductFilter:
    """The list filters of GET /api/products."""

    q: str | None = None
    category_id: int | None = None
    active: bool | None = None
    min_price: int | None = None
    max_price: int | None = None


def slugify(name: str) -> str:
    """Return the category slug of `name`, as the monolith derives it."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def parse_stock(raw: list[Any]) -> list[StockEntry]:
    """Validate [{warehouse_id, quantity}] entries, naming every bad one."""
    entries, details = [], []
    for i, entry in enumerate(raw):
        ok = isinstance(entry, dict) and set(entry) == {"warehouse_id", "quantity"}
        ok = ok and all(isinstance(v, int) and not isinstance(v, bool) for v in entry.values())
        if not ok or entry["quantity"] < 0:
            details.append(
                {"field": f"stock[{i}]", "message": "must be {warehouse_id, quantity>=0}"}
            )
        else:
            entries.append(StockEntry(entry["warehouse_id"], entry["quantity"]))
    if details:
        raise ValidationFailed("the request has invalid fields", details=details)
    return entries


def price_changes(current: Price | None, new_cents: int) -> bool:
    """Tell whether setting `new_cents` opens a new price (closing the current one)."""
    return current is None or current.amount_cents != new_cents


def product_json(product: Product, price: Price | None, stock: int | None) -> dict[str, Any]:
    """The product as every catalog endpoint answers it."""
    return {
        "id": product.id,
        "sku": product.sku,
        "name": product.name,
        "description": product.description,
        "category_id": product.category_id,
        "active": product.active,
        "created_at": product.created_at.isoformat(),
        "price_cents": price.amount_cents if price else None,
        "currency": price.currency if price else None,
        "stock": stock or 0,
    }


def product_detail_json(
    product: Product, price: Price | None, stock: int, rating: Rating
) -> dict[str, Any]:
    """The product with its rating, as GET /api/products/<id> answers it."""
    body = product_json(product, price, stock)
    body["average_rating"] = round(rating.average, 2) if rating.average is not None else None
    body["review_count"] = rating.count
    return body
