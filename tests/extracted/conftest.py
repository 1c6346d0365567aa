"""Fixtures for the extracted services: a seeded monolith and a service synced from it.

Every test runs on SQLite and on PostgreSQL. A "pair" is the monolith app and one
service app over databases holding the same data: the monolith seeded, the service
filled from it by the service's own CDC sync (initial snapshot), exactly as in
production. Tests then send the same requests to both and compare the answers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from extracted._service.config import ServiceConfig
from extracted._service.registry import service_module
from extracted._service.sync import SyncPlan, run_sync
from monolith.app import create_app as create_monolith
from monolith.config import MonolithConfig
from monolith.db import make_engine
from monolith.migrate import upgrade
from monolith.seed import seed

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def new_database(backend: str, request: pytest.FixtureRequest, tmp_path) -> Callable[[str], str]:
    """Return a factory of fresh, empty databases on the test's backend."""

    def make(name: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / name}.db"
        return str(request.getfixturevalue("postgres").create_database())

    return make


@pytest.fixture
def monolith_url(new_database: Callable[[str], str]) -> str:
    """A migrated ShopCo database seeded with the deterministic scale-1 data."""
    url = new_database("shop")
    upgrade(url)
    engine = make_engine(url)
    try:
        seed(engine, scale=1, seed=42)
    finally:
        engine.dispose()
    return url


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


def synced_service(name: str, monolith_url: str, new_database, tmp_path) -> Synced:
    url = new_database(name)
    spec = service_module(name).SPEC
    spec.migrations.upgrade(url)
    plan = SyncPlan(
        service=name,
        source_url=monolith_url,
        target_url=url,
        mapping_path=str(spec.default_mapping),
        transport=f"embedded:{tmp_path / name}-log.db",
        prefix=name,
    )
    synced = Synced(name, url, plan)
    synced.sync_once()
    return synced


@dataclass
class Pair:
    """The monolith and a service, as test clients, over the same data."""

    monolith: FlaskClient
    service: FlaskClient
    synced: Synced

    def both(self, method: str, path: str, **kwargs: Any) -> tuple[Any, Any]:
        """Send one request to each; return both responses."""
        return (
            self.monolith.open(path, method=method, **kwargs),
            self.service.open(path, method=method, **kwargs),
        )


def make_pair(name: str, monolith_url: str, new_database, tmp_path) -> Iterator[Pair]:
    synced = synced_service(name, monolith_url, new_database, tmp_path)
    legacy: Flask = create_monolith(MonolithConfig(database_url=monolith_url, log_level="WARNING"))
    service: Flask = service_module(name).create_app(synced.config())
    yield Pair(legacy.test_client(), service.test_client(), synced)
    legacy.extensions["shopco"].engine.dispose()
    service.extensions["service_db"].engine.dispose()


@pytest.fixture
def catalog(monolith_url: str, new_database, tmp_path) -> Iterator[Pair]:
    yield from make_pair("catalog", monolith_url, new_database, tmp_path)


@pytest.fixture
def reviews(monolith_url: str, new_database, tmp_path) -> Iterator[Pair]:
    yield from make_pair("reviews", monolith_url, new_database, tmp_path)
