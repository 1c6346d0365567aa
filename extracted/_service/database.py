"""A service's own database: engine, one session per request, and its alembic section.

Each service has a named section in migrations/alembic.ini (`[catalog]`, `[reviews]`)
with its own script folder, so its schema evolves apart from the monolith's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from extracted._service.errors import ServiceError

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "migrations" / "alembic.ini"


@dataclass(frozen=True)
class Database:
    """The engine and session factory of one service app."""

    engine: Engine
    sessions: sessionmaker[Session]


def make_engine(url: str) -> Engine:
    """Create an engine that behaves the same on SQLite and PostgreSQL."""
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    elif url.startswith("postgres"):
        kwargs["connect_args"] = {"connect_timeout": 5}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def init_database(app: Flask, url: str) -> Database:
    """Attach a Database to `app`; each request's session closes when the request ends."""
    engine = make_engine(url)
    database = Database(engine, sessionmaker(engine, expire_on_commit=False))
    app.extensions["service_db"] = database

    @app.teardown_request
    def _close_session(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("service_session", None)
        if session is not None:
            session.close()

    return database


def session() -> Session:
    """Return the current request's Session, opening it on first use."""
    if "service_session" not in g:
        g.service_session = current_app.extensions["service_db"].sessions()
    return g.service_session


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


class Migrations:
    """The alembic section of one service."""

    def __init__(self, section: str) -> None:
        self.section = section

    def config(self, url: str) -> Config:
        config = Config(str(ALEMBIC_INI), ini_section=self.section)
        # An attribute, not set_main_option: a '%' in a password would break the ini.
        config.attributes["database_url"] = url
        return config

    def head(self) -> str | None:
        return ScriptDirectory.from_config(self.config("")).get_current_head()

    def current(self, engine: Engine) -> str | None:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def upgrade(self, url: str, revision: str = "head") -> str | None:
        """Upgrade the database at `url`; return the revision it is at afterwards."""
        try:
            command.upgrade(self.config(url), revision)
        except (CommandError, SQLAlchemyError) as exc:
            raise ServiceError(
                f"{self.section}: migration failed on {safe_url(url)}: {exc}"
            ) from exc
        engine = make_engine(url)
        try:
            return self.current(engine)
        finally:
            engine.dispose()

    def problem(self, engine: Engine) -> str | None:
        """Say why the database is not at head, or None when it is."""
        current, head = self.current(engine), self.head()
        if current == head:
            return None
        where = safe_url(str(engine.url))
        if current is None:
            return (
                f"the {self.section} database {where} is not migrated; "
                f"run `strangler extract migrate {self.section}` first"
            )
        return (
            f"the {self.section} database {where} is at revision {current}, the code expects "
            f"{head}; run `strangler extract migrate {self.section}`"
        )

    def require_migrated(self, url: str) -> None:
        """Raise ServiceError (one line) unless the database at `url` is at head."""
        engine = make_engine(url)
        try:
            message = self.problem(engine)
        except SQLAlchemyError as exc:
            raise ServiceError(
                f"cannot reach the {self.section} database {safe_url(url)}: {type(exc).__name__}"
            ) from None
        finally:
            engine.dispose()
        if message:
            raise ServiceError(message)
