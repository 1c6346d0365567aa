"""Fixtures for the extracted services: a seeded monolith and a service synced from it.

Every test runs on SQLite and on PostgreSQL. A "pair" is the monolith app and one
service app over databases holding the same data: the monolith seeded, the service
filled from it by the service's own CDC sync (initial snapshot), exactly as in
production. Tests then send the same requests to both and compare the answers.

Seeding and the initial sync are done once per session and backend ("golden"
databases); each test works on its own copies (SQLite's backup API, PostgreSQL's
CREATE DATABASE ... TEMPLATE), so tests stay independent and the suite stays fast.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

import parity
from extracted._service.config import ServiceConfig
from extracted._service.registry import service_module
from extracted._service.sync import SyncPlan, run_sync
from monolith.app import create_app as create_monolith
from monolith.config import MonolithConfig
from monolith.db import make_engine
from monolith.migrate import upgrade
from monolith.seed import seed
from tests.router.conftest import start_router

from .contract import service_rules

__all__ = ["start_router"]  # the router tests' fixture, for test_behind_router.py

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Databases:
    """Fresh and copied databases on one backend."""

    def __init__(self, backend: str, request: pytest.FixtureRequest, folder: Path) -> None:
        self.backend, self.request, self.folder = backend, request, folder

    def new(self, name: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.folder / name}-{uuid.uuid4().hex[:8]}.db"
        return str(self.request.getfixturevalue("postgres").create_database())

    def copy(self, url: str, name: str) -> str:
        """A new database holding what the one at `url` holds."""
        if self.backend == "sqlite":
            copy = self.new(name)
            with sqlite3.connect(_path(url)) as source, sqlite3.connect(_path(copy)) as target:
                source.backup(target)
            return copy
        server = self.request.getfixturevalue("postgres")
        database = f"t_{uuid.uuid4().hex[:12]}"
        conn = server.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{database}" TEMPLATE "{make_url(url).database}"')
        finally:
            conn.close()
        server.created.append(database)
        return str(server.url_for(database))


def _path(url: str) -> str:
    return str(make_url(url).database)


@pytest.fixture(scope="session")
def goldens() -> dict[tuple[str, ...], str]:
    """Databases built once per session: the seeded monolith, each synced service."""
    return {}


@pytest.fixture
def databases(backend: str, request: pytest.FixtureRequest, tmp_path) -> Databases:
    return Databases(backend, request, tmp_path)


@pytest.fixture
def new_database(databases: Databases) -> Callable[[str], str]:
    """Return a factory of fresh, empty databases on the test's backend."""
    return databases.new


def _golden_monolith(databases: Databases, goldens: dict[tuple[str, ...], str]) -> str:
    key = (databases.backend, "monolith")
    if key not in goldens:
        url = databases.new("golden-shop")
        upgrade(url)
        engine = make_engine(url)
        try:
            seed(engine, scale=1, seed=42)
        finally:
            engine.dispose()
        goldens[key] = url
    return goldens[key]


@pytest.fixture
def monolith_url(databases: Databases, goldens: dict[tuple[str, ...], str]) -> str:
    """A migrated ShopCo database seeded with the deterministic scale-1 data (a copy)."""
    return databases.copy(_golden_monolith(databases, goldens), "shop")


@dataclass
class Synced:
    """A service database filled from the monolith, and how to sync it again."""

    name: str
    url: str
    plan: SyncPlan

    def config(self, **overrides: Any) -> ServiceConfig:
        return ServiceConfig(
            name=self.name, database_url=self.url, log_level="WARNING", **overrides
        )

    def sync_once(self) -> None:
        run_sync(self.plan, service_module(self.name).SPEC.metadata, threading.Event(), once=True)


def synced_service(
    name: str, monolith_url: str, new_database, tmp_path, transport: str = "", prefix: str = ""
) -> Synced:
    """Migrate a new database for service `name` and fill it from `monolith_url` by CDC
    (through `transport`, default a new embedded log; topics `prefix`.*, default `name`)."""
    url = new_database(name)
    spec = service_module(name).SPEC
    spec.migrations.upgrade(url)
    plan = SyncPlan(
        service=name,
        source_url=monolith_url,
        target_url=url,
        mapping_path=str(spec.default_mapping),
        transport=transport or f"embedded:{tmp_path / name}-{uuid.uuid4().hex[:8]}-log.db",
        prefix=prefix or name,
    )
    synced = Synced(name, url, plan)
    synced.sync_once()
    return synced


@dataclass
class Pair:
    """The monolith and a service, as test clients, over the same data."""

    monolith: FlaskClient
    service: FlaskClient
    rules: parity.Rules

    def both(self, method: str, path: str, **kwargs: Any) -> tuple[Any, Any]:
        """Send one request to each; return both responses."""
        return (
            self.monolith.open(path, method=method, **kwargs),
            self.service.open(path, method=method, **kwargs),
        )


def service_copy(
    name: str, databases: Databases, goldens: dict[tuple[str, ...], str], tmp_path
) -> str:
    """A database of service `name` as its sync fills it from the seeded monolith (a copy)."""
    key = (databases.backend, name)
    if key not in goldens:
        golden_shop = _golden_monolith(databases, goldens)
        source = databases.copy(golden_shop, "sync-source")  # its slot stays off the golden
        goldens[key] = synced_service(name, source, databases.new, tmp_path).url
    return databases.copy(goldens[key], name)


def make_pair(
    name: str, databases: Databases, goldens: dict[tuple[str, ...], str], tmp_path
) -> Iterator[Pair]:
    service_url = service_copy(name, databases, goldens, tmp_path)
    monolith_url = databases.copy(_golden_monolith(databases, goldens), "shop")
    legacy: Flask = create_monolith(MonolithConfig(database_url=monolith_url, log_level="WARNING"))
    config = ServiceConfig(name=name, database_url=service_url, log_level="WARNING")
    service: Flask = service_module(name).create_app(config)
    yield Pair(legacy.test_client(), service.test_client(), service_rules(name))
    legacy.extensions["shopco"].engine.dispose()
    service.extensions["service_db"].engine.dispose()


@pytest.fixture
def catalog(databases: Databases, goldens, tmp_path) -> Iterator[Pair]:
    yield from make_pair("catalog", databases, goldens, tmp_path)


@pytest.fixture
def reviews(databases: Databases, goldens, tmp_path) -> Iterator[Pair]:
    yield from make_pair("reviews", databases, goldens, tmp_path)
