"""Alembic environment of the reviews service's database (extracted/_service/alembic_env.py)."""

from extracted._service.alembic_env import run_migrations
from extracted.reviews.tables import metadata

run_migrations(metadata, "reviews")
