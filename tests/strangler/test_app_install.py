"""What runs inside a user's app installs next to the newest Flask and SQLAlchemy.

`pip install strangler` (no extras) must bring the SQL attribution hook and the pytest
parity plugin with flask, sqlalchemy and click only: mitmproxy pins an old Flask, so an
app on the newest one could not install us if the tools came along. Each supported Python
gets a fresh venv with our wheel plus the newest Flask, SQLAlchemy and pytest from the
package index, and the hook's and the plugin's tests run there, outside this repository.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services._common import REPO_ROOT, unavailable

pytestmark = pytest.mark.slow

PYTHONS = ("3.11", "3.12", "3.13")
# Test files that must pass against an installed strangler, copied out of the repository.
APP_SIDE_TESTS = (
    "tests/strangler/test_attribution.py",
    "tests/parity/test_json_compare.py",
    "tests/parity/test_html_compare.py",
    "tests/parity/test_pytest_plugin.py",
)
TOOLS_ONLY = ("mitmproxy", "kafka-python", "psycopg2-binary", "sqlglot", "alembic", "rich")


def find_python(version: str) -> str | None:
    """Find an interpreter for `version`: this one, pyenv's, or one on PATH."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv")]
    for root in filter(None, roots):
        found = sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}"))
        if found:
            return found[-1]
    return shutil.which(f"python{version}")


def run(*args: str, cwd: Path | None = None, timeout: float = 300) -> str:
    done = subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run(
        sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(REPO_ROOT)
    )
    (built,) = out.glob("strangler-*.whl")
    return built


@pytest.mark.parametrize("version", PYTHONS)
def test_hook_and_plugin_install_and_pass_beside_the_newest_flask(
    version: str, wheel: Path, tmp_path: Path
) -> None:
    python = find_python(version)
    if python is None:
        unavailable(f"Python {version}", "no interpreter found", "install it with pyenv")
    venv = tmp_path / "venv"
    run(python, "-m", "venv", str(venv))
    vpy = str(venv / "bin" / "python")
    run(vpy, "-m", "pip", "install", "--quiet", "--upgrade", str(wheel), "flask", "sqlalchemy")
    run(vpy, "-m", "pip", "install", "--quiet", "--upgrade", "pytest")

    installed = run(vpy, "-m", "pip", "list", "--format=freeze").lower()
    assert not [name for name in TOOLS_ONLY if f"\n{name}==" in f"\n{installed}"], installed
    newest = run(vpy, "-m", "pip", "index", "versions", "flask").split("\n")[0]
    assert f"flask=={newest.split('(')[1].rstrip(')')}" in installed, (newest, installed)

    strangler = str(venv / "bin" / "strangler")
    assert "analyze" in run(strangler, "--help")
    source, sink = f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"
    missing = subprocess.run(
        [strangler, "cdc", "run", "--source", source, "--sink", sink, "--once"],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 1
    assert re.fullmatch(
        r"Error: strangler cdc needs the '\w+' extra \(module '\w+' is not installed\): "
        r"pip install 'strangler\[\w+\]'",
        missing.stderr.strip(),
    ), missing.stderr

    work = tmp_path / "app"
    work.mkdir()
    (work / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    for test in APP_SIDE_TESTS:
        shutil.copy(REPO_ROOT / test, work / Path(test).name)
    output = run(vpy, "-m", "pytest", "-q", cwd=work)
    assert " passed" in output and "failed" not in output, output
