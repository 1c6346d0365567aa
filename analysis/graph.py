"""The weighted table graph: co-access by endpoint, co-write, joins, foreign keys (and, with
no workload, name affinity). Pure: never imports graphviz."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import networkx as nx

from analysis.access import AccessModel

_GENERIC_TOKENS = {"id", "ids", "data", "info", "tbl", "table", "log", "map", "x", "ref", "type"}


@dataclass(frozen=True)
class GraphWeights:
    """How much each kind of evidence binds two tables together."""

    coaccess: float = 1.0
    cowrite: float = 1.0
    join: float = 1.0
    fk: float = 0.5
    name: float = 0.5
    read_read: float = 0.5  # factor for two tables an endpoint only reads
    omnipresent: float = 0.5  # share of writing endpoints above which a table is omnipresent


def table_graph(model: AccessModel, weights: GraphWeights | None = None) -> nx.Graph:
    """Build the undirected weighted graph the clustering runs on."""
    w = weights or GraphWeights()
    edges: dict[tuple[str, str], dict[str, float]] = {}

    def add(a: str, b: str, kind: str, amount: float) -> None:
        if a == b or amount <= 0:
            return
        key = (a, b) if a < b else (b, a)
        entry = edges.setdefault(key, {})
        entry[kind] = entry.get(kind, 0.0) + amount

    omnipresent = omnipresent_tables(model, w.omnipresent)
    for endpoint in model.endpoints:
        written = set(model.writes.get(endpoint, {})) - omnipresent
        read = set(model.reads.get(endpoint, {})) - written - omnipresent
        touched = sorted(written | read)
        # An endpoint spreads one unit of affinity over its tables, so a checkout that
        # touches ten tables binds each pair less than a page that touches two. Tables
        # only read together bind less: a query composes views across contexts.
        for a, b in combinations(touched, 2):
            factor = w.read_read if a in read and b in read else 1.0
            add(a, b, "coaccess", w.coaccess * factor / (len(touched) - 1))
        ordered = sorted(written)
        for a, b in combinations(ordered, 2):
            add(a, b, "cowrite", w.cowrite / (len(ordered) - 1))
    for (a, b), endpoints in model.join_endpoints.items():
        add(a, b, "join", w.join * len(endpoints))
    # With a workload, usage is the evidence: a foreign key is only a reference to another
    # aggregate. Keys then only place tables the workload never touched.
    accessed = model.accessed() if model.has_workload else set()
    for fk in model.foreign_keys:
        if not accessed or fk.table not in accessed or fk.ref_table not in accessed:
            add(fk.table, fk.ref_table, "fk", w.fk)
    if not model.has_workload:
        for a, b, score in _name_affinity(model.tables):
            add(a, b, "name", w.name * score)
    graph = nx.Graph()
    graph.add_nodes_from(model.tables)
    for (a, b), parts in sorted(edges.items()):
        graph.add_edge(a, b, weight=sum(parts.values()), **parts)
    return graph


def omnipresent_tables(model: AccessModel, share: float) -> set[str]:
    """Tables written by at least `share` of the endpoints that write anything (and by 4+).

    Audit logs and outboxes are written by almost every command; like Bunch's omnipresent
    modules they say nothing about which other tables belong together, so they are kept
    out of the affinity and end up as contexts of their own (generic subdomains).
    """
    writers = [e for e in model.endpoints if model.writes.get(e)]
    if not writers:
        return set()
    counts: dict[str, int] = {}
    for endpoint in writers:
        for table in model.writes[endpoint]:
            counts[table] = counts.get(table, 0) + 1
    return {t for t, n in counts.items() if n >= 4 and n >= share * len(writers)}


def name_tokens(table: str) -> set[str]:
    """Singular word stems of a table name: `order_lines` -> {order, line}."""
    base = table.rpartition(".")[2].lower()
    tokens = set()
    for token in base.replace("-", "_").split("_"):
        if token.endswith("ies") and len(token) > 4:
            token = token[:-3] + "y"
        elif token.endswith("s") and not token.endswith("ss") and len(token) > 3:
            token = token[:-1]
        if token and token not in _GENERIC_TOKENS:
            tokens.add(token)
    return tokens


def _name_affinity(tables: tuple[str, ...]) -> list[tuple[str, str, float]]:
    tokens = {t: name_tokens(t) for t in tables}
    found = []
    for a, b in combinations(tables, 2):
        shared = tokens[a] & tokens[b]
        if shared:
            found.append((a, b, len(shared) / len(tokens[a] | tokens[b])))
    return found
