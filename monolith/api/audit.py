"""Audit context: the trail every write appends to (through api.common.audit)."""

from __future__ import annotations

from flask import Blueprint, request
from sqlalchemy import select

from monolith.api.common import as_dict, paginate
from monolith.db import session
from monolith.models import AuditEntry
from monolith.validation import query_int

bp = Blueprint("audit", __name__, url_prefix="/api")


@bp.get("/audit-log")
def audit_log():
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if entity := request.args.get("entity"):
        stmt = stmt.where(AuditEntry.entity == entity)
    if action := request.args.get("action"):
        stmt = stmt.where(AuditEntry.action == action)
    if (entity_id := query_int("entity_id")) is not None:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    return paginate(session(), stmt, as_dict)
