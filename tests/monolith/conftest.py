"""Fixtures for the monolith suite: every API test runs on SQLite and on PostgreSQL.

Each backend gets ONE database per session, migrated once with alembic; every test starts
from empty tables (truncated before it runs), so tests are independent and cheap.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from monolith.app import create_app
from monolith.config import MonolithConfig
from monolith.db import make_engine
from monolith.migrate import upgrade
from monolith.models import Base

from .shopco_factories import Api, add_warehouses

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def fresh_database_url(backend: str, request: pytest.FixtureRequest, tmp_path_factory) -> str:
    """Return the URL of a new, empty database on `backend`."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('shopco') / 'shopco.db'}"
    return request.getfixturevalue("postgres").create_database()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory) -> str:
    url = fresh_database_url(request.param, request, tmp_path_factory)
    upgrade(url)
    return url


def empty_all_tables(engine: Engine) -> None:
    """Delete every row and restart ids, keeping the migrated schema."""
    tables = Base.metadata.sorted_tables
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(t.name for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                conn.execute(table.delete())


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    application = create_app(MonolithConfig(database_url=database_url, log_level="WARNING"))
    engine = application.extensions["shopco"].engine
    empty_all_tables(engine)
    yield application
    engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def api(client: FlaskClient, engine: Engine) -> Api:
    """The API helper, on a database holding two warehouses (ids 1 and 2)."""
    add_warehouses(engine, "AMS", "RTM")
    return Api(client)


@pytest.fixture
def engine(app: Flask) -> Engine:
    return app.extensions["shopco"].engine


@pytest.fixture
def scratch_engine(request, tmp_path_factory) -> Iterator[Engine]:
    """A separate engine on a brand-new migrated SQLite database (for seeding)."""
    url = fresh_database_url("sqlite", request, tmp_path_factory)
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()
