"""The one shared database: engine construction and the session-per-request pattern.

`Database` holds the engine and a session factory; create_app keeps it on
`app.extensions["shopco"]`. Each request gets one Session, opened lazily by `session()`
and closed (rolled back if uncommitted) when the request ends, so a failed handler
leaves nothing half-written. Handlers commit explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


@dataclass(frozen=True)
class Database:
    """The engine and session factory of one application."""

    engine: Engine
    sessions: sessionmaker[Session]


def make_engine(url: str) -> Engine:
    """Create an engine that behaves the same on SQLite and PostgreSQL."""
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        # The threaded server shares the file between threads; wait on locks, don't fail.
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs["connect_args"] = {"connect_timeout": 5}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # SQLite ignores foreign keys unless asked; PostgreSQL always enforces them.
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def init_database(app: Flask, url: str) -> Database:
    """Attach a Database to `app` and close each request's session when it ends."""
    engine = make_engine(url)
    database = Database(engine, sessionmaker(engine, expire_on_commit=False))
    app.extensions["shopco"] = database

    @app.teardown_request
    def _close_session(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.close()

    return database


def session() -> Session:
    """Return the current request's Session, opening it on first use."""
    if "db_session" not in g:
        database: Database = current_app.extensions["shopco"]
        g.db_session = database.sessions()
    return g.db_session
