"""Small SQL helpers the services' repositories share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata() -> sa.MetaData:
    """A service's MetaData, naming constraints the same way on every backend (alembic)."""
    return sa.MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    """Naive UTC now: both backends store timestamps without a zone, as the monolith does."""
    return datetime.now(UTC).replace(tzinfo=None)


def count_rows(db: Session, stmt: sa.Select[Any]) -> int:
    """Count the rows `stmt` returns, without its ordering, limit and offset."""
    subquery = stmt.order_by(None).limit(None).offset(None).subquery()
    return int(db.scalar(sa.select(sa.func.count()).select_from(subquery)) or 0)


def exists(db: Session, table: sa.Table, where: Any) -> bool:
    """Tell whether any row of `table` matches `where`."""
    stmt = sa.select(sa.literal(1)).select_from(table).where(where).limit(1)
    return db.execute(stmt).first() is not None


def catch_up_sequence(db: Session, table: sa.Table) -> None:
    """Move PostgreSQL's id sequence of `table` past its highest id (no-op elsewhere).

    CDC inserts rows with the monolith's ids, which the sequence never sees. The lock
    (writers only; reads go on) keeps two inserts from taking the same id. SQLite
    already picks max(id) + 1.
    """
    if db.get_bind().dialect.name != "postgresql":
        return
    name = table.name
    db.execute(sa.text(f'LOCK TABLE "{name}" IN SHARE ROW EXCLUSIVE MODE'))
    db.execute(
        sa.text(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
            f'COALESCE((SELECT MAX(id) FROM "{name}"), 0) + 1, false)'
        )
    )
