"""`strangler demo`: the whole migration loop on embedded defaults, end to end.

Small scale (60 requests per phase, a gate minimum of 5 comparisons) keeps it to
seconds; the loop is the same as `make demo`'s.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.mojo import mojofm
from strangler.cli import main
from tests.analysis.test_monolith_traffic import EXPECTED

BIN = Path(sys.executable).parent
SMALL = ["--port", "0", "--requests", "60", "--min-comparisons", "5", "--exit"]
pytestmark = pytest.mark.slow


def _demo(tmp_path, *args: str):
    return CliRunner().invoke(main, ["demo", "--dir", str(tmp_path), *SMALL, *args])


def _nothing_left_running() -> None:
    names = {t.name for t in threading.enumerate()}
    assert not names & {"ShopCo", "catalog service", "cdc-sync", "router-dataplane"}, names
    assert multiprocessing.active_children() == []  # the router's shadow mirror was reaped


def test_demo_moves_the_catalog_to_its_service_and_sums_it_up_in_json(tmp_path):
    result = _demo(tmp_path, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    figures = summary["figures"]
    assert figures["steps_done"] == [1, 2, 3, 4, 5, 6]
    assert figures["cdc_lag_events"] == 0 and figures["snapshot_rows"] > 1000
    assert figures["unexplained_mismatches"] == 0 and figures["comparisons"] >= 15
    assert figures["served_by"]["catalog"] > 0 and figures["served_by"]["monolith"] > 0
    assert [s["served_by"] for s in figures["switches"]] == ["monolith", "catalog"]
    # the catalog's writes were handed over (held, drained, reverse sync), back and forth,
    # and afterwards ShopCo's catalog tables equal the service's row for row
    assert figures["handover"]["done"] is True, figures["handover"]
    assert figures["handover"]["cdc_direction"] == "reverse"
    assert figures["handover"]["rows_equal_after"] > 400
    assert summary["routes"] == {
        "catalog-categories": "service",
        "catalog-products": "service",
        "catalog-product": "service",
        "default": "monolith",
    }
    # strangler verify replayed the router's capture of catalog reads: an HTML report
    assert figures["verify"]["compared"] > 0 and figures["verify"]["mismatched"] == 0
    assert "<html" in Path(summary["artifacts"]["verify_html"]).read_text().lower()
    for name in ("monolith_db", "catalog_db", "router_db", "sql_log", "report_md", "config"):
        assert Path(summary["artifacts"][name]).is_relative_to(tmp_path), name
        assert Path(summary["artifacts"][name]).exists(), name
    _nothing_left_running()


def test_a_second_run_in_the_same_folder_starts_afresh(tmp_path):
    first = _demo(tmp_path, "--json", "--step", "3")
    second = _demo(tmp_path, "--json", "--step", "3")
    assert first.exit_code == 0 and second.exit_code == 0, second.output
    one, two = json.loads(first.output), json.loads(second.output)
    assert two["figures"]["steps_done"] == [1, 2, 3]
    assert two["figures"]["snapshot_rows"] == one["figures"]["snapshot_rows"]
    assert two["routes"] == {r: "shadow" for r in one["routes"] if r != "default"} | {
        "default": "monolith"
    }
    _nothing_left_running()


def test_step_one_stops_after_the_analysis_with_the_expected_split(tmp_path):
    result = _demo(tmp_path, "--json", "--step", "1")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["figures"]["steps_done"] == [1]
    split = {t: name for name, ts in summary["figures"]["contexts"].items() for t in ts}
    assert mojofm(split, EXPECTED) == 100
    assert "router_db" not in summary["artifacts"] and "graph_tables_dot" in summary["artifacts"]
    endpoints = {json.loads(line)["endpoint"] for line in (tmp_path / "sql.jsonl").open()}
    assert "POST /api/carts/<int:cart_id>/checkout" in endpoints
    _nothing_left_running()


def test_steps_print_what_they_do_and_why(tmp_path):
    result = _demo(tmp_path, "--step", "2")
    assert result.exit_code == 0, result.output
    assert "[1/6] analyze: Strangler fig" in result.output
    assert "[2/6] sync: Database per service" in result.output
    assert "CDC lag: 0 events" in result.output
    assert "[3/6]" not in result.output


def test_a_port_in_use_is_named_in_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(
            main, ["demo", "--dir", str(tmp_path), "--port", str(port), "--exit"]
        )
    assert result.exit_code == 1
    line = result.output.strip()
    assert line.startswith(f"Error: port {port} on 127.0.0.1 (for the monolith) is in use")
    assert "--port 0" in line and "Traceback" not in result.output
    _nothing_left_running()


def test_a_port_whose_last_connections_are_in_time_wait_counts_as_free():
    """A demo just stopped leaves its ports' closed connections in TIME_WAIT: the servers
    listen there anyway (SO_REUSEADDR), so the start-up check must not call them taken."""
    from strangler.demo_stack import Ports, check_ports

    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the server side closes first: its end goes to TIME_WAIT
        client.recv(1)
        client.close()
    check_ports("127.0.0.1", Ports(port, 0, 0, 0))


def test_a_refused_promotion_stops_the_demo_with_the_gates_reason_and_stops_everything(tmp_path):
    # the environment outranks the demo's strangler.toml: a gate the demo cannot satisfy
    env = {"STRANGLER_GATE_MIN_COMPARISONS": "1000"}
    result = CliRunner(env=env).invoke(main, ["demo", "--dir", str(tmp_path), *SMALL])
    assert result.exit_code == 1
    assert "refused by the gate: shadow comparisons" in result.output
    assert "(minimum 1000)" in result.output and "Traceback" not in result.output
    _nothing_left_running()


def test_the_demo_keeps_serving_for_the_cli_until_ctrl_c_then_stops_everything(tmp_path):
    demo = subprocess.Popen(
        [str(BIN / "strangler"), "demo", "--dir", str(tmp_path), "--port", "0",
         "--requests", "60", "--min-comparisons", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert demo.stdout is not None
        seen: list[str] = []
        for line in iter(demo.stdout.readline, ""):
            seen.append(line)
            if "Press Ctrl-C" in line:
                break
        assert any("/ui/" in line for line in seen), "".join(seen)
        env = {**os.environ, "STRANGLER_CONFIG": str(tmp_path / "strangler.toml")}
        listed = subprocess.run([str(BIN / "strangler"), "routes", "list", "--json"], env=env,
                                capture_output=True, text=True)  # fmt: skip
        modes = {r["id"]: r["mode"] for r in json.loads(listed.stdout)["routes"]}
        assert modes["catalog-product"] == "service", listed.stderr
        children = subprocess.run(["pgrep", "-P", str(demo.pid)], capture_output=True, text=True)
        demo.send_signal(signal.SIGINT)
        assert demo.wait(60) == 0
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    for pid in children.stdout.split():
        assert not Path(f"/proc/{pid}").exists(), "a child of the demo outlived it"
