"""The context's tables read from a live database through SQLAlchemy inspection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from scaffold.errors import ScaffoldError
from scaffold.schema import ForeignKeySpec, IndexSpec, TableSpec, column_spec


def read_database_tables(url: str, wanted: tuple[str, ...]) -> dict[str, TableSpec]:
    """Inspect the database at `url`; return the wanted tables that exist, by lower name."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ScaffoldError(f"--db {url!r}: not a database URL (e.g. sqlite:///app.db)") from None
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        raise ScaffoldError(f"--db {shown}: no such SQLite database file")
    try:
        engine = create_engine(parsed)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise ScaffoldError(f"--db {shown}: unsupported database URL ({exc})") from None
    try:
        inspector = inspect(engine)
        return {t: spec for t in wanted if (spec := _table(inspector, t)) is not None}
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise ScaffoldError(f"--db {shown}: cannot read the schema: {reason}") from None
    finally:
        engine.dispose()


def _table(inspector: Any, wanted: str) -> TableSpec | None:
    schema, _, bare = wanted.rpartition(".")
    names = {n.lower(): n for n in inspector.get_table_names(schema=schema or None)}
    name = names.get(bare)
    if name is None:
        return None
    kw = {"schema": schema or None}
    columns = tuple(
        column_spec(c["name"].lower(), c["type"], bool(c.get("nullable", True)))
        for c in inspector.get_columns(name, **kw)
    )
    pk = tuple(c.lower() for c in (inspector.get_pk_constraint(name, **kw) or {}).get(
        "constrained_columns") or ())  # fmt: skip
    fks = tuple(
        ForeignKeySpec(
            tuple(c.lower() for c in fk["constrained_columns"]),
            _qualified(fk.get("referred_schema"), fk["referred_table"]),
            tuple(c.lower() for c in fk["referred_columns"]),
        )
        for fk in inspector.get_foreign_keys(name, **kw)
    )
    uniques = tuple(
        tuple(c.lower() for c in u["column_names"])
        for u in inspector.get_unique_constraints(name, **kw)
    )
    indexes, notes = [], []
    for ix in inspector.get_indexes(name, **kw):
        if ix.get("duplicates_constraint"):
            continue  # PostgreSQL reports a unique constraint's index too
        cols = ix.get("column_names") or []
        if not cols or any(c is None for c in cols):
            notes.append(f"expression index {ix.get('name')} not generated: add it by hand")
            continue
        indexes.append(
            IndexSpec(str(ix["name"]), tuple(c.lower() for c in cols), bool(ix["unique"]))
        )
    return TableSpec(wanted, columns, pk, fks, uniques, tuple(indexes), tuple(notes))


def _qualified(schema: str | None, table: str) -> str:
    return f"{schema}.{table}".lower() if schema else table.lower()
