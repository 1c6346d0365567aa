"""Prometheus metrics of a running pipeline, kept and rendered by `prometheus_client`.

`strangler cdc run --metrics-port PORT` serves them at http://127.0.0.1:PORT/metrics.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import prometheus_client as prom
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

prom.disable_created_metrics()  # no `_created` series next to each counter

# Progress field (or None) -> counter name and help
_COUNTERS = {
    "published": ("strangler_cdc_events_published_total", "Events published to the transport."),
    "applied": ("strangler_cdc_events_applied_total", "Events applied to the target."),
    "skipped": ("strangler_cdc_events_skipped_total", "Redelivered events skipped."),
    "dead": ("strangler_cdc_dead_letters_total", "Events sent to the dead-letter table."),
    "snapshot_rows": ("strangler_cdc_snapshot_rows_total", "Snapshot rows published."),
    "split_transactions": (
        "strangler_cdc_split_transactions_total",
        "Source transactions too big for the sink's buffer, applied in pieces.",
    ),
}


class Metrics:
    """Counters fed by the pipeline's progress callback, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = prom.CollectorRegistry(auto_describe=False)
        self._counters = {
            field: prom.Counter(name, text, registry=self.registry)
            for field, (name, text) in _COUNTERS.items()
        }
        self._progress = prom.Gauge(
            "strangler_cdc_last_progress_timestamp_seconds",
            "When the pipeline last moved.",
            registry=self.registry,
        )

    def observe(self, progress: Any) -> None:
        for field, counter in self._counters.items():
            counter.inc(getattr(progress, field, 0))
        if progress.published or progress.applied:
            self._progress.set(time.time())

    def render(self) -> str:
        return prom.generate_latest(self.registry).decode()

    def serve(self, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
        """Serve /metrics from a daemon thread; return the server (its port may be 0→real)."""
        metrics = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/metrics":
                    self.send_error(404, "only /metrics is served")
                    return
                body = metrics.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE_PLAIN_0_0_4)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        server = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=server.serve_forever, name="cdc-metrics", daemon=True).start()
        return server
