"""Target tables for the sink: find them, create missing ones as copies, decode values.

A missing target table is created as a copy of the source table (reflected through
SQLAlchemy when the sink knows the source URL; otherwise inferred from the first row),
with the mapping's renames, drops and added columns, and only the primary key as
constraint. Values arrive in Debezium's JSON encoding and are decoded per the target
column's type (see cdc/types.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cdc import types
from cdc.errors import PoisonEvent
from cdc.mapping import TableMapping

_ADDED_SQL: dict[str, Any] = {
    "text": sa.Text, "integer": sa.BigInteger, "float": sa.Float,
    "boolean": sa.Boolean, "numeric": sa.Numeric,
}  # fmt: skip


@dataclass(frozen=True)
class Target:
    """A target table with the decoding kind of each column."""

    table: sa.Table
    kinds: dict[str, tuple[str, int | None]]
    key: tuple[str, ...]

    def decode_row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        out = {}
        kinds = self.kinds
        for name, value in row.items():
            kind = kinds.get(name)
            if kind is None or value is None or type(value) is types.DECODED.get(kind[0]):
                out[name] = value  # unknown column (reported later), null or ready as is
                continue
            try:
                out[name] = types.decode(kind[0], value, kind[1])
            except ValueError as exc:
                raise PoisonEvent(f"column {name!r}: {exc}") from None
        return out


def kind_of_sqltype(sqltype: Any) -> tuple[str, int | None]:
    """Classify a SQLAlchemy column type the way cdc/types.py encodes values."""
    if isinstance(sqltype, sa.Boolean):
        return "bool", None
    if isinstance(sqltype, sa.Integer):
        return "int", None
    if isinstance(sqltype, sa.Float):
        return "float", None
    if isinstance(sqltype, sa.Numeric):
        return "decimal", sqltype.scale
    if isinstance(sqltype, sa.DateTime):
        return ("timestamptz" if sqltype.timezone else "timestamp"), None
    if isinstance(sqltype, sa.Date):
        return "date", None
    if isinstance(sqltype, sa.Time):
        return "time", None
    if isinstance(sqltype, sa.JSON):
        return "json", None
    if isinstance(sqltype, sa.Uuid):
        return "uuid", None
    if isinstance(sqltype, sa.LargeBinary):
        return "bytes", None
    return types.kind_of_declared(str(getattr(sqltype, "__visit_name__", "")))


def _portable(sqltype: Any) -> Any:
    try:
        return sqltype.as_generic()
    except NotImplementedError:
        return sa.Text()


class Targets:
    """Reflects or creates target tables on first use and caches them."""

    def __init__(self, engine: Engine, source: Engine | None = None) -> None:
        self.engine = engine
        self.source = source
        self._cache: dict[str, Target] = {}

    def get(
        self, conn: Connection, mapping: TableMapping, key: Mapping[str, Any] | None,
        row: Mapping[str, Any] | None,
    ) -> Target:  # fmt: skip
        found = self._cache.get(mapping.target)
        if found is not None:
            return found
        if sa.inspect(conn).has_table(mapping.target):
            table = sa.Table(mapping.target, sa.MetaData(), autoload_with=conn)
        else:
            table = self._create(conn, mapping, key, row)
        target = self._target(table)
        self._cache[mapping.target] = target
        return target

    def forget(self) -> None:
        self._cache.clear()

    def _target(self, table: sa.Table) -> Target:
        kinds = {c.name: kind_of_sqltype(c.type) for c in table.columns}
        key = tuple(c.name for c in table.primary_key.columns)
        if not key:
            raise PoisonEvent(f"target table {table.name!r} has no primary key to upsert by")
        return Target(table, kinds, key)

    def _create(
        self, conn: Connection, mapping: TableMapping, key: Mapping[str, Any] | None,
        row: Mapping[str, Any] | None,
    ) -> sa.Table:  # fmt: skip
        columns = self._copied_columns(mapping) or _inferred_columns(mapping, key, row)
        for added in mapping.add:
            columns.append(sa.Column(added.name, _ADDED_SQL[added.type](), nullable=True))
        table = sa.Table(mapping.target, sa.MetaData(), *columns)
        table.create(conn, checkfirst=True)
        return table

    def _copied_columns(self, mapping: TableMapping) -> list[sa.Column[Any]]:
        if self.source is None or not sa.inspect(self.source).has_table(mapping.source):
            return []
        source = sa.Table(mapping.source, sa.MetaData(), autoload_with=self.source)
        return [
            sa.Column(
                mapping.target_column(c.name),
                _portable(c.type),
                primary_key=c.primary_key,
                nullable=c.nullable or False,
                autoincrement=False,
            )
            for c in source.columns
            if c.name not in mapping.drop
        ]


def _inferred_columns(
    mapping: TableMapping, key: Mapping[str, Any] | None, row: Mapping[str, Any] | None
) -> list[sa.Column[Any]]:
    if not row or not key:
        raise PoisonEvent(
            f"target table {mapping.target!r} is missing and cannot be inferred from this event"
        )
    columns: list[sa.Column[Any]] = []
    for name, value in row.items():
        if name in mapping.drop:
            continue
        sqltype: Any = sa.Text()
        if isinstance(value, bool):
            sqltype = sa.Boolean()
        elif isinstance(value, int):
            sqltype = sa.BigInteger()
        elif isinstance(value, float):
            sqltype = sa.Float()
        target = mapping.target_column(name)
        columns.append(sa.Column(target, sqltype, primary_key=name in key, autoincrement=False))
    return columns
