"""`strangler extract serve` and `strangler monolith serve` with gunicorn worker processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from extracted.catalog.app import SPEC
from tests.services._common import free_port, wait_until

# Two worker processes are enough to show the multi-process server; SQLite keeps it local.
pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return 0, {}


def _serve(args: list[str], env: dict[str, str], cwd: Path, port: int) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "strangler", *args, "--port", str(port), "--workers", "2"]
    return subprocess.Popen(command, env={**os.environ, **env}, cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    return err


def test_a_service_serves_with_gunicorn_workers(tmp_path, monolith_url):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    SPEC.migrations.upgrade(url)
    port = free_port()
    env = {"STRANGLER_CATALOG_DATABASE_URL": url, "STRANGLER_CATALOG_REQUIRE_SNAPSHOT": "false"}
    server = _serve(["extract", "serve", "catalog"], env, tmp_path, port)
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_until(
            lambda: _get(f"{base}/health")[0] == 200, lambda: server.poll() is None, 30
        )
        assert _get(f"{base}/ready") == (200, {"status": "ready", "service": "catalog",
                                               "database": "sqlite"})  # fmt: skip
        assert _get(f"{base}/api/products")[1]["total"] == 0
    finally:
        err = _stop(server)
    assert "Booting worker" in err and server.returncode == 0


def test_the_monolith_serves_with_gunicorn_workers(tmp_path, monolith_url):
    port = free_port()
    server = _serve(["monolith", "serve"], {"DATABASE_URL": monolith_url}, tmp_path, port)
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_until(
            lambda: _get(f"{base}/health")[0] == 200, lambda: server.poll() is None, 30
        )
        assert _get(f"{base}/api/products/1")[0] == 200
    finally:
        err = _stop(server)
    assert err.count("Booting worker") == 2
