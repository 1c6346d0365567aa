"""Prometheus metrics of a running pipeline."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner

from cdc.metrics import Metrics
from cdc.pipeline import Progress
from strangler.cli.cdc import cdc


def test_progress_becomes_prometheus_counters_served_over_http():
    metrics = Metrics()
    metrics.observe(Progress(published=5, snapshot_rows=2))
    metrics.observe(Progress(applied=4, skipped=1, dead=1))
    server = metrics.serve(0)
    try:
        port = server.server_address[1]
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/other", timeout=5)
    finally:
        server.shutdown()
    text = body.decode()
    assert "# TYPE strangler_cdc_events_applied_total counter" in text
    assert "strangler_cdc_events_published_total 5" in text
    assert "strangler_cdc_events_applied_total 4" in text
    assert "strangler_cdc_dead_letters_total 1" in text
    assert "strangler_cdc_snapshot_rows_total 2" in text


def test_a_taken_metrics_port_is_one_clear_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            cdc, ["run", "--sink", f"sqlite:///{tmp_path / 'x.db'}", "--topics", "t",
                  "--transport", f"embedded:{tmp_path / 'log.db'}", "--metrics-port", str(port)],
        )  # fmt: skip
    assert result.exit_code == 1
    assert f"cannot serve metrics on port {port}" in result.output
