"""Request ids and one structured JSON log line per request.

The id is the incoming X-Request-ID when it looks sane, else the trace-id of a W3C
`traceparent` header, else a fresh one; it is answered in X-Request-ID and appears in
every error body and log line.
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

log = logging.getLogger("monolith.request")

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


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
    """Format records as one JSON object per line; extra fields go in as keys."""

    FIELDS = ("method", "path", "status", "duration_ms", "request_id", "endpoint")

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in self.FIELDS:
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: int) -> None:
    """Send the monolith's loggers to stderr as JSON lines, once per process."""
    root = logging.getLogger("monolith")
    root.setLevel(level)
    if not any(getattr(h, "shopco", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler.shopco = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.propagate = False


def install_request_log(app: Flask) -> None:
    """Assign each request an id, answer it in X-Request-ID and log one line per request."""

    @app.before_request
    def _start() -> None:
        g.request_id = request_id_from(request.headers)
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = g.get("request_id") or request_id_from(request.headers)
        response.headers["X-Request-ID"] = request_id
        started = g.get("started", time.perf_counter())
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "request_id": request_id,
                "endpoint": request.url_rule.rule if request.url_rule else None,
            },
        )
        return response
