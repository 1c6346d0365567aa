"""Fixtures for the verify tests: real ShopCo apps on loopback, seeded the same way.

The legacy side is the ShopCo monolith on its own SQLite copy; the candidate is the same
code on another copy of the same seeded file, optionally wrapped by `Changed`, a WSGI
layer that injects a behaviour change (a rounding, a missing field, a wrong status),
as a buggy extraction would.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from monolith.app import create_app
from monolith.config import MonolithConfig
from monolith.db import make_engine
from monolith.migrate import upgrade
from monolith.seed import seed
from strangler.cli import main
from tests.monolith.live_server import serving

# (method, path, status, JSON body) -> (status, JSON body)
Change = Callable[[str, str, int, Any], tuple[int, Any]]


class Changed:
    """Wrap a WSGI app and rewrite its JSON answers with `change`."""

    def __init__(self, app: Any, change: Change) -> None:
        self.app, self.change = app, change

    def __call__(self, environ: dict[str, Any], start: Callable[..., Any]) -> list[bytes]:
        captured: dict[str, Any] = {}

        def keep(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        body = b"".join(self.app(environ, keep))
        status = int(captured["status"].split()[0])
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        if body and "json" in dict(headers).get("Content-Type", ""):
            method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
            status, data = self.change(method, path, status, json.loads(body))
            body = json.dumps(data).encode()
        start(f"{status} X", [*headers, ("Content-Length", str(len(body)))])
        return [body]


@pytest.fixture(autouse=True)
def no_router(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run where no strangler.toml or stored admin token points at a real router."""
    monkeypatch.chdir(tmp_path)
    for name in ("STRANGLER_ADMIN_URL", "STRANGLER_ADMIN_TOKEN", "STRANGLER_CONFIG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def seeded_shopco(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated ShopCo SQLite file with the deterministic scale-1 data set."""
    path = tmp_path_factory.mktemp("verify-seed") / "shopco.db"
    upgrade(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    seed(engine, scale=1)
    engine.dispose()
    return path


@pytest.fixture
def shopco(seeded_shopco: Path, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Serve a fresh copy of the seeded ShopCo, optionally changed: yields its base URL."""
    stack = contextlib.ExitStack()
    made = [0]

    def start(change: Change | None = None) -> str:
        made[0] += 1
        copy = tmp_path / f"shopco-{made[0]}.db"
        shutil.copy(seeded_shopco, copy)
        app = create_app(MonolithConfig(database_url=f"sqlite:///{copy}", log_level="WARNING"))
        if change is not None:
            app.wsgi_app = Changed(app.wsgi_app, change)  # type: ignore[method-assign,assignment]
        url = stack.enter_context(serving(app))
        start.databases[url] = copy  # type: ignore[attr-defined]
        return url

    start.databases = {}  # type: ignore[attr-defined]  # base URL -> its SQLite file
    with stack:
        yield start


def write_requests(path: Path, requests: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in requests), encoding="utf-8")
    return str(path)


def run_verify(*args: str) -> Result:
    """Run `strangler verify ARGS` in-process."""
    return CliRunner().invoke(main, ["verify", *args], catch_exceptions=False)


def verify_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = run_verify(*args, "--json")
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def route_of(report: dict[str, Any], route: str) -> dict[str, Any]:
    return next(r for r in report["routes"] if r["route"] == route)


from tests.router.conftest import start_router, upstream  # noqa: E402, F401 - shared fixtures
