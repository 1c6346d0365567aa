"""Alembic environment of the catalog service's database (extracted/_service/alembic_env.py)."""

from extracted._service.alembic_env import run_migrations
from extracted.catalog.tables import metadata

run_migrations(metadata, "catalog")
