"""The alembic migrations and the ORM models describe the same schema."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from monolith.migrate import alembic_config, current_revision, upgrade
from monolith.models import DESIGNED_CONTEXTS, Base


def test_migrated_database_matches_the_models_exactly(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_migration_is_at_head_and_upgrading_again_changes_nothing(database_url):
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    assert current_revision(database_url) == head
    assert upgrade(database_url) == head


def test_schema_has_the_designed_tables_in_plain_snake_case(engine):
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert tables == set(DESIGNED_CONTEXTS) == set(Base.metadata.tables)
    assert 14 <= len(tables) <= 20
