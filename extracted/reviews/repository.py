"""The reviews storage adapter: SQL over the service's own tables, domain values out."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from extracted._service.sql import catch_up_sequence, count_rows, exists, utcnow
from extracted.reviews import tables as t
from extracted.reviews.domain import Review, ReviewFilter


def _review(row: Any) -> Review:
    return Review(
        row.id, row.product_id, row.customer_id, row.rating, row.title, row.body,
        row.verified_purchase, row.created_at,
    )  # fmt: skip


class ReviewsRepository:
    """Reads and writes the reviews tables in one request's session."""

    def __init__(self, db: Session) -> None:
        self.db = db

    def page(
        self, where: ReviewFilter, limit: int, offset: int
    ) -> tuple[list[tuple[Review, str, str]], int]:
        r = t.reviews.c
        stmt = (
            sa.select(t.reviews, t.product_names.c.name.label("product_name"),
                      t.customer_names.c.name.label("customer_name"))
            .join(t.product_names, t.product_names.c.id == r.product_id)
            .join(t.customer_names, t.customer_names.c.id == r.customer_id)
            .order_by(r.id.desc())
        )  # fmt: skip
        if where.product_id is not None:
            stmt = stmt.where(r.product_id == where.product_id)
        if where.customer_id is not None:
            stmt = stmt.where(r.customer_id == where.customer_id)
        if where.min_rating is not None:
            stmt = stmt.where(r.rating >= where.min_rating)
        rows = self.db.execute(stmt.limit(limit).offset(offset))
        found = [(_review(row), row.product_name, row.customer_name) for row in rows]
        return found, count_rows(self.db, stmt)

    def review(self, review_id: int) -> Review | None:
        row = self.db.execute(sa.select(t.reviews).where(t.reviews.c.id == review_id)).first()
        return None if row is None else _review(row)

    def product_exists(self, product_id: int) -> bool:
        return exists(self.db, t.product_names, t.product_names.c.id == product_id)

    def customer_exists(self, customer_id: int) -> bool:
        return exists(self.db, t.customer_names, t.customer_names.c.id == customer_id)

    def already_reviewed(self, product_id: int, customer_id: int) -> bool:
        r = t.reviews.c
        return exists(
            self.db, t.reviews, (r.product_id == product_id) & (r.customer_id == customer_id)
        )

    def bought(self, customer_id: int, product_id: int) -> bool:
        """Tell whether the customer has a line of the product in an order not cancelled."""
        o, line = t.orders.c, t.order_lines.c
        stmt = (
            sa.select(line.id)
            .join(t.orders, o.id == line.order_id)
            .where(o.customer_id == customer_id, line.product_id == product_id,
                   o.status != "cancelled")
            .limit(1)
        )  # fmt: skip
        return self.db.execute(stmt).first() is not None

    def add(self, data: dict[str, Any], verified: bool) -> Review:
        values = {
            "product_id": data["product_id"], "customer_id": data["customer_id"],
            "rating": data["rating"], "title": data["title"], "body": data.get("body"),
            "verified_purchase": verified, "created_at": utcnow(),
        }  # fmt: skip
        catch_up_sequence(self.db, t.reviews)
        new_id = self.db.execute(sa.insert(t.reviews).values(**values).returning(t.reviews.c.id))
        return Review(id=int(new_id.scalar_one()), **values)

    def delete(self, review_id: int) -> None:
        self.db.execute(sa.delete(t.reviews).where(t.reviews.c.id == review_id))

    def commit(self) -> None:
        self.db.commit()
