"""SQL-to-endpoint attribution: log every SQL statement with the HTTP endpoint that issued it.

One call instruments any Flask + SQLAlchemy application::

    from strangler.attribution import install_sql_log
    install_sql_log(app, engine, "var/sql.jsonl")

Each executed statement becomes one JSON line::

    {"ts": "2026-11-26T19:40:01.123+00:00", "endpoint": "GET /api/orders/<int:order_id>",
     "sql": "SELECT ...", "duration_ms": 0.412, "dialect": "sqlite"}

The endpoint is the Flask URL rule, so every call of one endpoint shares it. Statements run
outside a request are attributed to the CLI command that ran them ("cli strangler monolith
seed") or to "background". Lines are buffered in memory and appended in batches, so the
cost per statement is one dict and one list append under a lock.

This module runs inside the user's application, so it imports only what `pip install
strangler` brings without extras (flask, click, sqlalchemy) and nothing else of ours.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
import weakref
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

BACKGROUND = "background"
UNMATCHED = "<unmatched>"


Record = tuple[float, str, str, float, str, str | None]
"""(unix time, endpoint, sql, duration in ms, dialect, error class or None)."""


class SqlLogWriter:
    """Append JSON lines to a file in batches; safe to share between threads.

    The request path only appends a tuple under a lock; turning records into JSON and
    writing them happens on flush (every `interval` seconds, at `batch` records, on close).
    """

    def __init__(self, path: str | os.PathLike[str], *, batch: int = 4096, interval: float = 0.5):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._batch = batch
        self._records: list[Record] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        # O_APPEND keeps whole batches intact even when several processes share the file.
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._flusher = threading.Thread(
            target=self._flush_periodically, args=(interval,), name="sql-log", daemon=True
        )
        self._flusher.start()
        self._finalizer = weakref.finalize(self, SqlLogWriter._close_fd, self._fd)
        atexit.register(self.close)

    def add(self, record: Record) -> None:
        """Queue one record; flush when the batch is full."""
        with self._lock:
            self._records.append(record)
            full = len(self._records) >= self._batch
        if full:
            self.flush()

    def flush(self) -> None:
        """Encode and write every queued record."""
        # The write lock spans the swap, so batches reach the file in the order they filled.
        with self._write_lock:
            with self._lock:
                records, self._records = self._records, []
            if records and self._fd >= 0:
                os.write(self._fd, "".join(map(_encode, records)).encode())

    def close(self) -> None:
        """Flush and close; later records are dropped."""
        self._stop.set()
        self.flush()
        with self._write_lock:
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


def _encode(record: Record) -> str:
    ts, endpoint, sql, duration_ms, dialect, error = record
    entry: dict[str, Any] = {
        "ts": datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds"),
        "endpoint": endpoint,
        "sql": sql,
        "duration_ms": round(duration_ms, 3),
        "dialect": dialect,
    }
    if error is not None:
        entry["error"] = error
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"


# Set once per request by the app hooks, so a statement looks its endpoint up cheaply.
_endpoint: ContextVar[str | None] = ContextVar("sql_log_endpoint", default=None)


def current_endpoint() -> str:
    """Name what issued the statement: 'METHOD rule' in a request, else the CLI command."""
    cached = _endpoint.get()
    if cached is not None:
        return cached
    if flask.has_request_context():
        return request_endpoint()
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        return f"cli {ctx.command_path}"
    return BACKGROUND


def request_endpoint() -> str:
    request = flask.request
    rule = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    return f"{request.method} {rule}"


def install_sql_log(
    app: flask.Flask | None, engine: Engine | None, path: str | os.PathLike[str]
) -> SqlLogWriter:
    """Log every statement `engine` executes (every engine when None) to `path` as JSON lines.

    `app` is optional: attribution uses whichever Flask request is active. When given, the
    writer is kept on `app.extensions["sql_log"]` and the endpoint is looked up once per
    request. A statement that fails is logged too, with an "error" field naming the
    exception class: the endpoint still tried that access.
    """
    writer = SqlLogWriter(path)
    target: Any = engine if engine is not None else Engine
    clock = time.perf_counter

    @event.listens_for(target, "before_cursor_execute")
    def _start(conn, cursor, statement, parameters, context, executemany):
        conn.info["sql_log_started"] = clock()

    @event.listens_for(target, "after_cursor_execute")
    def _done(conn, cursor, statement, parameters, context, executemany):
        elapsed = (clock() - conn.info.pop("sql_log_started", clock())) * 1000
        writer.add((time.time(), current_endpoint(), statement, elapsed, conn.dialect.name, None))

    @event.listens_for(target, "handle_error")
    def _failed(exception_context):
        # A failed statement never reaches after_cursor_execute.
        conn = exception_context.connection
        if conn is None or exception_context.statement is None:
            return
        elapsed = (clock() - conn.info.pop("sql_log_started", clock())) * 1000
        error = type(exception_context.original_exception).__name__
        writer.add(
            (
                time.time(),
                current_endpoint(),
                exception_context.statement,
                elapsed,
                conn.dialect.name,
                error,
            )
        )

    if app is not None:
        app.extensions["sql_log"] = writer
        app.before_request(_remember_endpoint)
        app.teardown_request(_forget_endpoint)
    return writer


def _remember_endpoint() -> None:
    flask.g.sql_log_token = _endpoint.set(request_endpoint())


def _forget_endpoint(exc: BaseException | None) -> None:
    token = flask.g.pop("sql_log_token", None)
    if token is not None:
        _endpoint.reset(token)
