"""The catalog service's own schema: what it owns, and the read copies it keeps by CDC.

Owned (the service writes them): categories, products, product_prices. Read copies,
filled from the monolith by cdc.toml and never the service's to change, apart from the
product admin's stock (see parity.toml): stock_levels (for stock totals), warehouses
(to check warehouse ids), product_ratings (from reviews: rating only) and
ordered_products (from order_lines: whether a product was ever ordered).

No foreign keys between these tables: CDC delivers each table's changes in order, but
not one table's relative to another's, so a price may arrive before its product.
"""

from __future__ import annotations

import sqlalchemy as sa

from extracted._service.sql import service_metadata

metadata = service_metadata()

categories = sa.Table(
    "categories", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("slug", sa.String(100), nullable=False, unique=True),
    sa.Column("parent_id", sa.Integer, nullable=True),
)  # fmt: skip
products = sa.Table(
    "products", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sku", sa.String(40), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False, index=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("category_id", sa.Integer, nullable=False, index=True),
    # The monolith's `active`; renamed by the mapping to say what it holds.
    sa.Column("is_active", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)  # fmt: skip
product_prices = sa.Table(
    "product_prices", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("product_id", sa.Integer, nullable=False, index=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("amount_cents", sa.Integer, nullable=False),
    sa.Column("valid_from", sa.DateTime, nullable=False),
    sa.Column("valid_to", sa.DateTime, nullable=True),
)  # fmt: skip
stock_levels = sa.Table(
    "stock_levels", metadata,
    sa.Column("product_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("warehouse_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("quantity", sa.Integer, nullable=False),
)  # fmt: skip
warehouses = sa.Table(
    "warehouses", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("code", sa.String(20), nullable=False),
)  # fmt: skip
product_ratings = sa.Table(
    "product_ratings", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("product_id", sa.Integer, nullable=False, index=True),
    sa.Column("rating", sa.Integer, nullable=False),
)  # fmt: skip
ordered_products = sa.Table(
    "ordered_products", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("product_id", sa.Integer, nullable=False, index=True),
)  # fmt: skip

OWNED = (categories, products, product_prices)
