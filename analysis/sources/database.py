"""Schema from a live database, introspected through SQLAlchemy."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from analysis.errors import AnalysisError
from analysis.model import ForeignKey, Schema


def read_database(url: str) -> Schema:
    """Read tables, columns, primary and foreign keys of the database at `url`."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise AnalysisError(f"--db {url!r}: not a database URL (e.g. sqlite:///app.db)") from None
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or not Path(database).is_file():
            raise AnalysisError(f"--db {shown}: no such SQLite database file")
    try:
        engine = create_engine(parsed)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise AnalysisError(f"--db {shown}: unsupported database URL ({exc})") from None
    try:
        inspector = inspect(engine)
        schema = _inspect(inspector)
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        reason = str(orig or exc).strip().splitlines()[0]
        raise AnalysisError(f"--db {shown}: cannot read the schema: {reason}") from None
    finally:
        engine.dispose()
    if not schema.tables:
        raise AnalysisError(f"--db {shown}: the database has no tables (empty input)")
    return schema


def _inspect(inspector: object) -> Schema:
    columns: dict[str, tuple[str, ...]] = {}
    primary: dict[str, tuple[str, ...]] = {}
    fks: list[ForeignKey] = []
    for name in sorted(inspector.get_table_names()):  # type: ignore[attr-defined]
        table = name.lower()
        cols = inspector.get_columns(name)  # type: ignore[attr-defined]
        columns[table] = tuple(c["name"].lower() for c in cols)
        pk = inspector.get_pk_constraint(name) or {}  # type: ignore[attr-defined]
        primary[table] = tuple(c.lower() for c in pk.get("constrained_columns") or ())
        for fk in inspector.get_foreign_keys(name):  # type: ignore[attr-defined]
            ref = fk["referred_table"].lower()
            if fk.get("referred_schema"):
                ref = f"{fk['referred_schema']}.{ref}".lower()
            fks.append(
                ForeignKey(
                    table,
                    tuple(c.lower() for c in fk["constrained_columns"]),
                    ref,
                    tuple(c.lower() for c in fk["referred_columns"]),
                )
            )
    return Schema(
        tables=tuple(columns),
        columns=columns,
        primary_keys=primary,
        foreign_keys=tuple(fks),
        statements=len(columns),
    )
