"""Check a service's CDC mapping file against the tables it names, before anything runs.

A mapping is read by the sink only when events arrive, so a typo would surface as dead
letters much later. Services check it at start-up instead: against their own tables
(targets, renamed and added columns) when the app is built, and against the monolith's
tables (sources, renamed and dropped columns) when `strangler extract sync` starts.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from cdc.errors import CdcError
from cdc.mapping import SinkMapping, TableMapping, load_mapping
from extracted._service.errors import ServiceError


def load_checked(path: str | Path, target: sa.MetaData) -> SinkMapping:
    """Load the mapping at `path` and check every target table and column it names."""
    try:
        mapping = load_mapping(path)
    except CdcError as exc:
        raise ServiceError(str(exc)) from None
    for table in mapping.tables:
        check_target(table, target, str(path))
    return mapping


def check_target(table: TableMapping, target: sa.MetaData, where: str) -> None:
    here = f"mapping {where}: [tables.{table.source}]"
    found = target.tables.get(table.target)
    if found is None:
        known = ", ".join(sorted(t for t in target.tables if not t.startswith("_")))
        raise ServiceError(
            f"{here}: target table {table.target!r} does not exist (tables: {known})"
        )
    named = [new for _, new in table.rename] + [added.name for added in table.add]
    for column in named:
        if column not in found.columns:
            raise ServiceError(
                f"{here}: column {column!r} does not exist in target table {table.target!r}"
            )


def check_source(
    mapping: SinkMapping, source: sa.MetaData, target: sa.MetaData, where: str
) -> None:
    """Check source tables and columns, and that every copied column has a place in the target."""
    for table in mapping.tables:
        here = f"mapping {where}: [tables.{table.source}]"
        found = source.tables.get(table.source)
        if found is None:
            raise ServiceError(f"{here}: source table {table.source!r} does not exist")
        for column in [old for old, _ in table.rename] + list(table.drop):
            if column not in found.columns:
                raise ServiceError(
                    f"{here}: column {column!r} does not exist in source table {table.source!r}"
                )
        goal = target.tables[table.target]
        for copied in found.columns:
            if copied.name in table.drop:
                continue
            if table.target_column(copied.name) not in goal.columns:
                raise ServiceError(
                    f"{here}: source column {copied.name!r} has no column in target table "
                    f"{table.target!r}: rename or drop it"
                )
