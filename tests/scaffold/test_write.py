"""Where the service lands: its package name, inside a package or on its own."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from scaffold.errors import ScaffoldError
from scaffold.write import package_name
from tests.scaffold.helpers import LIBRARY_DDL, generate_json


def test_a_folder_inside_packages_is_named_with_them(tmp_path) -> None:
    (tmp_path / "shop" / "services").mkdir(parents=True)
    (tmp_path / "shop" / "__init__.py").touch()
    (tmp_path / "shop" / "services" / "__init__.py").touch()
    assert package_name(tmp_path / "shop" / "services" / "billing") == "shop.services.billing"
    assert package_name(tmp_path / "billing") == "billing"


def test_a_folder_name_that_is_no_package_name_is_refused(tmp_path) -> None:
    with pytest.raises(ScaffoldError, match="'my-service' is not a Python package name"):
        package_name(tmp_path / "my-service")


def test_a_service_generated_inside_a_package_migrates_as_part_of_it(
    library_report, tmp_path
) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").touch()
    out = tmp_path / "shop" / "members"
    contexts = json.loads(library_report.read_text())["contexts"]
    context = next(c["name"] for c in contexts if "members" in c["tables"])
    data = generate_json("members", "--context", context, "--report", str(library_report),
                         "--schema", str(LIBRARY_DDL), "--out", str(out))  # fmt: skip
    assert data["package"] == "shop.members"
    db = f"sqlite:///{tmp_path / 'members.db'}"
    done = subprocess.run([sys.executable, "-m", "shop.members", "migrate", "--db", db],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "at revision 0001" in done.stdout
