"""The dashboard's templates and static files ship in the wheel (not only in a checkout)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
UI = REPO_ROOT / "router" / "ui"


@pytest.mark.slow
def test_the_wheel_carries_every_template_and_static_file(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path),
         str(REPO_ROOT)],
        check=True,
    )  # fmt: skip
    (built,) = tmp_path.glob("strangler-*.whl")
    names = set(zipfile.ZipFile(built).namelist())
    wanted = {
        str(path.relative_to(REPO_ROOT))
        for folder in ("templates", "static")
        for path in (UI / folder).iterdir()
    }
    assert wanted and wanted <= names, sorted(wanted - names)
