"""A service's database is filled from the monolith by its CDC mapping, and kept in sync.

The initial snapshot, then streaming while the monolith takes `strangler monolith
traffic`; afterwards every mapped table of the service equals the monolith's table
seen through the mapping (renamed columns, dropped columns, other table names).
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from cdc.mapping import load_mapping
from extracted._service.registry import service_module
from extracted._service.sync import SyncPlan, run_sync
from monolith.app import create_app as create_monolith
from monolith.config import MonolithConfig
from monolith.traffic import run_traffic
from tests.monolith.live_server import serving

from .conftest import synced_service


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _rows(url: str, table: str, columns: list[str], key: list[str]) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            found = sa.Table(table, sa.MetaData(), autoload_with=conn)
            stmt = sa.select(*(found.c[c] for c in columns)).order_by(*(found.c[k] for k in key))
            return [tuple(_plain(v) for v in row) for row in conn.execute(stmt)]
    finally:
        engine.dispose()


def mismatches(name: str, monolith_url: str, service_url: str) -> dict[str, str]:
    """Compare every mapped table; return {table: what differs} (empty when all agree)."""
    spec = service_module(name).SPEC
    differ = {}
    for table in load_mapping(spec.default_mapping).tables:
        target = spec.metadata.tables[table.target]
        renamed = {new: old for old, new in table.rename}
        columns = [c.name for c in target.columns]
        key = [c.name for c in target.primary_key.columns]
        expected = _rows(
            monolith_url, table.source, [renamed.get(c, c) for c in columns],
            [renamed.get(k, k) for k in key],
        )  # fmt: skip
        found = _rows(service_url, table.target, columns, key)
        if expected != found:
            differ[table.target] = f"{len(expected)} rows in the monolith, {len(found)} here"
    return differ


def traffic_while_syncing(monolith_url: str, plans: list[SyncPlan], requests: int) -> None:
    """Drive ShopCo's traffic while a sync worker per plan streams; then catch them all up."""
    stop = threading.Event()
    failures: list[BaseException] = []

    def work(plan: SyncPlan) -> None:
        try:
            run_sync(plan, service_module(plan.service).SPEC.metadata, stop)
        except BaseException as exc:  # the catch-up below would hide a dead worker
            failures.append(exc)

    workers = [threading.Thread(target=work, args=(plan,)) for plan in plans]
    for worker in workers:
        worker.start()
    app = create_monolith(MonolithConfig(database_url=monolith_url, log_level="WARNING"))
    try:
        with serving(app) as base_url:
            summary = run_traffic(base_url, requests=requests, seed=5)
    finally:
        stop.set()
        for worker in workers:
            worker.join(120)
        app.extensions["shopco"].engine.dispose()
    assert summary.ok, summary.as_dict()["error_samples"]
    assert failures == [], failures  # every worker streamed until told to stop
    for plan in plans:  # whatever a stopped worker had not applied yet
        run_sync(plan, service_module(plan.service).SPEC.metadata, threading.Event(), once=True)


@pytest.mark.parametrize("name", ["catalog", "reviews"])
def test_the_initial_snapshot_fills_every_mapped_table(name, monolith_url, new_database, tmp_path):
    synced = synced_service(name, monolith_url, new_database, tmp_path)
    assert mismatches(name, monolith_url, synced.url) == {}


# On PostgreSQL, streaming is exercised (through Kafka) by the test after this one.
@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("name", ["catalog", "reviews"])
def test_changes_stream_into_the_service_while_the_monolith_takes_traffic(
    name, monolith_url, new_database, tmp_path
):
    synced = synced_service(name, monolith_url, new_database, tmp_path)
    traffic_while_syncing(monolith_url, [synced.plan], requests=200)
    assert mismatches(name, monolith_url, synced.url) == {}


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_both_services_sync_from_one_postgres_monolith_through_kafka_at_once(
    monolith_url, new_database, tmp_path, kafka
):
    """As docker-compose runs them: one CDC worker per service, each with its own slot."""
    plans = []
    for name in ("catalog", "reviews"):
        url = new_database(name)
        spec = service_module(name).SPEC
        spec.migrations.upgrade(url)
        plans.append(SyncPlan(name, monolith_url, url, str(spec.default_mapping),
                              f"kafka:{kafka.bootstrap}", name))  # fmt: skip
    traffic_while_syncing(monolith_url, plans, requests=150)
    for plan in plans:
        assert mismatches(plan.service, monolith_url, plan.target_url) == {}, plan.service
