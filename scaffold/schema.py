"""The context's tables as plain values, and SQLAlchemy types rendered as source (pure).

Both schema readers (live database: schema_db.py, DDL: schema_ddl.py) produce TableSpecs;
the generator renders them into models and a migration, so both files agree by
construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.types import TypeEngine

from scaffold.errors import ScaffoldError


@dataclass(frozen=True)
class ColumnSpec:
    """One column: its SQLAlchemy type as source text and the Python type it maps to."""

    name: str
    type: str  # e.g. "sa.String(40)"
    python: str  # e.g. "str"
    nullable: bool = True
    note: str = ""  # what the scaffold changed, e.g. "was JSONB"


@dataclass(frozen=True)
class IndexSpec:
    name: str
    columns: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class ForeignKeySpec:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class TableSpec:
    """A table of the context: columns, keys, unique constraints and indexes."""

    name: str
    columns: tuple[ColumnSpec, ...]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKeySpec, ...] = ()
    uniques: tuple[tuple[str, ...], ...] = ()
    indexes: tuple[IndexSpec, ...] = ()
    notes: tuple[str, ...] = ()  # e.g. skipped expression indexes


# Most specific first: Enum and Text are Strings, Float is a Numeric, BigInteger an Integer.
_TYPES: tuple[tuple[type[TypeEngine], str], ...] = (
    (sa.Boolean, "bool"),
    (sa.BigInteger, "int"),
    (sa.SmallInteger, "int"),
    (sa.Integer, "int"),
    (sa.Float, "float"),
    (sa.Numeric, "Decimal"),
    (sa.Enum, "str"),
    (sa.Text, "str"),
    (sa.String, "str"),
    (sa.DateTime, "datetime"),
    (sa.Date, "date"),
    (sa.Time, "time"),
    (sa.Interval, "timedelta"),
    (sa.JSON, "Any"),
    (sa.Uuid, "uuid.UUID"),
    (sa.LargeBinary, "bytes"),
)


def render_type(type_: TypeEngine) -> tuple[str, str, str]:
    """Return (SQLAlchemy source, Python annotation, note) for a portable version of `type_`.

    Dialect types become their generic SQLAlchemy type so the service runs on SQLite and
    PostgreSQL alike; what had to change is said in the note.
    """
    original = _describe(type_)
    try:
        generic = type_.as_generic()
    except NotImplementedError:
        generic = type_
    for kind, python in _TYPES:
        if isinstance(generic, kind):
            source, note = _source(generic, kind, original)
            return source, python, note
    return "sa.Text()", "str", f"was {original}: no portable SQLAlchemy type, stored as text"


def column_spec(name: str, type_: TypeEngine, nullable: bool) -> ColumnSpec:
    """A column with `type_` rendered portably."""
    source, python, note = render_type(type_)
    return ColumnSpec(name, source, python, nullable, note)


def _source(t: TypeEngine, kind: type[TypeEngine], original: str) -> tuple[str, str]:
    name = kind.__name__
    if kind is sa.Enum:
        values = list(getattr(t, "enums", []) or [])
        length = max((len(v) for v in values), default=0) or None
        note = f"was {original}" + (f" ({', '.join(values)})" if values else "")
        return f"sa.String({length or ''})", note
    if kind is sa.String:
        length = getattr(t, "length", None)
        return f"sa.String({length or ''})", ""
    if kind is sa.Numeric:
        p, s = getattr(t, "precision", None), getattr(t, "scale", None)
        args = f"{p}, {s}" if p is not None and s is not None else (f"{p}" if p else "")
        return f"sa.Numeric({args})", ""
    if kind is sa.DateTime and getattr(t, "timezone", False):
        return "sa.DateTime(timezone=True)", ""
    if kind is sa.Time and getattr(t, "timezone", False):
        return "sa.Time(timezone=True)", ""
    return f"sa.{name}()", ""


def _describe(type_: TypeEngine) -> str:
    try:
        return str(type_.compile())
    except Exception:  # a dialect-only type may not compile on the default dialect
        return type(type_).__name__.upper()


def context_tables(
    found: dict[str, TableSpec], wanted: tuple[str, ...], where: str
) -> tuple[TableSpec, ...]:
    """Return the wanted tables in order; missing ones are an error naming them."""
    missing = [t for t in wanted if t not in found]
    if missing:
        have = ", ".join(sorted(found)) or "none"
        raise ScaffoldError(
            f"{where}: no table {', '.join(missing)} of the context (the schema has: {have})"
        )
    return tuple(found[t] for t in wanted)


def cut_foreign_keys(table: TableSpec, keep: set[str]) -> tuple[TableSpec, tuple[str, ...]]:
    """Drop foreign keys to tables outside `keep`; return the table and what was cut."""
    kept, cut = [], []
    for fk in table.foreign_keys:
        if fk.ref_table in keep:
            kept.append(fk)
        else:
            cut.append(f"{table.name}({', '.join(fk.columns)}) -> {fk.ref_table}")
    notes = tuple(f"foreign key {c} cut: that table stays in another context" for c in cut)
    return (
        TableSpec(
            table.name, table.columns, table.primary_key, tuple(kept), table.uniques,
            table.indexes, table.notes + notes,
        ),
        tuple(cut),
    )  # fmt: skip
