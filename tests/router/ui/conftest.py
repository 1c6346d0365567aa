"""Fixtures for the dashboard tests: a router with a monolith and a catalog upstream, and
one headless Chromium (Debian's chromium + chromium-driver, Selenium 4) per session."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cdc import sink_state
from cdc.event import Message
from cdc.sink import Sink
from router.ui.data import DashboardConfig, load_config
from tests.router.conftest import TOKEN, Admin, serve_routes
from tests.services import unavailable

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)
SCREENSHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"
ROUTES = [
    {"id": "products", "path": "/api/products/**", "target": "catalog"},
    {"id": "reviews", "path": "/api/reviews/**", "target": "catalog", "mode": "shadow"},
]


@pytest.fixture
def dashboard(upstream: Any, start_router: Any) -> Any:
    """A running router: `products` (monolith) and `reviews` (shadow) routes to catalog."""
    mono, catalog, router = serve_routes(upstream, start_router, ROUTES)
    router.mono, router.catalog, router.admin = mono, catalog, Admin(router.admin_url)
    return router


@pytest.fixture(scope="session")
def _chromium() -> Iterator[Any]:
    how = "apt-get install chromium chromium-driver (scripts/ensure-services.sh does)"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            unavailable("chromium", f"{path} not found", how)
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("selenium", "the selenium package is not installed", "pip install -e .[dev]")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download a browser
    profile = tempfile.mkdtemp(prefix="strangler-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def browser(_chromium: Any) -> Any:
    """The session's browser with no cookies (each test logs in itself)."""
    _chromium.delete_all_cookies()
    return _chromium


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def sink_with(url: str, pipeline: str, lags: dict[str, int], dead: int = 0) -> None:
    """A sink database whose state says it applied 10 rows per table with these lags."""
    sink = Sink(url, pipeline=pipeline)
    with sink.engine.begin() as conn:
        for table, lag in lags.items():
            row = {"pipeline": pipeline, "target": table, "source_table": table}
            times = {"last_source_ms": 1, "last_apply_ms": 1 + lag, "last_lag_ms": lag}
            conn.execute(sink_state.STATS.insert().values(**row, **times, applied=10))
        for n in range(dead):
            value = b'{"source": {"table": "products"}, "op": "u"}'
            message = Message("shop.main.products", b'{"id": 7}', value)
            sink_state.add_dead(conn, pipeline, message, 0, n, "no such column: colour")
    sink.engine.dispose()


@pytest.fixture
def data_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DashboardConfig:
    forward, back = f"sqlite:///{tmp_path}/catalog.db", f"sqlite:///{tmp_path}/shop.db"
    sink_with(forward, "default", {"products": 120, "categories": 5}, dead=2)
    sink_with(back, "reviews-back", {"reviews": 40})
    sinks = f"forward catalog default {forward},reverse reviews reviews-back {back}"
    monkeypatch.setenv("STRANGLER_DASHBOARD_SINKS", sinks)
    monkeypatch.setenv("STRANGLER_DASHBOARD_HANDOVER", f"sqlite:///{tmp_path}/handover.db")
    return load_config()


__all__ = ["TOKEN"]


@pytest.fixture
def plan_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The analyzer's context map of the jpetstore sample in a report folder; its contexts."""
    from analysis.pipeline import Inputs, run
    from analysis.render_dot import contexts_dot

    app = Path(__file__).resolve().parents[2] / "analysis" / "data" / "jpetstore"
    analysis = run(Inputs(schema=(app / "schema.sql",), sql_dirs=(app / "actions",)))
    folder = tmp_path / "analysis"
    folder.mkdir()
    (folder / "contexts.dot").write_text(contexts_dot(analysis), encoding="utf-8")
    monkeypatch.setenv("STRANGLER_DASHBOARD_REPORT", str(folder / "report.json"))
    return [c.name for c in analysis.split.contexts]
