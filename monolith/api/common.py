"""Helpers every blueprint uses: pagination, serialisation, lookups, audit and outbox writes.

Audit and notification writes live here, called from every context, exactly the kind of
shared helper that ties a legacy monolith together.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any, TypeVar

from flask import request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from monolith.errors import not_found
from monolith.models import AuditEntry, Base, Customer, Notification, Price
from monolith.validation import query_int

M = TypeVar("M", bound=Base)

MAX_PER_PAGE = 100


def plain(value: Any) -> Any:
    """Make a column value JSON-friendly."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def as_dict(obj: Base, *exclude: str) -> dict[str, Any]:
    """Return a model's columns as a JSON-friendly dict."""
    return {
        col.key: plain(getattr(obj, col.key))
        for col in obj.__table__.columns
        if col.key not in exclude
    }


def page_args() -> tuple[int, int]:
    """Read ?page= and ?per_page= (1..100)."""
    page = query_int("page", 1, min=1)
    per_page = query_int("per_page", 20, min=1, max=MAX_PER_PAGE)
    return page, per_page


def paginate(
    db: Session, stmt: Select[Any], render: Callable[[Any], dict[str, Any]]
) -> dict[str, Any]:
    """Run `stmt` for the requested page and return {items, page, per_page, total}."""
    page, per_page = page_args()
    total = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.execute(stmt.limit(per_page).offset((page - 1) * per_page))
    items = [render(row[0] if len(row) == 1 else row) for row in rows]
    return {"items": items, "page": page, "per_page": per_page, "total": total or 0}


def get_or_404(db: Session, model: type[M], ident: int, kind: str | None = None) -> M:
    """Load one row by primary key or raise the 404 naming it."""
    obj = db.get(model, ident)
    if obj is None:
        raise not_found(kind or model.__tablename__.rstrip("s"), ident)
    return obj


def current_prices(db: Session, product_ids: Iterable[int]) -> dict[int, Price]:
    """Return the open (current) price of each product."""
    ids = list(set(product_ids))
    if not ids:
        return {}
    rows = db.scalars(select(Price).where(Price.product_id.in_(ids), Price.valid_to.is_(None)))
    return {price.product_id: price for price in rows}


def audit(db: Session, action: str, entity: str, entity_id: int | None, **details: Any) -> None:
    """Append one audit_log row for the current request's actor."""
    actor = request.headers.get("X-Actor", "api")[:100] if request else "system"
    db.add(
        AuditEntry(
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            details=json.dumps(details, sort_keys=True, default=str) if details else None,
        )
    )


def queue_email(db: Session, customer: Customer, kind: str, subject: str, body: str) -> None:
    """Put an e-mail to `customer` in the notifications outbox."""
    db.add(
        Notification(
            customer_id=customer.id,
            kind=kind,
            recipient=customer.email,
            subject=subject,
            body=body,
            status="queued",
        )
    )
