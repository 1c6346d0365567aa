"""A service scaffolded from a schema that is not ShopCo's: a small library, from DDL.

The report comes from the analyzer run on tests/scaffold/data (PostgreSQL DDL and an
attribution log with Spring-style `{id}` and Rails-style `:id` paths and a batch job).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from scaffold.schema_ddl import read_ddl_tables
from tests.scaffold.helpers import LIBRARY_DDL, generate_json, outcomes, run_module, run_pytest

# Services are named by a table they hold, not by the analyzer's context names, so the
# tests hold whichever way the analyzer groups the tables.
TABLES = ("loans", "reservations", "branch_log")


def context_of(report: Path, table: str) -> str:
    data = json.loads(report.read_text())
    return str(next(c["name"] for c in data["contexts"] if table in c["tables"]))


@pytest.fixture(scope="module")
def library(library_report, tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    """The service of each table's context: table -> (folder, --json output)."""
    root = tmp_path_factory.mktemp("library-services")
    made = {}
    for table in TABLES:
        folder = root / f"lib_{table}"
        made[table] = folder, generate_json(
            f"lib_{table}", "--context", context_of(library_report, table), "--report",
            str(library_report), "--schema", str(LIBRARY_DDL), "--dialect", "postgres",
            "--out", str(folder),
        )  # fmt: skip
    return made


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.slow
def test_each_generated_service_passes_its_tests_with_every_endpoint_an_expected_failure(
    library, table
) -> None:
    folder, generated = library[table]
    result = run_pytest(folder, "-p", "no:parity")  # as outside this repository
    assert result.returncode == 0, result.stdout[-3000:]
    expected = len(generated["endpoints"])
    assert outcomes(result) == {
        "passed": 7 + (not expected),
        **({"xfailed": expected} if expected else {}),
    }


def test_a_batch_job_in_the_context_is_skipped_and_said_so(library_report, tmp_path) -> None:
    folder = tmp_path / "dunning"
    context = next(c["name"] for c in json.loads(library_report.read_text())["contexts"]
                   if "nightly-dunning" in c["endpoints"])  # fmt: skip
    generated = generate_json("dunning", "--context", context, "--report", str(library_report),
                              "--schema", str(LIBRARY_DDL), "--out", str(folder))  # fmt: skip
    assert generated["skipped_endpoints"] == [
        {"endpoint": "nightly-dunning", "reason": "not an HTTP endpoint (expected 'METHOD /path')"}
    ]
    assert "`nightly-dunning` skipped" in (folder / "README.md").read_text()


def test_the_generated_code_imports_only_flask_sqlalchemy_alembic_and_pytest(library) -> None:
    allowed = set(sys.stdlib_module_names) | {
        "flask",
        "werkzeug",
        "sqlalchemy",
        "alembic",
        "pytest",
    }
    for folder, _ in library.values():
        for path in folder.rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    assert name.split(".")[0] in allowed, f"{path}: imports {name}"
            assert "importlib.import_module" not in path.read_text() or path.name == "env.py"


