"""Dependencies between contexts: what crosses each boundary, and in which direction. Pure."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from analysis.access import AccessModel
from analysis.contexts import Assignment


@dataclass(frozen=True)
class Dependency:
    """`source` depends on `target`: its endpoints touch target's tables, or its tables
    join or reference them."""

    source: str
    target: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    joins: tuple[tuple[str, str], ...]
    foreign_keys: tuple[tuple[str, str], ...]

    @property
    def strength(self) -> int:
        return len(self.reads) + 2 * len(self.writes) + len(self.joins) + len(self.foreign_keys)


def dependencies(model: AccessModel, split: Assignment) -> list[Dependency]:
    """Every context-to-context dependency, strongest first."""
    reads: dict[tuple[str, str], set[str]] = defaultdict(set)
    writes: dict[tuple[str, str], set[str]] = defaultdict(set)
    joins: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    fks: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    tc = split.table_context
    for endpoint, home in split.endpoint_context.items():
        for table in model.reads.get(endpoint, {}):
            if tc.get(table, home) != home:
                reads[home, tc[table]].add(table)
        for table in model.writes.get(endpoint, {}):
            if tc.get(table, home) != home:
                writes[home, tc[table]].add(table)
    for (a, b), endpoints in model.join_endpoints.items():
        for endpoint in endpoints:
            home = split.endpoint_context.get(endpoint, "")
            for table, other in ((a, b), (b, a)):
                if home and tc.get(table) == home and tc.get(other) not in (home, None):
                    joins[home, tc[other]].add((a, b))
    for fk in model.foreign_keys:
        source, target = tc.get(fk.table), tc.get(fk.ref_table)
        if source and target and source != target:
            fks[source, target].add((fk.table, fk.ref_table))
    keys = set(reads) | set(writes) | set(joins) | set(fks)
    found = [
        Dependency(
            s,
            t,
            tuple(sorted(reads[s, t])),
            tuple(sorted(writes[s, t])),
            tuple(sorted(joins[s, t])),
            tuple(sorted(fks[s, t])),
        )
        for s, t in keys
    ]
    return sorted(found, key=lambda d: (-d.strength, d.source, d.target))
