"""The tutorial: docs/tutorial.md is the rendering of strangler/tutorial_steps.py, and
every command in it runs and prints what it says (byexample, one bash session, in a
fresh folder), on SQLite and on PostgreSQL + Kafka.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from strangler.tutorial_steps import STEPS, commands, on_engines, render

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "tutorial.md"
BIN = Path(sys.executable).parent


def test_the_committed_tutorial_is_the_rendering_of_the_steps():
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/tutorial.md is stale: run `strangler tutorial --render > docs/tutorial.md`"
    )


def test_every_step_ends_with_its_check_and_names_its_pattern():
    for step in STEPS:
        if step.check:
            assert commands(step)[-1].text == f"strangler tutorial --check {step.number}"
    patterns = " ".join(s.pattern for s in STEPS)
    for name in ("strangler fig", "database per service", "change data capture",
                 "parallel run", "branch by abstraction", "rollback",
                 "ownership handover"):  # fmt: skip
        assert name in patterns, name


def _stop_leftovers(folder: Path) -> None:
    """Stop the servers a failed run left (their pids are in var/)."""
    for pid_file in (folder / "var").glob("*.pid"):
        with contextlib.suppress(ValueError, ProcessLookupError):
            os.kill(int(pid_file.read_text().strip()), 15)


def _byexample(doc: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    try:
        return subprocess.run(
            [str(BIN / "byexample"), "-l", "shell", "--timeout", "120", "--diff", "unified",
             "--no-enhance-diff", str(doc)],
            cwd=folder, env=env, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
    finally:
        _stop_leftovers(folder)


@pytest.mark.slow
def test_every_command_of_the_tutorial_runs_and_prints_what_it_says(tmp_path):
    done = _byexample(DOC, tmp_path)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "[PASS]" in done.stdout
    assert not list((tmp_path / "var").glob("*.pid"))  # the last step stopped every server


@pytest.mark.slow
def test_strangler_tutorial_auto_runs_and_checks_every_step(tmp_path):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    try:
        done = subprocess.run(
            [str(BIN / "strangler"), "tutorial", "--auto"], cwd=tmp_path, env=env,
            capture_output=True, text=True, timeout=900,
        )  # fmt: skip
    finally:
        _stop_leftovers(tmp_path)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    checked = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith("✓")]
    assert len(checked) == len([s for s in STEPS if s.check])
    assert "✓ the catalog is ready and the CDC lag is 0 events" in checked
    assert not list((tmp_path / "var").glob("*.pid"))


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.kafka
def test_the_tutorial_runs_the_same_on_postgresql_and_kafka(tmp_path, postgres, kafka):
    steps = on_engines(postgres.create_database(), postgres.create_database(), kafka.bootstrap)
    doc = tmp_path / "tutorial-postgres.md"
    doc.write_text(render(steps), encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    done = _byexample(doc, work)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert 'database_url = "postgresql' in (work / "strangler.toml").read_text()
    assert 'cdc_transport = "kafka:' in (work / "strangler.toml").read_text()
