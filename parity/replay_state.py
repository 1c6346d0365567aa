"""`verify --writes state`: compare what one write did to the legacy and the service database.

Both databases must start from the same point (a copy of the monolith's and the service
filled from it by CDC). Around each replayed write the mapped tables of both sides are
read; rows the write changed on either side are lined up by the CDC mapping (source
table -> target table, renamed and dropped columns, added columns) and the service
table's primary key, and compared column by column. A difference names the table (the
service's name), the key and the column. Reading whole tables around every write costs
time proportional to their size: this is for test-sized copies, not production data.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from parity.errors import ParityError

Rows = dict[tuple[Any, ...], dict[str, Any]]
Snapshot = dict[str, tuple[Rows, Rows]]  # target table -> (legacy rows mapped, service rows)


class StateError(ParityError, ValueError):
    """A database or a mapped table cannot be read; the message names it."""


@dataclass(frozen=True)
class StateDiff:
    """One column (or a whole row) that a write left different on the two sides."""

    table: str
    key: Mapping[str, Any]
    column: str  # "(row)" when the row exists on one side only
    legacy: Any
    candidate: Any

    @property
    def field(self) -> str:
        return f"$state.{self.table}.{self.column}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "key": dict(self.key),
            "column": self.column,
            "legacy": self.legacy,
            "candidate": self.candidate,
        }


@dataclass(frozen=True)
class _Pair:
    mapping: Any  # cdc.mapping.TableMapping
    legacy: sa.Table
    candidate: sa.Table
    key: tuple[str, ...]  # service primary-key columns


class Databases:
    """The legacy and the service database, and the mapped tables to compare."""

    def __init__(
        self, legacy_url: str, candidate_url: str, mapping_path: str, ignore: tuple[str, ...] = ()
    ) -> None:
        from cdc.errors import CdcError
        from cdc.mapping import load_mapping

        try:
            mapping = load_mapping(mapping_path)
        except CdcError as exc:
            raise StateError(str(exc)) from None
        self.ignore = frozenset(ignore)
        self.engines = (sa.create_engine(legacy_url), sa.create_engine(candidate_url))
        self.pairs = [self._pair(m) for m in mapping.tables]

    def _pair(self, m: Any) -> _Pair:
        tables = []
        for engine, name, side in (
            (self.engines[0], m.source, "legacy"),
            (self.engines[1], m.target, "service"),
        ):
            try:
                tables.append(sa.Table(name, sa.MetaData(), autoload_with=engine))
            except (sa.exc.NoSuchTableError, sa.exc.OperationalError) as exc:
                raise StateError(f"the {side} database has no table {name!r} ({exc})") from None
        key = tuple(c.name for c in tables[1].primary_key.columns)
        if not key:
            raise StateError(f"service table {m.target!r} has no primary key to line rows up")
        return _Pair(m, tables[0], tables[1], key)

    def close(self) -> None:
        for engine in self.engines:
            engine.dispose()

    def snapshot(self) -> Snapshot:
        out: Snapshot = {}
        with self.engines[0].connect() as legacy, self.engines[1].connect() as service:
            for p in self.pairs:
                mapped = (
                    _mapped(p.mapping, dict(r._mapping))
                    for r in legacy.execute(sa.select(p.legacy))
                )
                theirs = (dict(r._mapping) for r in service.execute(sa.select(p.candidate)))
                out[p.candidate.name] = (_by_key(mapped, p.key), _by_key(theirs, p.key))
        return out

    def diff(self, before: Snapshot, after: Snapshot) -> list[StateDiff]:
        """What the write changed differently: rows changed on either side, compared."""
        found: list[StateDiff] = []
        for p in self.pairs:
            table = p.candidate.name
            (lb, cb), (la, ca) = before[table], after[table]
            changed = {k for k in la.keys() | lb.keys() if la.get(k) != lb.get(k)}
            changed |= {k for k in ca.keys() | cb.keys() if ca.get(k) != cb.get(k)}
            for k in sorted(changed, key=repr):
                found.extend(self._row(table, p.key, k, la.get(k), ca.get(k)))
        return found

    def _row(
        self,
        table: str,
        names: tuple[str, ...],
        key: tuple[Any, ...],
        legacy: dict[str, Any] | None,
        service: dict[str, Any] | None,
    ) -> list[StateDiff]:
        ident = dict(zip(names, key, strict=True))
        if legacy is None or service is None:
            if legacy is service:
                return []
            where = ("present", "absent") if service is None else ("absent", "present")
            return [StateDiff(table, ident, "(row)", *where)]
        return [
            StateDiff(table, ident, col, _plain(legacy[col]), _plain(value))
            for col, value in service.items()
            if col in legacy
            and not self._ignored(table, col)
            and _plain(legacy[col]) != _plain(value)
        ]

    def _ignored(self, table: str, column: str) -> bool:
        return column in self.ignore or f"{table}.{column}" in self.ignore


def _mapped(m: Any, row: dict[str, Any]) -> dict[str, Any]:
    """A legacy row reshaped as the CDC sink would write it into the service table."""
    out = {m.target_column(k): v for k, v in row.items() if k not in m.drop}
    if m.add:
        m.add_columns(out, row)
    return out


def _by_key(rows: Any, key: tuple[str, ...]) -> Rows:
    return {tuple(_plain(r.get(k)) for k in key): r for r in rows}


def _plain(value: Any) -> Any:
    """Values comparable across databases: bools as ints, exact decimals, ISO times."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return value