def test_the_generated_code_passes_the_repositorys_linter(library) -> None:
    ruff = Path(sys.executable).with_name("ruff")
    root = library["loans"][0].parent
    result = subprocess.run(
        [str(ruff), "check", "--isolated", "--select", "E,F,W,I,B,UP,SIM,RUF",
         "--line-length", "100", str(root)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout


def test_alembic_builds_the_tables_with_their_keys_nullability_and_indexes(
    library, tmp_path
) -> None:
    folder, generated = library["reservations"]
    url = f"sqlite:///{tmp_path / 'service.db'}"
    env = {**os.environ, "LIB_RESERVATIONS_DATABASE_URL": url}
    alembic = Path(sys.executable).with_name("alembic")
    upgrade = subprocess.run(
        [str(alembic), "-c", str(folder / "alembic.ini"), "upgrade", "head"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert upgrade.returncode == 0, upgrade.stderr
    ddl = read_ddl_tables(LIBRARY_DDL, tuple(generated["tables"]), "postgres")
    assert "reservations" in ddl
    engine = create_engine(url)
    try:
        schema = inspect(engine)
        for name, table in ddl.items():
            assert tuple(schema.get_pk_constraint(name)["constrained_columns"]) == table.primary_key
            nullable = {c["name"]: c["nullable"] for c in schema.get_columns(name)}
            assert nullable == {c.name: c.nullable for c in table.columns}
            uniques = {tuple(u["column_names"]) for u in schema.get_unique_constraints(name)}
            assert uniques == set(table.uniques)
            indexes = {(i["name"], tuple(i["column_names"])) for i in schema.get_indexes(name)}
            assert indexes == {(i.name, i.columns) for i in table.indexes}
    finally:
        engine.dispose()


@pytest.mark.slow
def test_writing_an_endpoint_turns_its_expected_failure_into_a_pass(library, tmp_path) -> None:
    source, generated = library["loans"]
    folder = tmp_path / source.name
    shutil.copytree(source, folder)
    first = next(e for e in generated["endpoints"] if e["endpoint"].startswith("GET "))
    key, handler = first["endpoint"], first["handler"]
    api = folder / "api.py"
    stub = f'return not_written("{key}", "{handler}")'
    assert stub in api.read_text()
    api.write_text(api.read_text().replace(stub, 'return {"items": []}'))
    still_marked = run_pytest(folder)
    assert still_marked.returncode == 1
    assert "XPASS(strict)" in still_marked.stdout and key in still_marked.stdout
    contract = folder / "tests" / "test_contract.py"
    text, n = re.subn(rf'(id="{re.escape(key)}"), marks=NOT_WRITTEN', r"\1", contract.read_text())
    assert n == 1
    contract.write_text(text)
    written = run_pytest(folder)
    assert written.returncode == 0, written.stdout[-3000:]
    total = len(generated["endpoints"])
    assert outcomes(written) == {"passed": 8, "xfailed": total - 1}


@pytest.mark.slow
@pytest.mark.postgres
def test_the_service_migrates_on_postgresql_and_its_tables_read_back_from_there(
    library, postgres, library_report, tmp_path
) -> None:
    url = postgres.create_database()
    migrated = run_module(library["loans"][0], "migrate", "--db", url)
    assert migrated.returncode == 0, migrated.stderr
    assert "at revision 0001" in migrated.stdout
    # the migrated PostgreSQL database is a live schema to scaffold from (--db)
    folder = tmp_path / "lib_loans_pg"
    context = context_of(library_report, "loans")
    generated = generate_json("lib_loans_pg", "--context", context, "--report",
                              str(library_report), "--db", url, "--out", str(folder))  # fmt: skip
    assert generated["tables"] == ["fines", "loans"]
    models = (folder / "models.py").read_text()
    assert 'sa.ForeignKeyConstraint(["loan_id"], ["loans.id"])' in models
    assert "amount: Mapped[Decimal] = mapped_column(sa.Numeric(8, 2), nullable=False)" in models
    result = run_pytest(folder)
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.postgres
def test_a_live_postgresql_schema_gives_the_same_portable_types_as_its_ddl(
    postgres, library_report, tmp_path
) -> None:
    url = postgres.create_database()
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(LIBRARY_DDL.read_text())
    finally:
        engine.dispose()
    for table in ("members", "titles"):
        context = context_of(library_report, table)
        common = [f"db_{table}", "--context", context, "--report", str(library_report)]
        from_db = generate_json(*common, "--db", url, "--out", str(tmp_path / f"db_{table}"))
        from_ddl = generate_json(*common, "--schema", str(LIBRARY_DDL), "--dialect", "postgres",
                                 "--out", str(tmp_path / f"ddl_{table}"))  # fmt: skip
        assert from_db["tables"] == from_ddl["tables"]
        db_models = (tmp_path / f"db_{table}" / "models.py").read_text()
        ddl_models = (tmp_path / f"ddl_{table}" / "models.py").read_text()
        # the same classes and columns, whichever way the schema was read
        assert _columns(db_models) == _columns(ddl_models)
    members = (tmp_path / "db_members" / "models.py").read_text()
    assert "member_no: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True" in members
    assert "preferences: Mapped[Any | None] = mapped_column(sa.JSON(), nullable=True)" in members
    readme = (tmp_path / "db_titles" / "README.md").read_text()
    assert "expression index ix_titles_lower_title not generated" in readme


def _columns(models: str) -> list[str]:
    return [line.strip() for line in models.splitlines() if "mapped_column(" in line]
