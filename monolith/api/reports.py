"""Reports context: the sales report, in hand-written SQL across four contexts."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, request
from sqlalchemy import DateTime, bindparam, text

from monolith.api.common import plain
from monolith.db import session
from monolith.errors import ValidationFailed
from monolith.validation import query_choice

bp = Blueprint("reports", __name__, url_prefix="/api")

# Written by hand years ago and never ported to the ORM; it reads four contexts at once.
SALES_BY = {
    "category": """
        SELECT c.name AS key, COUNT(DISTINCT o.id) AS orders, SUM(ol.quantity) AS units,
               SUM(ol.line_total_cents) AS revenue_cents
        FROM orders o
        JOIN order_lines ol ON ol.order_id = o.id
        JOIN products p ON p.id = ol.product_id
        JOIN categories c ON c.id = p.category_id
        WHERE o.status <> 'cancelled' AND o.created_at >= :start AND o.created_at < :end
        GROUP BY c.name
        ORDER BY revenue_cents DESC, c.name
    """,
    "day": """
        SELECT DATE(o.created_at) AS key, COUNT(DISTINCT o.id) AS orders, SUM(ol.quantity) AS units,
               SUM(ol.line_total_cents) AS revenue_cents
        FROM orders o
        JOIN order_lines ol ON ol.order_id = o.id
        WHERE o.status <> 'cancelled' AND o.created_at >= :start AND o.created_at < :end
        GROUP BY DATE(o.created_at)
        ORDER BY key
    """,
}


def _date_arg(name: str, default: datetime) -> datetime:
    raw = request.args.get(name)
    if not raw:
        return default
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            f"query parameter {name} must be a date",
            details=[{"field": name, "message": "must be an ISO date like 2026-01-31"}],
        ) from None


@bp.get("/reports/sales")
def sales_report():
    group_by = query_choice("group_by", tuple(SALES_BY), "category")
    assert group_by is not None
    start = _date_arg("from", datetime(2000, 1, 1))
    end = _date_arg("to", datetime(2100, 1, 1))
    if end <= start:
        raise ValidationFailed(
            "to must be after from", details=[{"field": "to", "message": "must be after from"}]
        )
    stmt = text(SALES_BY[group_by]).bindparams(
        bindparam("start", type_=DateTime), bindparam("end", type_=DateTime)
    )
    rows = session().execute(stmt, {"start": start, "end": end}).mappings()
    groups = [
        {
            "key": str(plain(r["key"])),
            "orders": int(r["orders"]),
            "units": int(r["units"] or 0),
            "revenue_cents": int(r["revenue_cents"] or 0),
        }
        for r in rows
    ]
    return {
        "group_by": group_by,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "groups": groups,
        "total_revenue_cents": sum(g["revenue_cents"] for g in groups),
    }
