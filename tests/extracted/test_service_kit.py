"""What every service gets from the kit: probes, metrics, request ids, clear start-up errors."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from extracted._service.config import ServiceConfig
from extracted._service.errors import ServiceError
from extracted._service.sync import SyncPlan, run_sync
from extracted.catalog.app import SPEC, create_app

STRANGLER = [sys.executable, "-m", "strangler"]


def _config(url: str, **extra) -> ServiceConfig:
    return ServiceConfig(name="catalog", database_url=url, log_level="INFO", **extra)


@pytest.mark.parametrize("name", ["catalog", "reviews"])
def test_each_service_s_migration_creates_exactly_its_tables(tmp_path, name):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from extracted._service.database import make_engine
    from extracted._service.registry import service_module

    spec = service_module(name).SPEC
    url = f"sqlite:///{tmp_path / name}.db"
    assert spec.migrations.upgrade(url) == spec.migrations.head()
    engine = make_engine(url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), spec.metadata) == []
    engine.dispose()


def test_ready_waits_for_the_migration_and_the_initial_snapshot(tmp_path, monolith_url):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    client = create_app(_config(url)).test_client()
    assert client.get("/health").get_json() == {"status": "ok", "service": "catalog"}
    unmigrated = client.get("/ready")
    assert unmigrated.status_code == 503
    assert "strangler extract migrate catalog" in unmigrated.get_json()["error"]["message"]
    SPEC.migrations.upgrade(url)
    unsynced = client.get("/ready")
    assert unsynced.status_code == 503
    assert "initial CDC snapshot" in unsynced.get_json()["error"]["message"]
    plan = SyncPlan("catalog", monolith_url, url, str(SPEC.default_mapping),
                    f"embedded:{tmp_path / 'log.db'}", "catalog")  # fmt: skip
    run_sync(plan, SPEC.metadata, threading.Event(), once=True)
    assert client.get("/ready").get_json()["status"] == "ready"


def test_a_service_that_owns_its_data_is_ready_without_a_snapshot(tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    SPEC.migrations.upgrade(url)
    client = create_app(_config(url, require_snapshot=False)).test_client()
    assert client.get("/ready").status_code == 200


def test_metrics_count_requests_latency_and_errors_by_route(tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    SPEC.migrations.upgrade(url)
    client = create_app(_config(url, require_snapshot=False)).test_client()
    client.get("/api/products")
    client.get("/api/products/12345")
    text = client.get("/metrics").get_data(as_text=True)
    products, product = 'route="/api/products"', 'route="/api/products/<int:product_id>"'
    assert (
        f'catalog_service_http_requests_total{{method="GET",{products},status="200"}} 1.0' in text
    )
    assert f'catalog_service_http_errors_total{{method="GET",{product},status="404"}} 1.0' in text
    assert f'duration_seconds_count{{method="GET",{products}}} 1.0' in text


def test_the_log_line_carries_the_request_id_and_traceparent(tmp_path, caplog):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    SPEC.migrations.upgrade(url)
    client = create_app(_config(url, require_snapshot=False)).test_client()
    logger = logging.getLogger("extracted")
    logger.addHandler(caplog.handler)
    try:
        parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        answer = client.get(
            "/api/categories", headers={"X-Request-ID": "req-42", "traceparent": parent}
        )
        traced = client.get("/api/categories", headers={"traceparent": parent})
    finally:
        logger.removeHandler(caplog.handler)
    assert answer.headers["X-Request-ID"] == "req-42"
    assert traced.headers["X-Request-ID"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    from extracted._service.observability import JsonFormatter

    lines = [
        json.loads(JsonFormatter().format(r)) for r in caplog.records if r.getMessage() == "request"
    ]
    assert lines[0]["request_id"] == "req-42" and lines[0]["traceparent"] == parent
    assert lines[0]["route"] == "/api/categories" and lines[0]["status"] == 200


def _mapping(tmp_path: Path, text: str) -> str:
    path = tmp_path / "map.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[tables.products]\ntarget = "goods"\n', "target table 'goods' does not exist"),
        ('[tables.products]\nrename = { active = "enabled" }\n', "column 'enabled' does not exist"),
        ("[tables.products]\nbogus = 1\n", "unknown key(s) ['bogus']"),
    ],
)
def test_a_mapping_naming_an_unknown_table_or_column_fails_at_start_up(tmp_path, text, named):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    with pytest.raises(
        ServiceError, match=named.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    ):
        create_app(_config(url, mapping=_mapping(tmp_path, text)))


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[tables.productz]\ntarget = "products"\n', "source table 'productz' does not exist"),
        ('[tables.products]\ndrop = ["colour"]\n', "column 'colour' does not exist in source"),
        ("[tables.products]\n", "source column 'active' has no column in target table"),
    ],
)
def test_a_mapping_wrong_about_the_monolith_fails_when_sync_starts(
    tmp_path, monolith_url, text, named
):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    SPEC.migrations.upgrade(url)
    plan = SyncPlan("catalog", monolith_url, url, _mapping(tmp_path, text),
                    f"embedded:{tmp_path / 'log.db'}", "catalog")  # fmt: skip
    with pytest.raises(ServiceError, match=named):
        run_sync(plan, SPEC.metadata, threading.Event(), once=True)


def _cli(*args: str, env_url: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {"PATH": "/usr/bin:/bin", "STRANGLER_CATALOG_DATABASE_URL": env_url, **env}
    return subprocess.run([*STRANGLER, *args], capture_output=True, text=True, env=environ,
                          cwd=cwd, timeout=120)  # fmt: skip


def test_serve_on_an_unmigrated_database_says_so_in_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    done = _cli("extract", "serve", "catalog", "--port", "0", env_url=url, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"Error: the catalog database {url} is not migrated; "
        "run `strangler extract migrate catalog` first"
    ]


def test_migrate_upgrades_and_an_unknown_service_is_named(tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    done = _cli("extract", "migrate", "catalog", "--json", env_url=url, cwd=tmp_path)
    assert json.loads(done.stdout) == {"service": "catalog", "revision": "0001"}
    unknown = _cli("extract", "migrate", "billing", env_url=url, cwd=tmp_path)
    assert unknown.returncode == 1
    assert "unknown service 'billing' (known: catalog, reviews)" in unknown.stderr


def test_serve_with_a_mapping_naming_an_unknown_column_says_so_in_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    SPEC.migrations.upgrade(url)
    mapping = _mapping(tmp_path, '[tables.products]\nrename = { active = "enabled" }\n')
    done = _cli("extract", "serve", "catalog", env_url=url, cwd=tmp_path,
                STRANGLER_CATALOG_MAPPING=mapping)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"Error: mapping {mapping}: [tables.products]: column 'enabled' does not exist in "
        "target table 'products'"
    ]


def test_sync_once_fills_the_service_and_makes_it_ready(tmp_path, monolith_url):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    assert _cli("extract", "migrate", "catalog", env_url=url, cwd=tmp_path).returncode == 0
    without_source = _cli("extract", "sync", "catalog", "--once", env_url=url, cwd=tmp_path)
    assert without_source.returncode == 2
    assert "--source is required (or set [catalog] cdc_source)" in without_source.stderr
    log = f"embedded:{tmp_path / 'log.db'}"
    args = ("extract", "sync", "catalog", "--once", "--source", monolith_url, "--transport", log)
    done = _cli(*args, env_url=url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "catalog: initial snapshot applied" in done.stdout
    client = create_app(_config(url)).test_client()
    assert client.get("/ready").status_code == 200
    assert client.get("/api/products").get_json()["total"] == 200


def test_gunicorn_workers_need_a_fixed_port(tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    SPEC.migrations.upgrade(url)
    done = _cli("extract", "serve", "catalog", "--port", "0", "--workers", "2",
                env_url=url, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2
    assert "--workers N > 1 needs a fixed --port" in done.stderr


def test_each_bundled_service_has_its_own_default_port_and_settings_override_it():
    from extracted._service.config import load_config

    assert load_config("catalog", environ={}).port == 5001
    assert load_config("reviews", environ={}).port == 5002
    assert load_config("reviews", environ={"STRANGLER_REVIEWS_PORT": "7000"}).port == 7000
    assert load_config("reviews", environ={}, overrides={"port": 7001}).port == 7001
