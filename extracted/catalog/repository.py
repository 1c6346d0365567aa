"""The catalog's storage adapter: SQL over the service's own tables, domain values out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from extracted._service.sql import catch_up_sequence, count_rows, exists, utcnow
from extracted.catalog import tables as t
from extracted.catalog.domain import Category, Price, Product, ProductFilter, Rating, StockEntry


def _product(row: Any) -> Product:
    return Product(
        row.id, row.sku, row.name, row.description, row.category_id, row.is_active, row.created_at
    )


class CatalogRepository:
    """Reads and writes the catalog tables in one request's session."""

    def __init__(self, db: Session) -> None:
        self.db = db

    # categories
    def categories_page(self, limit: int, offset: int) -> tuple[list[tuple[Category, int]], int]:
        counts = (
            sa.select(t.products.c.category_id, sa.func.count(t.products.c.id).label("n"))
            .group_by(t.products.c.category_id)
            .subquery()
        )
        stmt = (
            sa.select(t.categories, sa.func.coalesce(counts.c.n, 0).label("product_count"))
            .outerjoin(counts, counts.c.category_id == t.categories.c.id)
            .order_by(t.categories.c.name)
        )
        rows = self.db.execute(stmt.limit(limit).offset(offset))
        found = [(Category(r.id, r.name, r.slug, r.parent_id), int(r.product_count)) for r in rows]
        return found, count_rows(self.db, sa.select(t.categories.c.id))

    def category_exists(self, category_id: int) -> bool:
        return exists(self.db, t.categories, t.categories.c.id == category_id)

    def category_name_taken(self, name: str, slug: str) -> bool:
        c = t.categories.c
        return exists(self.db, t.categories, sa.or_(c.name == name, c.slug == slug))

    def add_category(self, name: str, slug: str, parent_id: int | None) -> Category:
        values = {"name": name, "slug": slug, "parent_id": parent_id}
        new_id = self._insert(t.categories, values)
        return Category(new_id, name, slug, parent_id)

    # products
    def products_page(
        self, where: ProductFilter, limit: int, offset: int
    ) -> tuple[list[Product], int]:
        p = t.products.c
        stmt = sa.select(t.products).order_by(p.id)
        if where.q:
            stmt = stmt.where(sa.func.lower(p.name).like(f"%{where.q.lower()}%"))
        if where.category_id is not None:
            stmt = stmt.where(p.category_id == where.category_id)
        if where.active is not None:
            stmt = stmt.where(p.is_active == where.active)
        if where.min_price is not None or where.max_price is not None:
            pp = t.product_prices.c
            priced = sa.select(pp.product_id).where(pp.valid_to.is_(None))
            if where.min_price is not None:
                priced = priced.where(pp.amount_cents >= where.min_price)
            if where.max_price is not None:
                priced = priced.where(pp.amount_cents <= where.max_price)
            stmt = stmt.where(p.id.in_(priced))
        rows = self.db.execute(stmt.limit(limit).offset(offset))
        return [_product(r) for r in rows], count_rows(self.db, stmt)

    def product(self, product_id: int) -> Product | None:
        row = self.db.execute(sa.select(t.products).where(t.products.c.id == product_id)).first()
        return None if row is None else _product(row)

    def sku_taken(self, sku: str, other_than: int | None = None) -> bool:
        where = t.products.c.sku == sku
        if other_than is not None:
            where = where & (t.products.c.id != other_than)
        return exists(self.db, t.products, where)

    def add_product(self, values: dict[str, Any]) -> Product:
        row = {**_columns(values), "is_active": values.get("active", True), "created_at": utcnow()}
        row.setdefault("description", None)
        new_id = self._insert(t.products, row)
        return Product(
            new_id, row["sku"], row["name"], row["description"], row["category_id"],
            row["is_active"], row["created_at"],
        )  # fmt: skip

    def update_product(self, product_id: int, values: dict[str, Any]) -> None:
        row = _columns(values)
        if "active" in values:
            row["is_active"] = values["active"]
        if row:
            self.db.execute(
                sa.update(t.products).where(t.products.c.id == product_id).values(**row)
            )

    def delete_product(self, product_id: int) -> None:
        for table in (t.product_ratings, t.stock_levels, t.product_prices):
            self.db.execute(sa.delete(table).where(table.c.product_id == product_id))
        self.db.execute(sa.delete(t.products).where(t.products.c.id == product_id))

    def was_ordered(self, product_id: int) -> bool:
        return exists(self.db, t.ordered_products, t.ordered_products.c.product_id == product_id)

    # prices
    def current_prices(self, product_ids: Iterable[int]) -> dict[int, Price]:
        ids = sorted(set(product_ids))
        if not ids:
            return {}
        pp = t.product_prices.c
        rows = self.db.execute(
            sa.select(pp.product_id, pp.amount_cents, pp.currency).where(
                pp.product_id.in_(ids), pp.valid_to.is_(None)
            )
        )
        return {r.product_id: Price(r.product_id, r.amount_cents, r.currency) for r in rows}

    def open_price(self, product_id: int, amount_cents: int, currency: str) -> Price:
        """Close the product's current price (if any) and open a new one from now."""
        now = utcnow()
        pp = t.product_prices.c
        self.db.execute(
            sa.update(t.product_prices)
            .where(pp.product_id == product_id, pp.valid_to.is_(None))
            .values(valid_to=now)
        )
        self._insert(
            t.product_prices,
            {"product_id": product_id, "currency": currency, "amount_cents": amount_cents,
             "valid_from": now, "valid_to": None},
        )  # fmt: skip
        return Price(product_id, amount_cents, currency)

    # read copies
    def stock_totals(self, product_ids: Sequence[int]) -> dict[int, int]:
        if not product_ids:
            return {}
        s = t.stock_levels.c
        rows = self.db.execute(
            sa.select(s.product_id, sa.func.sum(s.quantity))
            .where(s.product_id.in_(list(product_ids)))
            .group_by(s.product_id)
        )
        return {pid: int(total or 0) for pid, total in rows}

    def unknown_warehouses(self, ids: Iterable[int]) -> list[int]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        w = t.warehouses.c
        known = set(self.db.scalars(sa.select(w.id).where(w.id.in_(wanted))))
        return [i for i in wanted if i not in known]

    def set_stock(self, product_id: int, entries: Sequence[StockEntry]) -> None:
        s = t.stock_levels.c
        for entry in entries:
            where = (s.product_id == product_id) & (s.warehouse_id == entry.warehouse_id)
            changed = self.db.execute(
                sa.update(t.stock_levels).where(where).values(quantity=entry.quantity)
            )
            if changed.rowcount == 0:  # type: ignore[attr-defined]
                self.db.execute(
                    sa.insert(t.stock_levels).values(
                        product_id=product_id,
                        warehouse_id=entry.warehouse_id,
                        quantity=entry.quantity,
                    )
                )

    def rating(self, product_id: int) -> Rating:
        r = t.product_ratings.c
        average, count = self.db.execute(
            sa.select(sa.func.avg(r.rating), sa.func.count(r.id)).where(r.product_id == product_id)
        ).one()
        return Rating(None if average is None else float(average), int(count))

    def commit(self) -> None:
        self.db.commit()

    def _insert(self, table: sa.Table, values: dict[str, Any]) -> int:
        catch_up_sequence(self.db, table)
        inserted = self.db.execute(sa.insert(table).values(**values).returning(table.c.id))
        return int(inserted.scalar_one())


def _columns(values: dict[str, Any]) -> dict[str, Any]:
    return {k: values[k] for k in ("sku", "name", "description", "category_id") if k in values}
