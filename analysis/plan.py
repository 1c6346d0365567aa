"""The extraction plan: contexts ordered from least to most coupled. Pure."""

from __future__ import annotations

from dataclasses import replace

from analysis.access import AccessModel
from analysis.contexts import Assignment
from analysis.model import ExtractionStep, ForeignKey

_NO_ENDPOINTS = (
    "no endpoint is routed to it (its tables are only used by other contexts' endpoints): "
    "nothing to route, so it is extracted after the contexts that have endpoints, as a "
    "module of the context that uses it most or as a data-only service"
)


def extraction_plan(model: AccessModel, split: Assignment) -> list[ExtractionStep]:
    """One step per context, least coupled first (ties by name); a context without
    endpoints never goes before one with endpoints (it has nothing to route)."""
    steps = [_step(model, split, context.name) for context in split.contexts]
    if model.has_workload:
        steps = [s if s.endpoints else replace(s, note=_NO_ENDPOINTS) for s in steps]
    return sorted(steps, key=lambda s: (bool(s.note), s.coupling, s.context))


def _step(model: AccessModel, split: Assignment, name: str) -> ExtractionStep:
    mine = {t for t, c in split.table_context.items() if c == name}
    endpoints = tuple(sorted(e for e, c in split.endpoint_context.items() if c == name))
    fks: list[ForeignKey] = [
        fk for fk in model.foreign_keys if (fk.table in mine) != (fk.ref_table in mine)
    ]
    joins = sorted(pair for pair in model.join_endpoints if (pair[0] in mine) != (pair[1] in mine))
    # Tables other contexts still read: after extraction they need a CDC-fed replica.
    # (Tables other contexts write are shared-table findings: those writes become calls.)
    streams = sorted(
        t
        for t in mine
        if any(
            split.endpoint_context.get(e) not in (name, None) and t in model.reads.get(e, {})
            for e in model.endpoints
        )
    )
    foreign_writes = sum(
        count
        for e, written in model.writes.items()
        if split.endpoint_context.get(e) != name
        for t, count in written.items()
        if t in mine
    )
    outgoing_writes = sum(
        count for e in endpoints for t, count in model.writes.get(e, {}).items() if t not in mine
    )
    # Each item that crosses the boundary is work at extraction; writes across it weigh most.
    coupling = (
        len(fks)
        + len(joins)
        + len(streams)
        + 2 * len({t for t in mine if split.tables[t].shared})
        + _share(foreign_writes + outgoing_writes, _all_writes(model, mine, endpoints))
    )
    return ExtractionStep(
        context=name,
        coupling=round(coupling, 3),
        tables=tuple(sorted(mine)),
        endpoints=endpoints,
        foreign_keys_to_cut=tuple(fks),
        joins_to_replace=tuple(joins),
        cdc_streams=tuple(streams),
    )


def _all_writes(model: AccessModel, mine: set[str], endpoints: tuple[str, ...]) -> int:
    total = sum(c for written in model.writes.values() for t, c in written.items() if t in mine)
    return total + sum(
        c for e in endpoints for t, c in model.writes.get(e, {}).items() if t not in mine
    )


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
