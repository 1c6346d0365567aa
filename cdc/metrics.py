"""Prometheus metrics of a running pipeline, in the text exposition format.

`strangler cdc run --metrics-port PORT` serves them at http://127.0.0.1:PORT/metrics.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_HELP = {
    "strangler_cdc_events_published_total": ("counter", "Events published to the transport."),
    "strangler_cdc_events_applied_total": ("counter", "Events applied to the target."),
    "strangler_cdc_events_skipped_total": ("counter", "Redelivered events skipped."),
    "strangler_cdc_dead_letters_total": ("counter", "Events sent to the dead-letter table."),
    "strangler_cdc_snapshot_rows_total": ("counter", "Snapshot rows published."),
    "strangler_cdc_split_transactions_total": (
        "counter",
        "Source transactions too big for the sink's buffer, applied in pieces.",
    ),
    "strangler_cdc_last_progress_timestamp_seconds": ("gauge", "When the pipeline last moved."),
}


class Metrics:
    """Thread-safe counters fed by the pipeline's progress callback."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values = dict.fromkeys(_HELP, 0.0)

    def observe(self, progress: Any) -> None:
        with self._lock:
            v = self._values
            v["strangler_cdc_events_published_total"] += progress.published
            v["strangler_cdc_events_applied_total"] += progress.applied
            v["strangler_cdc_events_skipped_total"] += progress.skipped
            v["strangler_cdc_dead_letters_total"] += progress.dead
            v["strangler_cdc_snapshot_rows_total"] += progress.snapshot_rows
            v["strangler_cdc_split_transactions_total"] += getattr(
                progress, "split_transactions", 0
            )
            if progress.published or progress.applied:
                v["strangler_cdc_last_progress_timestamp_seconds"] = time.time()

    def render(self) -> str:
        with self._lock:
            values = dict(self._values)
        lines = []
        for name, (kind, text) in _HELP.items():
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", f"{name} {values[name]:g}"]
        return "\n".join(lines) + "\n"

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
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        server = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=server.serve_forever, name="cdc-metrics", daemon=True).start()
        return server
