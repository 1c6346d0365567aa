"""docs/configuration.md is generated from the settings dataclasses and covers every
section a package loads; `strangler config show` prints what is in effect."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from extracted._service.registry import SERVICES
from strangler.cli import main
from strangler.config_reference import SECTIONS, comments, fields, render

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("monolith", "router", "analysis", "cdc", "extracted", "handover", "parity",
            "strangler", "scaffold")  # fmt: skip


def test_the_committed_reference_is_the_rendering_of_the_dataclasses() -> None:
    assert (REPO / "docs" / "configuration.md").read_text(encoding="utf-8") == render(), (
        "run: strangler config reference > docs/configuration.md"
    )


def test_every_section_a_package_loads_is_in_the_reference() -> None:
    loaded = set()
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            loaded |= set(re.findall(r'section="(\w+)"', path.read_text(encoding="utf-8")))
    registered = {n for s in SECTIONS for n in (s.names or (s.name,))}
    assert loaded <= registered, loaded - registered
    assert set(SERVICES) <= registered  # every bundled service's [NAME]


def test_every_setting_says_what_it_is() -> None:
    for section in SECTIONS:
        notes = comments(section.cls)
        assert [f.name for f in fields(section) if not notes.get(f.name)] == [], section.name


def test_show_prints_defaults_then_the_file_then_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STRANGLER_CONFIG", raising=False)
    (tmp_path / "strangler.toml").write_text(
        '[router]\nlisten = "127.0.0.1:9000"\nadmin = "127.0.0.1:9001"\n'
        "[catalog]\nport = 6001\n[gate]\nmin_comparisons = 50\n"
    )
    env = {"STRANGLER_ROUTER_ADMIN": "127.0.0.1:9999", "STRANGLER_CATALOG_LOG_LEVEL": "DEBUG"}
    result = CliRunner(env=env).invoke(main, ["config", "show", "router", "catalog", "gate",
                                              "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["router"]["listen"] == "127.0.0.1:9000"  # the file
    assert shown["router"]["admin"] == "127.0.0.1:9999"  # the environment over the file
    assert shown["router"]["read_timeout"] == 10.0  # the default
    assert (shown["catalog"]["port"], shown["catalog"]["log_level"]) == (6001, "DEBUG")
    assert shown["gate"]["min_comparisons"] == 50
    text = CliRunner(env=env).invoke(main, ["config", "show", "router"]).output
    assert 'admin = "127.0.0.1:9999"' in text and "capture_redact = [" in text


def test_show_names_a_bad_key_a_bad_value_and_an_unknown_section(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STRANGLER_CONFIG", raising=False)
    (tmp_path / "strangler.toml").write_text("[cdc]\nbatchh = 5\n")
    bad_key = CliRunner().invoke(main, ["config", "show", "cdc"])
    assert bad_key.exit_code == 1
    assert "unknown setting [cdc] 'batchh'" in bad_key.output
    bad_value = CliRunner(env={"STRANGLER_ROUTER_LISTEN": "nowhere"}).invoke(
        main, ["config", "show", "router"]
    )
    assert bad_value.exit_code == 1
    assert bad_value.output.strip() == "Error: [router] listen must be HOST:PORT, got 'nowhere'"
    unknown = CliRunner().invoke(main, ["config", "show", "routr"])
    assert unknown.exit_code == 1 and "unknown section [routr] (known: monolith" in unknown.output
    assert "Traceback" not in bad_key.output + bad_value.output + unknown.output


def test_reference_prints_the_document() -> None:
    result = CliRunner().invoke(main, ["config", "reference"])
    assert result.exit_code == 0 and result.output == render()


def test_show_loads_each_section_as_its_command_does_and_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STRANGLER_CONFIG", raising=False)
    env = {"DATABASE_URL": "sqlite:///shop.db"}  # ShopCo's plain 12-factor variable
    result = CliRunner(env=env).invoke(main, ["config", "show", "reviews", "monolith", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["reviews"]["port"] == 5002  # the reviews service's own default
    assert shown["reviews"]["database_url"].endswith("/var/reviews.db")
    assert shown["monolith"]["database_url"] == "sqlite:///shop.db"
    assert list(tmp_path.iterdir()) == []  # reporting a default path does not create var/
    fixed = CliRunner(env={"STRANGLER_REVIEWS_NAME": "x"}).invoke(
        main, ["config", "show", "reviews"]
    )
    assert fixed.exit_code == 1 and "[reviews] name is fixed by the service" in fixed.output
