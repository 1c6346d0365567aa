"""Coupling findings, each with the tables and endpoints involved and a remedy. Pure."""

from __future__ import annotations

from analysis.access import AccessModel
from analysis.contexts import Assignment
from analysis.model import Finding

_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2, "info": 3}


def find_all(model: AccessModel, split: Assignment) -> list[Finding]:
    """Every finding, most severe first."""
    omnipresent = model.omnipresent
    found = [
        *_shared_tables(split, omnipresent),
        *_cross_context_joins(model, split),
        *_cross_context_fks(model, split),
        *_multi_context_writers(model, split, omnipresent),
        *_nano_contexts(model, split),
        *_unused_tables(model),
        *_owners_elsewhere(split),
        *_cross_cutting(model, split),
        *_reference_data(split),
    ]
    return sorted(found, key=lambda f: (_SEVERITY_ORDER[f.severity], f.kind, f.tables))


def _shared_tables(split: Assignment, omnipresent: frozenset[str]) -> list[Finding]:
    found = []
    for table, info in sorted(split.tables.items()):
        if not info.shared:
            continue
        contexts = sorted({split.endpoint_context[e] for e in info.writers})
        others = [c for c in contexts if c != info.owner]
        if table in omnipresent:
            found.append(
                Finding(
                    "shared_table",
                    "high",
                    f"{table} is written by {len(info.writers)} endpoints in {len(contexts)} "
                    "contexts: a cross-cutting table (audit log, outbox)",
                    (table,),
                    info.writers,
                    f"make {table} a generic subdomain of its own: contexts publish events "
                    "and it subscribes, instead of every command writing the table",
                )
            )
            continue
        found.append(
            Finding(
                "shared_table",
                "high",
                f"{table} is written by {len(contexts)} contexts ({', '.join(contexts)})",
                (table,),
                info.writers,
                f"make {info.owner} the only writer of {table}; {', '.join(others)} call its "
                "API or publish events it consumes instead of writing the table directly",
            )
        )
    return found


def _cross_context_joins(model: AccessModel, split: Assignment) -> list[Finding]:
    found = []
    for (a, b), endpoints in sorted(model.join_endpoints.items()):
        ca, cb = split.table_context.get(a), split.table_context.get(b)
        if ca is None or cb is None or ca == cb:
            continue
        found.append(
            Finding(
                "cross_context_join",
                "medium",
                f"{a} ({ca}) is joined with {b} ({cb}) by {len(endpoints)} endpoint(s)",
                (a, b),
                endpoints,
                "replace the join with API composition, or keep a read-only replica of the "
                "other context's table fed by CDC",
            )
        )
    return found


def _cross_context_fks(model: AccessModel, split: Assignment) -> list[Finding]:
    found = []
    for fk in model.foreign_keys:
        ca, cb = split.table_context.get(fk.table), split.table_context.get(fk.ref_table)
        if ca is None or cb is None or ca == cb:
            continue
        columns = ", ".join(fk.columns)
        found.append(
            Finding(
                "cross_context_fk",
                "medium",
                f"{fk.table}({columns}) in {ca} references {fk.ref_table} in {cb}",
                (fk.table, fk.ref_table),
                (),
                f"cut this foreign key at extraction: keep {columns} as a plain id and check it "
                f"through {cb}'s API or events",
            )
        )
    return found


def _multi_context_writers(
    model: AccessModel, split: Assignment, omnipresent: frozenset[str]
) -> list[Finding]:
    found = []
    for endpoint in model.endpoints:
        # cross-cutting tables are reported once, as shared tables, not per endpoint
        written = {t: n for t, n in model.writes.get(endpoint, {}).items() if t not in omnipresent}
        contexts = sorted({split.table_context[t] for t in written if t in split.table_context})
        if len(contexts) < 2:
            continue
        found.append(
            Finding(
                "multi_context_write",
                "high",
                f"{endpoint} writes in {len(contexts)} contexts ({', '.join(contexts)}): "
                "a distributed transaction once they are split",
                tuple(sorted(written)),
                (endpoint,),
                "saga candidate: one local transaction per context with compensations, "
                "driven by events; avoid a synchronous call chain across services",
            )
        )
    return found


