"""The body of every service's alembic env.py: one database, one metadata, batch mode.

The URL comes from `config.attributes["database_url"]` (set by Migrations.upgrade), else
`sqlalchemy.url` in the ini section, else the service's config (STRANGLER_<NAME>_DATABASE_URL).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context


def run_migrations(metadata: sa.MetaData, service: str) -> None:
    config = context.config
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from extracted._service.config import load_config

        url = load_config(service).database_url
    if context.is_offline_mode():
        context.configure(url=str(url), target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    from extracted._service.database import make_engine

    engine = make_engine(str(url))
    with engine.connect() as conn:
        # render_as_batch lets SQLite alter tables (it copies them) with the same scripts.
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
