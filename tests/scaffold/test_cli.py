"""`strangler extract scaffold` as a user types it: help, --json, overwrites, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from strangler.cli import main
from tests.scaffold.helpers import LIBRARY_DDL, generate, generate_json


def _args(report: Path, out: Path, *extra: str, name: str = "lib_loans") -> list[str]:
    return [name, "--context", _context(report, "loans"), "--report", str(report),
            "--schema", str(LIBRARY_DDL), "--out", str(out), *extra]  # fmt: skip


def _context(report: Path, table: str) -> str:
    contexts = json.loads(report.read_text())["contexts"]
    return str(next(c["name"] for c in contexts if table in c["tables"]))


def _error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def test_help_explains_what_is_generated() -> None:
    result = CliRunner().invoke(main, ["extract", "scaffold", "--help"])
    assert result.exit_code == 0
    for words in ("--context", "--report", "--schema", "--db", "--force", "--json", "501",
                  "shadow", "alembic", "CDC mapping"):  # fmt: skip
        assert words in result.output


def test_json_lists_every_generated_file_and_the_endpoints(library_report, tmp_path) -> None:
    out = tmp_path / "lib_loans"
    data = generate_json(*_args(library_report, out))
    assert data["package"] == "lib_loans" and data["tables"] == ["fines", "loans"]
    for path in ("app.py", "api.py", "models.py", "alembic.ini", "migrations/env.py",
                 "migrations/versions/0001_initial.py", "cdc_mapping.toml", "routes.sh",
                 "tests/test_contract.py", "tests/test_service.py", "README.md",
                 "requirements.txt"):  # fmt: skip
        assert path in data["files"]
    assert all((out / path).is_file() for path in data["files"])
    assert {"endpoint": "POST /loans", "handler": "post_loans", "route": "/loans"} in data[
        "endpoints"
    ]


def test_existing_files_are_kept_unless_force_is_given(library_report, tmp_path) -> None:
    out = tmp_path / "lib_loans"
    generate(*_args(library_report, out))
    (out / "api.py").write_text("# written by hand\n")
    line = _error(generate(*_args(library_report, out), ok=False))
    assert "would be overwritten" in line and "--force" in line
    assert (out / "api.py").read_text() == "# written by hand\n"
    generate(*_args(library_report, out, "--force"))
    assert "def post_loans" in (out / "api.py").read_text()


def test_the_default_folder_is_extracted_slash_name(library_report, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = _args(library_report, Path("unused"))
    result = CliRunner().invoke(main, ["extract", "scaffold", *args[: args.index("--out")]])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "extracted" / "lib_loans" / "models.py").is_file()


def test_an_unknown_context_is_a_one_line_error_listing_the_known_ones(
    library_report, tmp_path
) -> None:
    args = _args(library_report, tmp_path / "x")
    args[args.index("--context") + 1] = "billing"
    line = _error(generate(*args, ok=False))
    known = sorted(c["name"] for c in json.loads(library_report.read_text())["contexts"])
    assert f"has no context 'billing' (known: {', '.join(known)})" in line


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ('{"version": 1, "tables": {}}', "not an analysis report"),
    ],
)
def test_a_malformed_report_is_a_one_line_error(tmp_path, content, message) -> None:
    report = tmp_path / "report.json"
    report.write_text(content)
    args = ["svc", "--context", "x", "--report", str(report), "--schema", str(LIBRARY_DDL)]
    line = _error(generate(*args, "--out", str(tmp_path / "svc"), ok=False))
    assert message in line


def test_malformed_ddl_is_a_one_line_error_naming_the_line(library_report, tmp_path) -> None:
    ddl = tmp_path / "schema.sql"
    ddl.write_text("CREATE TABLE loans (id int PRIMARY KEY);\nCREATE TABLE fines (id int;\n")
    args = _args(library_report, tmp_path / "x")
    args[args.index("--schema") + 1] = str(ddl)
    assert "schema.sql:2: cannot parse the statement" in _error(generate(*args, ok=False))


def test_a_schema_without_the_contexts_tables_names_the_missing_ones(
    library_report, tmp_path
) -> None:
    ddl = tmp_path / "schema.sql"
    ddl.write_text("CREATE TABLE loans (id int PRIMARY KEY);\n")
    args = _args(library_report, tmp_path / "x")
    args[args.index("--schema") + 1] = str(ddl)
    assert "no table fines of the context (the schema has: loans)" in _error(
        generate(*args, ok=False)
    )


def test_a_missing_sqlite_database_is_named(library_report, tmp_path) -> None:
    args = _args(library_report, tmp_path / "x")
    args[args.index("--schema") : args.index("--schema") + 2] = ["--db", "sqlite:///nope.db"]
    assert "no such SQLite database file" in _error(generate(*args, ok=False))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "Bad-Name"}, "must be a lower-case Python identifier"),
        ({"out": "not-a-package"}, "is not a Python package name"),
        ({"both": True}, "exactly one of --schema DDL or --db URL"),
    ],
)
def test_bad_names_and_options_are_one_line_errors(library_report, tmp_path, change, message):
    out = tmp_path / change.get("out", "svc")
    args = _args(library_report, out, name=change.get("name", "svc"))
    if change.get("both"):
        args += ["--db", "sqlite:///x.db"]
    assert message in _error(generate(*args, ok=False))
