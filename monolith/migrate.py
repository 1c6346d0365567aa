"""Run the monolith's alembic migrations programmatically (`strangler monolith migrate`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from sqlalchemy.exc import SQLAlchemyError

from monolith.errors import MonolithError

ALEMBIC_INI = Path(__file__).resolve().parents[1] / "migrations" / "alembic.ini"
SECTION = "monolith"


def alembic_config(url: str) -> Config:
    """Return the alembic Config of the [monolith] section, pointed at `url`."""
    if not ALEMBIC_INI.exists():
        raise MonolithError(f"alembic config not found at {ALEMBIC_INI}")
    config = Config(str(ALEMBIC_INI), ini_section=SECTION)
    # Passed as an attribute, not set_main_option: a '%' in a password would break the ini.
    config.attributes["database_url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> str | None:
    """Upgrade the database at `url` to `revision`; return the revision it is at afterwards."""
    config = alembic_config(url)
    try:
        command.upgrade(config, revision)
    except CommandError as exc:
        raise MonolithError(f"migration failed: {exc}") from exc
    except SQLAlchemyError as exc:
        raise MonolithError(
            f"migration failed on {_safe(url)}: {exc.__class__.__name__}: {exc}"
        ) from exc
    return current_revision(url)


def current_revision(url: str) -> str | None:
    """Return the alembic revision the database is at, or None when it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    from monolith.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def head_revision() -> str | None:
    """Return the newest revision of the [monolith] scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def require_migrated(url: str) -> None:
    """Raise MonolithError unless the database at `url` is migrated to head.

    An unreachable database passes: the app starts and /ready reports it.
    """
    try:
        current = current_revision(url)
    except SQLAlchemyError:
        return
    if current is None:
        raise MonolithError(
            f"the database {_safe(url)} has no ShopCo tables; "
            "run `strangler monolith migrate` first"
        )
    head = head_revision()
    if current != head:
        raise MonolithError(
            f"the database {_safe(url)} is at revision {current}, the code expects {head}; "
            "run `strangler monolith migrate`"
        )
