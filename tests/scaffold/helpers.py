"""Generating services into temporary folders, importing them and running their tests."""

from __future__ import annotations

import contextlib
import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from click.testing import CliRunner, Result

from strangler.cli.extract_scaffold import scaffold

DATA = Path(__file__).parent / "data"
LIBRARY_DDL = DATA / "library.sql"


def generate(*args: str, ok: bool = True) -> Result:
    """Run `strangler extract scaffold ARGS` (the click command itself)."""
    result = CliRunner().invoke(scaffold, list(args))
    if ok:
        assert result.exit_code == 0, result.output
    return result


def generate_json(*args: str) -> dict[str, Any]:
    return json.loads(generate(*args, "--json").output)  # type: ignore[no-any-return]


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`pytest FOLDER` in a fresh interpreter, from the folder's parent."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rxX", str(folder), *args],
        cwd=folder.parent, capture_output=True, text=True, timeout=240,
    )  # fmt: skip


def run_module(folder: Path, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    """`python -m PACKAGE ARGS` for a generated service outside any package."""
    return subprocess.run(
        [sys.executable, "-m", folder.name, *args],
        cwd=folder.parent, capture_output=True, text=True, timeout=60, **kw,
    )  # fmt: skip


@contextlib.contextmanager
def imported(folder: Path) -> Iterator[ModuleType]:
    """Import the generated package in this process; forget it afterwards."""
    sys.path.insert(0, str(folder.parent))
    try:
        package = importlib.import_module(folder.name)
        for module in ("api", "config", "db", "migrate", "models"):
            importlib.import_module(f"{folder.name}.{module}")
        yield package
    finally:
        sys.path.remove(str(folder.parent))
        for name in [n for n in sys.modules if n == folder.name or n.startswith(f"{folder.name}.")]:
            del sys.modules[name]


def outcomes(result: subprocess.CompletedProcess[str]) -> dict[str, int]:
    """Counts from pytest's last line: {'passed': 7, 'xfailed': 6}."""
    last = result.stdout.strip().splitlines()[-1]
    counts = {}
    for part in last.strip("= ").split(" in ")[0].split(", "):
        number, _, kind = part.partition(" ")
        counts[kind] = int(number)
    return counts
