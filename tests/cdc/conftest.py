"""Fixtures shared by the CDC tests (the services themselves come from tests/conftest.py)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from cdc.capture_pg import PgCapture


@pytest.fixture
def pg_source(postgres):
    """A PostgreSQL database with products and notes tables, and a PgCapture on it."""
    url = postgres.create_database()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE products (id integer PRIMARY KEY, name text NOT NULL,"
            " price numeric(10, 2), added date, seen timestamptz, tags jsonb, ok boolean)"
        ))  # fmt: skip
        conn.execute(sa.text("CREATE TABLE notes (id bigint PRIMARY KEY, body text)"))
    slot = f"s_{uuid.uuid4().hex[:8]}"
    capture = PgCapture(url, prefix="pg", slot=slot)
    yield url, engine, capture
    capture.teardown()
    capture.close()
