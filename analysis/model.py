"""Values that cross module boundaries in the analyzer: all frozen, all plain."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ForeignKey:
    """A reference from `table(columns)` to `ref_table(ref_columns)`."""

    table: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unparsed:
    """A statement the parser could not understand, with where it came from and why."""

    source: str
    sql: str
    reason: str


@dataclass(frozen=True)
class Schema:
    """Tables (lower-case, schema-qualified only when given) with columns, keys and FKs."""

    tables: tuple[str, ...] = ()
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    primary_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    foreign_keys: tuple[ForeignKey, ...] = ()
    statements: int = 0
    unparsed: tuple[Unparsed, ...] = ()


@dataclass(frozen=True)
class Shape:
    """What one statement shape does: its kind, the tables it reads and writes, its joins."""

    fingerprint: str
    kind: str
    reads: frozenset[str] = frozenset()
    writes: frozenset[str] = frozenset()
    joins: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class Observation:
    """`count` executions of the statement shape `fingerprint` by the code unit `endpoint`."""

    endpoint: str
    fingerprint: str
    count: int


@dataclass(frozen=True)
class Workload:
    """Every statement seen, grouped by endpoint and shape, plus what could not be read."""

    observations: tuple[Observation, ...] = ()
    shapes: dict[str, Shape] = field(default_factory=dict)
    total: int = 0
    lines_malformed: int = 0
    malformed_examples: tuple[str, ...] = ()
    unparsed: tuple[Unparsed, ...] = ()
    unparsed_count: int = 0
    unparsed_shapes: int = 0
    samples: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    """A suggested bounded context: its tables and the endpoints routed to it."""

    name: str
    tables: tuple[str, ...]
    endpoints: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableInfo:
    """Ownership facts for one table."""

    name: str
    context: str
    owner: str
    owner_confidence: float
    owner_basis: str
    readers: tuple[str, ...]
    writers: tuple[str, ...]
    shared: bool


@dataclass(frozen=True)
class Finding:
    """A coupling problem to solve before or during extraction, with a suggested remedy."""

    kind: str
    severity: str
    message: str
    tables: tuple[str, ...]
    endpoints: tuple[str, ...]
    remedy: str


@dataclass(frozen=True)
class ExtractionStep:
    """One context's extraction: what moves, what to route, what to cut and stream."""

    context: str
    coupling: float
    tables: tuple[str, ...]
    endpoints: tuple[str, ...]
    foreign_keys_to_cut: tuple[ForeignKey, ...]
    joins_to_replace: tuple[tuple[str, str], ...]
    cdc_streams: tuple[str, ...]
    note: str = ""
