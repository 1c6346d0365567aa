"""A service scaffolded from ShopCo: the demo's real traffic report and its live database.

The service is the context holding the products table, read with --db from the demo's
SQLite database. It is checked against the monolith's own models, started, migrated,
served, filled by CDC with its generated mapping, and routed in shadow mode.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from monolith.app import create_app
from monolith.config import MonolithConfig
from monolith.models import Base as MonolithBase
from strangler.cli import main
from tests.router.conftest import TOKEN
from tests.scaffold.helpers import generate_json, imported, outcomes, run_module, run_pytest

STRANGLER = str(Path(sys.executable).with_name("strangler"))
pytestmark = pytest.mark.slow  # the demo's traffic, then subprocesses: pytest, servers, CDC


@pytest.fixture(scope="module")
def products(shopco, tmp_path_factory) -> tuple[Path, dict, str]:
    """(service folder, --json output, ShopCo URL) for the context holding `products`."""
    report, url = shopco
    context = next(c["name"] for c in json.loads(report.read_text())["contexts"]
                   if "products" in c["tables"])  # fmt: skip
    folder = tmp_path_factory.mktemp("shopco-services") / "shop_products"
    generated = generate_json("shop_products", "--context", context, "--report", str(report),
                              "--db", url, "--out", str(folder))  # fmt: skip
    return folder, generated, url


def test_the_service_passes_its_generated_tests_with_every_endpoint_an_expected_failure(
    products,
) -> None:
    folder, generated, _ = products
    result = run_pytest(folder)
    assert result.returncode == 0, result.stdout[-3000:]
    assert outcomes(result) == {"passed": 7, "xfailed": len(generated["endpoints"])}
    assert len(generated["endpoints"]) >= 4  # products and categories, read and written


def test_with_a_monolith_given_reads_are_compared_with_it_by_the_parity_plugin(products) -> None:
    folder, generated, url = products
    app = create_app(MonolithConfig(database_url=url, log_level="WARNING"))
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        legacy = f"--legacy-url=http://127.0.0.1:{server.server_port}"
        expected = run_pytest(folder, legacy)
        shown = run_pytest(folder, legacy, "--runxfail")
    finally:
        server.shutdown()
        server.server_close()
        app.extensions["shopco"].engine.dispose()
    assert expected.returncode == 0, expected.stdout[-3000:]
    # each read: the plugin's diff against the monolith; each write: the stand-alone check
    reads = [e for e in generated["endpoints"] if e["endpoint"].startswith("GET ")]
    assert shown.stdout.count(": the candidate differs from the legacy app\n") == len(reads)
    assert "$status: legacy 200 != candidate 501" in shown.stdout
    stubs = [line for line in shown.stdout.splitlines()
             if line.startswith("E   ") and line.endswith("is still a stub")]  # fmt: skip
    assert len(stubs) == len(generated["endpoints"]) - len(reads)


def test_the_models_match_shopcos_own_tables_column_by_column(products) -> None:
    folder, generated, _ = products
    with imported(folder) as service:
        tables = service.models.Base.metadata.tables
        assert sorted(tables) == generated["tables"]
        for name, table in tables.items():
            legacy = MonolithBase.metadata.tables[name]
            assert [(c.name, c.nullable, c.primary_key) for c in table.columns] == [
                (c.name, c.nullable, c.primary_key) for c in legacy.columns
            ]
            assert {i.name for i in table.indexes} == {i.name for i in legacy.indexes}


def test_the_app_answers_its_probes_and_each_stub_names_its_endpoint(products, tmp_path) -> None:
    folder = products[0]
    url = f"sqlite:///{tmp_path / 'service.db'}"
    with imported(folder) as service:
        app = service.create_app(service.config.ServiceConfig(database_url=url))
        client = app.test_client()
        assert client.get("/health").get_json()["status"] == "ok"
        assert client.get("/ready").status_code == 503
        service.migrate.upgrade(url)
        assert client.get("/ready").status_code == 200
        for method, _, sample, key in service.api.ENDPOINTS:
            response = client.open(sample, method=method, json={} if method != "GET" else None)
            assert response.status_code == 501
            assert response.get_json()["error"]["details"][0]["endpoint"] == key
        app.extensions["shop_products.database"].engine.dispose()


def test_it_refuses_an_unmigrated_database_then_migrates_and_serves_over_http(
    products, tmp_path
) -> None:
    folder, _, _ = products
    db = f"sqlite:///{tmp_path / 'served.db'}"
    refused = run_module(folder, "serve", "--db", db)
    assert refused.returncode == 1
    assert "never migrated" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert run_module(folder, "migrate", "--db", db).returncode == 0
    server = subprocess.Popen(
        [sys.executable, "-m", folder.name, "serve", "--db", db, "--port", "0"],
        cwd=folder.parent, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        base = server.stdout.readline().strip().split()[-1]
        with urllib.request.urlopen(f"{base}/ready", timeout=10) as response:
            assert json.loads(response.read())["status"] == "ready"
    finally:
        server.terminate()
        server.wait(10)


def test_cdc_fills_the_service_from_shopco_with_the_generated_mapping(products, tmp_path) -> None:
    folder, generated, shop_url = products
    source = tmp_path / "shop.db"
    shutil.copy(shop_url.removeprefix("sqlite:///"), source)
    sink = f"sqlite:///{tmp_path / 'service.db'}"
    assert run_module(folder, "migrate", "--db", sink).returncode == 0
    tables = ",".join(generated["tables"])
    for args in (
        ["cdc", "setup", "--source", f"sqlite:///{source}", "--tables", tables],
        ["cdc", "run", "--source", f"sqlite:///{source}", "--sink", sink, "--once",
         "--transport", f"embedded:{tmp_path / 'log.db'}",
         "--mapping", str(folder / "cdc_mapping.toml")],
    ):  # fmt: skip
        done = subprocess.run([STRANGLER, *args], capture_output=True, text=True, timeout=120,
                              cwd=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
    legacy, service = create_engine(f"sqlite:///{source}"), create_engine(sink)
    try:
        for table in generated["tables"]:
            query = text(f"SELECT * FROM {table} ORDER BY id")
            with legacy.connect() as a, service.connect() as b:
                rows = a.execute(query).all()
                assert rows and b.execute(query).all() == rows
    finally:
        legacy.dispose()
        service.dispose()
    # the service's own tests hold on the database CDC filled, as for a parity run
    env = {**os.environ, "SHOP_PRODUCTS_TEST_DATABASE_URL": sink}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(folder)],
        cwd=folder.parent, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.slow
def test_the_routes_script_puts_every_endpoint_in_shadow_mode(
    products, upstream, start_router, tmp_path
) -> None:
    folder, generated, _ = products
    db = f"sqlite:///{tmp_path / 'routed.db'}"
    assert run_module(folder, "migrate", "--db", db).returncode == 0
    router = start_router(upstream("monolith").url)
    server = subprocess.Popen(
        [sys.executable, "-m", folder.name, "serve", "--db", db, "--port", "0"],
        cwd=folder.parent, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    env = {**os.environ, "STRANGLER_ADMIN_URL": router.admin_url,
           "STRANGLER_ADMIN_TOKEN": TOKEN, "STRANGLER": STRANGLER}  # fmt: skip
    try:
        assert server.stdout is not None
        env["SERVICE_URL"] = server.stdout.readline().strip().split()[-1]
        script = subprocess.run(["sh", str(folder / "routes.sh")], env=env,
                                capture_output=True, text=True, timeout=120)  # fmt: skip
        assert script.returncode == 0, script.stderr
    finally:
        server.terminate()
        server.wait(10)
    listed = CliRunner().invoke(main, ["routes", "list", "--json"], env=env)
    routes = {(r["path"], tuple(r["methods"])): r for r in json.loads(listed.output)["routes"]}
    assert len(routes) == len(generated["endpoints"])
    for endpoint in generated["endpoints"]:
        method = endpoint["endpoint"].split()[0]
        route = routes[(endpoint["route"], (method,))]
        assert (route["target"], route["mode"]) == ("shop_products", "shadow")
