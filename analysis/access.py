"""The access model: endpoint x table reads and writes, joins and foreign keys. Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase

from analysis.model import ForeignKey, Observation, Schema, Shape, Workload

_DEFAULT_SCHEMAS = {"public", "main", "dbo"}
# Bookkeeping tables of migration tools and engines: never part of a bounded context.
BOOKKEEPING_TABLES = (
    "alembic_version",
    "schema_migrations",
    "ar_internal_metadata",
    "flyway_schema_history",
    "databasechangelog",
    "databasechangeloglock",
    "django_migrations",
    "knex_migrations",
    "knex_migrations_lock",
    "sqlite_sequence",
)


# What counts as cross-cutting (see docs/analyze.md, "How it works").
HEARTBEAT_SHARE = 0.5  # a write shape issued by this share of all endpoints ...
OMNIPRESENT_SHARE = 0.5  # an append-only table written by this share of the writers ...
CROSS_READ_SHARE = 0.75  # a table used by this share of all endpoints ...
CROSS_MINIMUM = 6  # ... and by at least this many (a 5-endpoint benchmark has no "most")


@dataclass(frozen=True)
class CrossCutting:
    """A write statement shape issued by most endpoints (a heartbeat, a view counter in
    middleware): kept out of the clustering and reported."""

    fingerprint: str
    tables: tuple[str, ...]
    endpoints: tuple[str, ...]
    executions: int


@dataclass(frozen=True)
class AccessModel:
    """Who touches what, in executions: the input to the graph, ownership and findings."""

    tables: tuple[str, ...]
    endpoints: tuple[str, ...]
    reads: dict[str, dict[str, int]] = field(default_factory=dict)  # endpoint -> table -> n
    writes: dict[str, dict[str, int]] = field(default_factory=dict)
    creates: dict[str, dict[str, int]] = field(default_factory=dict)  # INSERT/UPSERT only
    updates: dict[str, dict[str, int]] = field(default_factory=dict)  # changes existing rows
    joins: dict[tuple[str, str], int] = field(default_factory=dict)  # pair -> executions
    join_endpoints: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)  # estimated: its most run shape
    foreign_keys: tuple[ForeignKey, ...] = ()
    schema_tables: frozenset[str] = frozenset()
    has_workload: bool = False
    # kept out of the affinity: append-only tables most commands write (audit logs),
    # tables most endpoints read (settings), and heartbeat write shapes
    omnipresent: frozenset[str] = frozenset()
    cross_read: frozenset[str] = frozenset()
    cross_cutting: tuple[CrossCutting, ...] = ()

    def touched(self, endpoint: str) -> set[str]:
        """Tables an endpoint reads or writes."""
        return set(self.reads.get(endpoint, {})) | set(self.writes.get(endpoint, {}))

    def accessed(self) -> set[str]:
        """Tables any endpoint reads or writes."""
        found: set[str] = set()
        for endpoint in self.endpoints:
            found |= self.touched(endpoint)
        return found


def canonical_names(names: set[str]) -> dict[str, str]:
    """Map each name to its display form: without schema unless two schemas share the name."""
    schemas_of: dict[str, set[str]] = defaultdict(set)
    for name in names:
        schema, _, base = name.rpartition(".")
        schemas_of[base].add(schema if schema not in _DEFAULT_SCHEMAS else "")
    mapping = {}
    for name in names:
        schema, _, base = name.rpartition(".")
        ambiguous = len(schemas_of[base]) > 1 and schema not in _DEFAULT_SCHEMAS
        mapping[name] = name if ambiguous else base
    return mapping


def _reassigned(observations: list[Observation], moves: dict[str, str]) -> list[Observation]:
    """Attribute shapes matching a pattern of `moves` to its unit, summing their counts."""
    if not moves:
        return observations
    merged: dict[tuple[str, str], int] = defaultdict(int)
    for obs in observations:
        unit = next((u for p, u in moves.items() if fnmatchcase(obs.fingerprint, p)), obs.endpoint)
        merged[(unit, obs.fingerprint)] += obs.count
    return [Observation(unit, fp, count) for (unit, fp), count in merged.items()]


def build_access(
    schema: Schema | None,
    workload: Workload | None,
    ignore_tables: tuple[str, ...] = (),
    ignore_endpoints: tuple[str, ...] = (),
    ignore_statements: tuple[str, ...] = (),
    reassign_statements: dict[str, str] | None = None,
) -> AccessModel:
    """Fold the schema and workload into one access model with canonical table names.

    `reassign_statements` maps fingerprint patterns to the code unit that really issues
    them (request middleware, a scheduled job): a matching shape counts for that unit
    instead of every endpoint that ran it.
    """
    schema = schema or Schema()
    raw: set[str] = set(schema.tables)
    raw |= {fk.table for fk in schema.foreign_keys} | {fk.ref_table for fk in schema.foreign_keys}
    shapes = workload.shapes if workload else {}
    for shape in shapes.values():
        raw |= shape.reads | shape.writes
    names = canonical_names(raw)
    ignored = set(ignore_tables) | set(BOOKKEEPING_TABLES)

    def keep(table: str) -> str | None:
        name = names[table]
        return None if name in ignored else name

    reads: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    writes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    creates: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    updates: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    joins: dict[tuple[str, str], int] = defaultdict(int)
    join_eps: dict[tuple[str, str], set[str]] = defaultdict(set)
    calls: dict[str, int] = defaultdict(int)
    kept = [
        obs
        for obs in (workload.observations if workload else ())
        if not any(fnmatchcase(obs.endpoint, p) for p in ignore_endpoints)
        and not any(fnmatchcase(obs.fingerprint, p) for p in ignore_statements)
    ]
    kept = _reassigned(kept, reassign_statements or {})
    heartbeats = _heartbeats(kept, shapes, keep)
    for obs in kept:
        if obs.fingerprint in heartbeats:
            continue
        shape = shapes[obs.fingerprint]
        calls[obs.endpoint] = max(calls[obs.endpoint], obs.count)
        for table in shape.reads:
            if (name := keep(table)) is not None:
                reads[obs.endpoint][name] += obs.count
        for table in shape.writes:
            if (name := keep(table)) is not None:
                writes[obs.endpoint][name] += obs.count
                if shape.kind in ("insert", "upsert"):
                    creates[obs.endpoint][name] += obs.count
                # UPDATE, MERGE, an upsert, anything mixed (not a pure append or delete)
                if shape.kind not in ("insert", "delete", "truncate"):
                    updates[obs.endpoint][name] += obs.count
        for a, b in shape.joins:
            left, right = keep(a), keep(b)
            if left and right and left != right:
                pair = (left, right) if left < right else (right, left)
                joins[pair] += obs.count
                join_eps[pair].add(obs.endpoint)
    fks = tuple(
        replace(fk, table=names[fk.table], ref_table=names[fk.ref_table])
        for fk in schema.foreign_keys
        if keep(fk.table) and keep(fk.ref_table) and names[fk.table] != names[fk.ref_table]
    )
    endpoints = sorted(set(reads) | set(writes))
    tables = sorted({names[t] for t in raw} - ignored)
    omnipresent = _omnipresent(writes, updates)
    return AccessModel(
        tables=tuple(tables),
        endpoints=tuple(endpoints),
        reads={e: dict(t) for e, t in reads.items()},
        writes={e: dict(t) for e, t in writes.items()},
        creates={e: dict(t) for e, t in creates.items()},
        updates={e: dict(t) for e, t in updates.items()},
        joins=dict(joins),
        join_endpoints={p: tuple(sorted(e)) for p, e in join_eps.items()},
        calls=dict(calls),
        foreign_keys=fks,
        schema_tables=frozenset(names[t] for t in schema.tables) - ignored,
        has_workload=bool(workload and workload.observations),
        omnipresent=frozenset(omnipresent),
        cross_read=frozenset(_cross_read(endpoints, reads, writes) - omnipresent),
        cross_cutting=tuple(heartbeats.values()),
    )


def _heartbeats(
    observations: list[Observation], shapes: dict[str, Shape], keep: Callable[[str], str | None]
) -> dict[str, CrossCutting]:
    """Write shapes issued by most endpoints: a heartbeat (`UPDATE users SET lastseen`)."""
    endpoints: dict[str, set[str]] = defaultdict(set)
    executions: dict[str, int] = defaultdict(int)
    for obs in observations:
        endpoints[obs.fingerprint].add(obs.endpoint)
        executions[obs.fingerprint] += obs.count
    everyone = {obs.endpoint for obs in observations}
    found = {}
    for fp, users in endpoints.items():
        written = sorted({n for t in shapes[fp].writes if (n := keep(t))})
        if written and len(users) >= max(CROSS_MINIMUM, HEARTBEAT_SHARE * len(everyone)):
            found[fp] = CrossCutting(fp, tuple(written), tuple(sorted(users)), executions[fp])
    return found


def _omnipresent(writes: dict[str, dict[str, int]], updates: dict[str, dict[str, int]]) -> set[str]:
    """Append-only tables written by most of the endpoints that write (and by 4+).

    Audit logs and outboxes are written by almost every command; like Bunch's omnipresent
    modules they say nothing about which other tables belong together. A table whose rows
    are changed (UPDATE) is part of some aggregate, however many commands touch it.
    """
    counts: dict[str, int] = defaultdict(int)
    for written in writes.values():
        for table in written:
            counts[table] += 1
    changed = {t for per in updates.values() for t in per}
    return {
        t
        for t, n in counts.items()
        if t not in changed and n >= 4 and n >= OMNIPRESENT_SHARE * len(writes)
    }


def _cross_read(
    endpoints: list[str], reads: dict[str, dict[str, int]], writes: dict[str, dict[str, int]]
) -> set[str]:
    """Tables most endpoints use (settings read on every request): no grouping evidence."""
    counts: dict[str, int] = defaultdict(int)
    for endpoint in endpoints:
        for table in set(reads.get(endpoint, {})) | set(writes.get(endpoint, {})):
            counts[table] += 1
    minimum = max(CROSS_MINIMUM, CROSS_READ_SHARE * len(endpoints))
    return {t for t, n in counts.items() if n >= minimum}
