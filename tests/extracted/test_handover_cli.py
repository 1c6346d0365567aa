"""`strangler extract handover` from the command line: refusals, one-line errors, --json,
and a handover and rollback whose gate verdicts come from a running router."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from strangler.cli import main
from tests.router.conftest import TOKEN

from .handover_stack import RELAXED_GATE
from .test_handover import REPORT, World

on_sqlite = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def shop(monolith_url, databases, tmp_path) -> Iterator[World]:
    w = World(monolith_url, databases, tmp_path)
    yield w
    w.close()


def _invoke(world: World, *args: str, report: bool = True):
    options = ["extract", "handover", "catalog", *args, "--store", world.store_url,
               "--state", world.state_url, "--source", world.monolith_url]  # fmt: skip
    if report:
        path = world.tmp / "report.json"
        path.write_text(json.dumps({"endpoints": REPORT}), encoding="utf-8")
        options += ["--report", str(path)]
    env = {
        "STRANGLER_CATALOG_DATABASE_URL": world.synced.url,
        "STRANGLER_CATALOG_CDC_TRANSPORT": world.synced.plan.transport,
    }
    return CliRunner().invoke(main, options, env=env)


def test_an_unknown_context_is_a_usage_error_naming_the_known_ones():
    result = CliRunner().invoke(main, ["extract", "handover", "billing"])
    assert result.exit_code == 2
    assert "unknown context 'billing' (known: catalog, reviews)" in result.output


@on_sqlite
def test_an_unreadable_report_is_one_line(shop):
    result = _invoke(shop, "--report", str(shop.tmp / "nope.json"), report=False)
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot read the analysis report")
    assert len(result.output.strip().splitlines()) == 1


@on_sqlite
def test_a_refusal_lists_every_reason_one_per_line(shop):
    result = _invoke(shop, "--admin-url", "http://127.0.0.1:9", "--token", "x", report=False)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "handover of catalog refused:"
    assert any("the promotion gate cannot be asked: cannot reach the admin API" in x for x in lines)
    assert "  - no analysis report: cannot tell which monolith endpoints write" in lines
    assert any(x.startswith("  - no catalog sync worker runs forward CDC") for x in lines)


@on_sqlite
def test_a_refusal_in_json_has_the_reasons(shop):
    result = _invoke(shop, "--json", "--admin-url", "http://127.0.0.1:9", "--token", "x")
    assert result.exit_code == 1
    body = json.loads(result.output)
    assert body["ok"] is False and body["op"] == "handover" and len(body["reasons"]) == 2


@on_sqlite
def test_handover_and_rollback_through_the_cli_ask_the_routers_gate(
    shop, start_router, monkeypatch
):
    for key, value in RELAXED_GATE.items():
        monkeypatch.setenv(key, value)
    router = start_router("http://127.0.0.1:9", store=shop.store_url)
    shop.start_worker()
    admin = ["--admin-url", router.admin_url, "--token", TOKEN]
    result = _invoke(shop, "--json", "--reason", "catalog owns its data", *admin)
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["ok"] and body["cdc_direction"] == "reverse"
    assert set(body["modes"].values()) == {"service"}
    result = _invoke(shop, "--rollback", *admin)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("rollback of catalog done: route table version")
    assert "CDC forward" in result.output


@on_sqlite
def test_the_directed_sync_worker_reports_its_direction_and_stops_on_sigterm(shop):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from cdc.pipeline import wait_for

    env = {**os.environ, "STRANGLER_HANDOVER_STATE": shop.state_url,
           "STRANGLER_CATALOG_DATABASE_URL": shop.synced.url,
           "STRANGLER_CATALOG_CDC_TRANSPORT": shop.synced.plan.transport}  # fmt: skip
    strangler = str(Path(sys.executable).with_name("strangler"))
    command = [strangler, "extract", "sync", "catalog", "--directed", "--source", shop.monolith_url]
    worker = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    started = wait_for(lambda: shop.state.direction("catalog").running == "forward", 60)
    worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=60)
    assert started, err.decode()[-2000:]
    assert worker.returncode == 0, err.decode()
    assert b"initial snapshot applied; streaming in the stored direction" in out
