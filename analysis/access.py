"""The access model: endpoint x table reads and writes, joins and foreign keys. Pure."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase

from analysis.model import ForeignKey, Schema, Workload

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


def build_access(
    schema: Schema | None,
    workload: Workload | None,
    ignore_tables: tuple[str, ...] = (),
    ignore_endpoints: tuple[str, ...] = (),
) -> AccessModel:
    """Fold the schema and workload into one access model with canonical table names."""
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
    for obs in workload.observations if workload else ():
        if any(fnmatchcase(obs.endpoint, p) for p in ignore_endpoints):
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
    )
