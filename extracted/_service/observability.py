"""Request ids, one JSON log line per request, and Prometheus metrics per route.

The request id is the received X-Request-ID when it looks sane, else the trace-id of a
W3C `traceparent`, else a fresh one; it is answered in X-Request-ID and logged together
with the traceparent, so a request can be followed from the router into the service.
Metrics live in a registry of the app's own (two apps in one process never collide).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def request_id_from(headers: Any) -> str:
    """Choose the request id: X-Request-ID, else traceparent's trace-id, else a new one."""
    given = (headers.get("X-Request-ID") or "").strip()
    if REQUEST_ID.match(given):
        return given
    match = TRACEPARENT.match((headers.get("traceparent") or "").strip().lower())
    if match and match.group(1) != "0" * 32:
        return match.group(1)
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """One JSON object per line; the request fields go in as keys when present."""

    FIELDS = ("service", "method", "path", "route", "status", "duration_ms", "request_id",
              "traceparent")  # fmt: skip

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({k: getattr(record, k) for k in self.FIELDS if hasattr(record, k)})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: int) -> None:
    """Send the services' loggers to stderr as JSON lines, once per process."""
    root = logging.getLogger("extracted")
    root.setLevel(level)
    if not any(getattr(h, "extracted", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler.extracted = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.propagate = False


class Metrics:
    """The service's Prometheus metrics: requests, latency and errors, by route."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("method", "route")
        self.requests = Counter(
            "service_http_requests", "HTTP requests answered, by route and status.",
            (*labels, "status"), registry=self.registry, namespace=service,
        )  # fmt: skip
        self.latency = Histogram(
            "service_http_request_duration_seconds", "Time to answer, by route.",
            labels, registry=self.registry, namespace=service, buckets=LATENCY_BUCKETS,
        )  # fmt: skip
        self.errors = Counter(
            "service_http_errors", "Answers with status >= 400, by route and status.",
            (*labels, "status"), registry=self.registry, namespace=service,
        )  # fmt: skip

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        if status >= 400:
            self.errors.labels(method, route, str(status)).inc()

    def exposition(self) -> Response:
        return Response(generate_latest(self.registry), content_type=CONTENT_TYPE_LATEST)


def install_observability(app: Flask, service: str) -> Metrics:
    """Give each request an id, log it as one JSON line, count it, and serve /metrics."""
    log = logging.getLogger(f"extracted.{service}.request")
    metrics = Metrics(service)

    @app.before_request
    def _start() -> None:
        g.request_id = request_id_from(request.headers)
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = g.get("request_id") or request_id_from(request.headers)
        response.headers["X-Request-ID"] = request_id
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        # Unmatched paths share one label, so a scan cannot grow the metric without bound.
        route = request.url_rule.rule if request.url_rule else "<unmatched>"
        if route != "/metrics":
            metrics.observe(request.method, route, response.status_code, seconds)
        log.info(
            "request",
            extra={
                "service": service,
                "method": request.method,
                "path": request.path,
                "route": route,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 2),
                "request_id": request_id,
                "traceparent": request.headers.get("traceparent"),
            },
        )
        return response

    app.add_url_rule("/metrics", "metrics", metrics.exposition, methods=["GET"])
    return metrics
