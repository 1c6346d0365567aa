"""SQL-to-endpoint attribution: log every SQL statement with the HTTP endpoint that issued it.

One call instruments any Flask + SQLAlchemy application::

    from monolith.sqllog import install_sql_log
    install_sql_log(app, engine, "var/sql.jsonl")

Each executed statement becomes one JSON line::

    {"ts": "2026-11-26T19:40:01.123+00:00", "endpoint": "GET /api/orders/<int:order_id>",
     "sql": "SELECT ...", "duration_ms": 0.412, "dialect": "sqlite"}

The endpoint is the Flask URL rule, so every call of one endpoint shares it. Statements run
outside a request are attributed to the CLI command that ran them ("cli strangler monolith
seed") or to "background". Lines are buffered in memory and appended in batches, so the
cost per statement is one dict and one list append under a lock.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
import weakref
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

BACKGROUND = "background"
UNMATCHED = "<unmatched>"


class SqlLogWriter:
    """Append JSON lines to a file in batches; safe to share between threads."""

    def __init__(self, path: str | os.PathLike[str], *, batch: int = 512, interval: float = 0.5):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._batch = batch
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # O_APPEND keeps whole batches intact even when several processes share the file.
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._flusher = threading.Thread(
            target=self._flush_periodically, args=(interval,), name="sql-log", daemon=True
        )
        self._flusher.start()
        self._finalizer = weakref.finalize(self, SqlLogWriter._close_fd, self._fd)
        atexit.register(self.close)

    def write(self, record: dict[str, Any]) -> None:
        """Queue one record; flush when the batch is full."""
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            self._lines.append(line)
            full = len(self._lines) >= self._batch
        if full:
            self.flush()

    def flush(self) -> None:
        """Write every queued line to the file."""
        with self._lock:
            if not self._lines or self._fd < 0:
                return
            data = ("\n".join(self._lines) + "\n").encode()
            self._lines = []
            os.write(self._fd, data)

    def close(self) -> None:
        """Flush and close; later writes are dropped."""
        self._stop.set()
        self.flush()
        with self._lock:
            fd, self._fd = self._fd, -1
        if fd >= 0:
            self._finalizer.detach()
            os.close(fd)

    def _flush_periodically(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.flush()

    @staticmethod
    def _close_fd(fd: int) -> None:
        if fd >= 0:
            os.close(fd)


def current_endpoint() -> str:
    """Name what issued the statement: 'METHOD rule' in a request, else the CLI command."""
    if flask.has_request_context():
        request = flask.request
        rule = request.url_rule.rule if request.url_rule is not None else UNMATCHED
        return f"{request.method} {rule}"
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        return f"cli {ctx.command_path}"
    return BACKGROUND


def install_sql_log(
    app: flask.Flask | None, engine: Engine | None, path: str | os.PathLike[str]
) -> SqlLogWriter:
    """Log every statement `engine` executes (every engine when None) to `path` as JSON lines.

    `app` is optional: attribution uses whichever Flask request is active. When given, the
    writer is kept on `app.extensions["sql_log"]`. A statement that fails is logged too, with
    an "error" field naming the exception class: the endpoint still tried that access.
    """
    writer = SqlLogWriter(path)
    target: Any = engine if engine is not None else Engine

    @event.listens_for(target, "before_cursor_execute")
    def _start(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("sql_log_started", []).append(time.perf_counter())

    def record(conn: Any, statement: str) -> dict[str, Any]:
        started = conn.info["sql_log_started"].pop()
        return {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "endpoint": current_endpoint(),
            "sql": statement,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            "dialect": conn.dialect.name,
        }

    @event.listens_for(target, "after_cursor_execute")
    def _done(conn, cursor, statement, parameters, context, executemany):
        writer.write(record(conn, statement))

    @event.listens_for(target, "handle_error")
    def _failed(exception_context):
        # A failed statement never reaches after_cursor_execute.
        conn = exception_context.connection
        if conn is not None and conn.info.get("sql_log_started") and exception_context.statement:
            entry = record(conn, exception_context.statement)
            entry["error"] = type(exception_context.original_exception).__name__
            writer.write(entry)

    if app is not None:
        app.extensions["sql_log"] = writer
    return writer
