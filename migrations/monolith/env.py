"""Alembic environment of the ShopCo monolith database.

The URL comes, in order, from `config.attributes["database_url"]` (set by
monolith.migrate.upgrade), `sqlalchemy.url` in the ini section, or the monolith config
(DATABASE_URL, default var/shopco.db).
"""

from alembic import context

from monolith.db import make_engine
from monolith.models import Base

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if url:
        return str(url)
    from monolith.config import load_config

    return load_config().database_url


def run_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(database_url())
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    # render_as_batch lets SQLite alter tables (it copies them) with the same scripts.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
