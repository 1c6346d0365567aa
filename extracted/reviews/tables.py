"""The reviews service's schema: the reviews it owns and the names and orders it reads.

Owned: reviews. Read copies, filled from the monolith by cdc.toml: product_names and
customer_names (for the list's names and the existence checks), orders and order_lines
(status and lines only: was the product bought, for `verified_purchase`).
No foreign keys: CDC orders each table's changes, not changes across tables.
"""

from __future__ import annotations

import sqlalchemy as sa

from extracted._service.sql import service_metadata

metadata = service_metadata()

reviews = sa.Table(
    "reviews", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("product_id", sa.Integer, nullable=False, index=True),
    sa.Column("customer_id", sa.Integer, nullable=False, index=True),
    sa.Column("rating", sa.Integer, nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=True),
    sa.Column("verified_purchase", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("product_id", "customer_id"),
)  # fmt: skip
product_names = sa.Table(
    "product_names", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(200), nullable=False),
)  # fmt: skip
customer_names = sa.Table(
    "customer_names", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(200), nullable=False),
)  # fmt: skip
orders = sa.Table(
    "orders", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("customer_id", sa.Integer, nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),
)  # fmt: skip
order_lines = sa.Table(
    "order_lines", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("order_id", sa.Integer, nullable=False, index=True),
    sa.Column("product_id", sa.Integer, nullable=False, index=True),
)  # fmt: skip

OWNED = (reviews,)
