"""Notifications context: the e-mail outbox and the dispatcher that empties it."""

from __future__ import annotations

from flask import Blueprint, request
from sqlalchemy import select

from monolith.api.common import as_dict, audit, paginate
from monolith.db import session
from monolith.models import Notification, utcnow
from monolith.validation import Field, json_body, query_choice, query_int, validate

bp = Blueprint("notifications", __name__, url_prefix="/api/notifications")

KINDS = ("welcome", "order_confirmation", "order_shipped", "order_cancelled", "refund")
DISPATCH = {"limit": Field(kind=int, min=1, max=1000)}


@bp.get("")
def list_notifications():
    stmt = select(Notification).order_by(Notification.id.desc())
    if (customer_id := query_int("customer_id")) is not None:
        stmt = stmt.where(Notification.customer_id == customer_id)
    if status := query_choice("status", ("queued", "sent")):
        stmt = stmt.where(Notification.status == status)
    if kind := query_choice("kind", KINDS):
        stmt = stmt.where(Notification.kind == kind)
    return paginate(session(), stmt, as_dict)


@bp.post("/dispatch")
def dispatch():
    """Hand up to `limit` queued e-mails to the mailer (here: mark them sent), oldest first."""
    # The cron job that calls this sends no body at all; an explicit body is validated.
    limit = validate(json_body() if request.content_length else {}, DISPATCH).get("limit", 100)
    db = session()
    queued = db.scalars(
        select(Notification)
        .where(Notification.status == "queued")
        .order_by(Notification.id)
        .limit(limit)
    ).all()
    now = utcnow()
    for notification in queued:
        notification.status, notification.sent_at = "sent", now
    audit(db, "notifications.dispatched", "notification", None, count=len(queued))
    db.commit()
    return {"dispatched": len(queued), "ids": [n.id for n in queued]}
