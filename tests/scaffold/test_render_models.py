"""Models and the initial migration rendered from plain table values (no files, no database)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from scaffold.render_models import creation_order, render_migration, render_models
from scaffold.schema import ColumnSpec, ForeignKeySpec, IndexSpec, TableSpec

ORDERS = TableSpec(
    "orders",
    (ColumnSpec("id", "sa.BigInteger()", "int", False),
     ColumnSpec("class", "sa.String(10)", "str", True),
     ColumnSpec("customer_ref", "sa.Integer()", "int", False)),
    primary_key=("id",),
    indexes=(IndexSpec("ix_orders_customer", ("customer_ref",)),),
)  # fmt: skip
LINES = TableSpec(
    "order_lines",
    (ColumnSpec("order_id", "sa.BigInteger()", "int", False),
     ColumnSpec("line_no", "sa.Integer()", "int", False),
     ColumnSpec("note", "sa.Text()", "str", True, "was GEOMETRY")),
    primary_key=("order_id", "line_no"),
    foreign_keys=(ForeignKeySpec(("order_id",), "orders", ("id",)),),
    uniques=(("order_id", "note"),),
)  # fmt: skip
LOG = TableSpec("log", (ColumnSpec("line", "sa.Text()", "str", True),))


def _load(name: str, source: str, folder: Path) -> ModuleType:
    """Import rendered source as a real module (SQLAlchemy resolves annotations by module)."""
    path = folder / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def test_referenced_tables_are_created_first() -> None:
    assert [t.name for t in creation_order((LINES, LOG, ORDERS))] == [
        "orders",
        "order_lines",
        "log",
    ]


def test_the_models_module_runs_and_maps_every_table(tmp_path) -> None:
    models = _load(
        "scaffold_models_probe",
        render_models("shop", "orders", "x", (LINES, ORDERS, LOG)),
        tmp_path,
    )
    assert sorted(models.Base.metadata.tables) == ["log", "order_lines", "orders"]
    assert models.Orders.__table__.c["class"].type.length == 10
    assert hasattr(models.Orders, "class_")  # a keyword column gets a trailing underscore
    assert models.log.name == "log"  # no primary key: a plain Table


def test_a_bigint_primary_key_still_autoincrements_on_sqlite() -> None:
    models = render_models("shop", "orders", "x", (ORDERS,))
    assert 'sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True' in models


def test_notes_are_kept_as_comments() -> None:
    assert "# note: was GEOMETRY" in render_models("shop", "orders", "x", (ORDERS, LINES))


def test_the_migration_builds_the_tables_keys_and_indexes(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    migration = _load(
        "scaffold_migration_probe",
        render_migration("shop", "orders", (LINES, ORDERS, LOG)),
        tmp_path,
    )
    with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        migration.upgrade()
    schema = inspect(engine)
    assert sorted(schema.get_table_names()) == ["log", "order_lines", "orders"]
    assert schema.get_pk_constraint("order_lines")["constrained_columns"] == ["order_id", "line_no"]
    assert [i["name"] for i in schema.get_indexes("orders")] == ["ix_orders_customer"]
    assert schema.get_foreign_keys("order_lines")[0]["referred_table"] == "orders"
    engine.dispose()


def _pointing(name: str, other: str) -> TableSpec:
    """A table with an id and a key to `other`."""
    columns = (ColumnSpec("id", "sa.Integer()", "int", False),
               ColumnSpec(f"{other}_id", "sa.Integer()", "int", True))  # fmt: skip
    key = ForeignKeySpec((f"{other}_id",), other, ("id",))
    return TableSpec(name, columns, primary_key=("id",), foreign_keys=(key,))


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_keys_forming_a_cycle_are_added_once_both_tables_exist(request, backend, tmp_path):
    a, b = _pointing("a", "b"), _pointing("b", "a")
    migration = render_migration("shop", "ab", (a, b))
    assert (
        'batch.create_foreign_key(\n            "fk_b_a_id_a", "a", ["a_id"], ["id"]' in migration
    )
    models = _load("scaffold_cycle_probe", render_models("shop", "ab", "x", (a, b)), tmp_path)
    url = f"sqlite:///{tmp_path / 'cycle.db'}"
    if backend == "postgres":
        url = request.getfixturevalue("postgres").create_database()
    engine = create_engine(url)
    loaded = _load("scaffold_cycle_migration", migration, tmp_path)
    with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        loaded.upgrade()
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), models.Base.metadata) == []
    with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        loaded.downgrade()
    assert inspect(engine).get_table_names() == []
    engine.dispose()
