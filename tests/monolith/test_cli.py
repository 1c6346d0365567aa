"""`strangler monolith ...` verbs, run as a user would."""

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request

import pytest
from click.testing import CliRunner

from strangler.cli import main


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "STRANGLER_CONFIG": ""}

    def invoke(*args, **extra_env):
        return CliRunner().invoke(main, ["monolith", *args], env={**env, **extra_env})

    return invoke


def test_migrate_then_seed_reports_what_was_done(run):
    migrated = run("migrate")
    assert migrated.exit_code == 0 and "revision 0001" in migrated.output
    seeded = run("seed", "--scale", "1")
    assert seeded.exit_code == 0
    assert re.search(r"seeded \d+ rows .* 300 customers", seeded.output)


def test_seeding_twice_fails_with_one_clear_line(run):
    run("migrate")
    run("seed")
    again = run("seed")
    assert again.exit_code == 1
    assert again.output.startswith("Error: the database is already seeded")
    assert "Traceback" not in again.output


def test_seeding_before_migrating_says_what_to_do(run):
    result = run("seed")
    assert result.exit_code == 1 and "strangler monolith migrate" in result.output


def test_serving_an_unmigrated_database_says_to_migrate(run):
    result = run("serve", "--port", "0")
    assert result.exit_code == 1
    assert "has no ShopCo tables; run `strangler monolith migrate` first" in result.output


def test_bad_port_in_the_environment_is_named(run):
    result = run("migrate", PORT="eighty")
    assert result.exit_code == 1 and "PORT" in result.output


def test_traffic_against_nothing_fails_with_one_line(run):
    result = run("traffic", "--base-url", "http://127.0.0.1:1", "--requests", "3")
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error: cannot reach http://127.0.0.1:1")


def test_traffic_refuses_both_count_and_duration(run):
    result = run("traffic", "--base-url", "http://x", "--requests", "3", "--duration", "1")
    assert result.exit_code == 2 and "not both" in result.output


def test_help_explains_each_verb(run):
    assert "threaded WSGI server" in run("serve", "--help").output
    assert "DATABASE_URL" in run("--help").output
    assert "every endpoint" in run("traffic", "--help").output


def test_serve_listens_and_answers_then_drives_traffic(tmp_path, run):
    assert run("migrate").exit_code == 0
    assert run("seed").exit_code == 0
    log = tmp_path / "sql.jsonl"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-c", "from strangler.cli import main; main()"]
    command += ["monolith", "serve", "--port", "0", "--sql-log", str(log)]
    server = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=tmp_path
    )
    try:
        line = server.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        base_url = match.group(1)
        with urllib.request.urlopen(f"{base_url}/ready", timeout=10) as response:
            assert json.load(response)["status"] == "ready"
        result = run("traffic", "--base-url", base_url, "--requests", "120", "--json")
        assert result.exit_code == 0, result.output
        summary = json.loads(result.output)
        assert summary["requests"] == 120 and summary["server_errors"] == 0
    finally:
        server.send_signal(signal.SIGINT)  # a clean stop flushes the SQL log
        server.wait(timeout=10)
    endpoints = {json.loads(line)["endpoint"] for line in log.read_text().splitlines()}
    assert "POST /api/carts/<int:cart_id>/checkout" in endpoints
