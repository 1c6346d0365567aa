"""Reports to scaffold from: ShopCo's (the demo's real traffic) and a small library's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from strangler.cli import main
from tests.router.conftest import start_router, upstream
from tests.scaffold.helpers import DATA

__all__ = ["start_router", "upstream"]  # the router's fixtures, for the routes.sh test


@pytest.fixture(scope="session")
def shopco(tmp_path_factory) -> tuple[Path, str]:
    """`strangler demo --step 1` on a fresh folder: (report.json, the ShopCo SQLite URL).

    Step 1 stops after the analysis, before the demo syncs the catalog by CDC, so the
    database carries no capture state of the demo's own and the tests sync it afresh.
    """
    folder = tmp_path_factory.mktemp("demo")
    subprocess.run(
        [sys.executable, "-m", "strangler", "demo", "--exit", "--step", "1", "--port", "0",
         "--dir", str(folder)],
        check=True, capture_output=True, timeout=240, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    return folder / "analysis" / "report.json", f"sqlite:///{folder / 'shopco.db'}"


@pytest.fixture(scope="session")
def library_report(tmp_path_factory) -> Path:
    """The analyzer's report on the library schema and its small attribution log."""
    out = tmp_path_factory.mktemp("library-analysis")
    result = CliRunner().invoke(main, [
        "analyze", "--schema", str(DATA / "library.sql"), "--log",
        str(DATA / "library_sql.jsonl"), "--dialect", "postgres", "--out", str(out),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    return out / "report.json"