def _nano_contexts(model: AccessModel, split: Assignment) -> list[Finding]:
    if len(split.contexts) < 2:
        return []
    found = []
    for context in split.contexts:
        if len(context.tables) > 1:
            continue
        info = split.tables[context.tables[0]]
        remedy = (
            "too small to be a service on its own: merge it with the context it is most "
            "used with, unless it is a deliberate generic subdomain"
        )
        if info.shared and info.owner == context.name:
            # detached by the ownership pass: its own endpoints maintain it
            remedy = (
                "kept apart: its own endpoints maintain it, other contexts only append or "
                "delete rows; a supporting or generic subdomain (a small service, or a "
                "module of a platform service) that the others publish events to"
            )
        found.append(
            Finding(
                "nano_context",
                "low",
                f"context {context.name} has a single table and "
                f"{len(context.endpoints)} endpoint(s)",
                context.tables,
                context.endpoints,
                remedy,
            )
        )
    return found


def _unused_tables(model: AccessModel) -> list[Finding]:
    if not model.has_workload:
        return []
    unused = sorted(set(model.tables) - model.accessed())
    if not unused:
        return []
    return [
        Finding(
            "unused_table",
            "info",
            f"{len(unused)} table(s) never accessed by the workload: {', '.join(unused)}",
            tuple(unused),
            (),
            "check with a longer or fuller workload; tables that stay unused are candidates "
            "for removal rather than extraction",
        )
    ]


def _owners_elsewhere(split: Assignment) -> list[Finding]:
    """Tables clustered into one context but changed by another context's endpoints."""
    found = []
    for table, info in sorted(split.tables.items()):
        if info.owner == info.context:
            continue
        found.append(
            Finding(
                "owner_elsewhere",
                "medium",
                f"{table} sits in {info.context} (it is used with those tables) but "
                f"{info.owner}'s endpoints change it (owner basis: {info.owner_basis})",
                (table,),
                info.writers,
                f"decide who owns {table}: move it to {info.owner}, or route the endpoints "
                f"that change it to {info.context} (an override: [pin] {table} = "
                f'"{info.owner}")',
            )
        )
    return found


def _cross_cutting(model: AccessModel, split: Assignment) -> list[Finding]:
    """Heartbeat write shapes and tables most endpoints read: kept out of the clustering."""
    everyone = len(model.endpoints)
    found = [
        Finding(
            "cross_cutting_write",
            "medium",
            f"heartbeat / cross-cutting write: `{shape.fingerprint[:120]}` is issued by "
            f"{len(shape.endpoints)} endpoints ({shape.executions} executions); kept out of "
            "the clustering and the ownership",
            shape.tables,
            shape.endpoints,
            "move it out of the request path (batch the update, or publish an event the "
            f"owner of {', '.join(shape.tables)} consumes); to leave it out of the analysis "
            "entirely, add it to ignore_statements in the overrides",
        )
        for shape in model.cross_cutting
    ]
    for table in sorted(model.cross_read):
        users = sum(1 for e in model.endpoints if table in model.touched(e))
        context = split.table_context.get(table, "")
        found.append(
            Finding(
                "cross_cutting_read",
                "info",
                f"{table} is used by {users} of {everyone} endpoints (read on nearly every "
                f"request): only the endpoints that write it bind it; it is in {context}",
                (table,),
                (),
                f"serve {table} from {context} through a cache or a replicated copy; other "
                "contexts should not join it",
            )
        )
    return found


def _reference_data(split: Assignment) -> list[Finding]:
    tables = sorted(t for t, info in split.tables.items() if info.owner_basis == "reference-data")
    if not tables:
        return []
    return [
        Finding(
            "reference_data",
            "info",
            f"{len(tables)} table(s) no endpoint writes: {', '.join(tables)}; each is placed "
            "with the context whose endpoints read it most",
            tuple(tables),
            (),
            "reference data: its context publishes it (a read-only API or CDC-fed copies); "
            "whoever loads it (a migration, an admin script) belongs to that context",
        )
    ]
