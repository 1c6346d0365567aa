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

    for endpoint in model.endpoints:
        touched = sorted(model.touched(endpoint))
        # An endpoint spreads one unit of affinity over its tables, so a checkout that
        # touches ten tables binds each pair less than a page that touches two.
        for a, b in combinations(touched, 2):
            add(a, b, "coaccess", w.coaccess / (len(touched) - 1))
        written = sorted(model.writes.get(endpoint, {}))
        for a, b in combinations(written, 2):
            add(a, b, "cowrite", w.cowrite / (len(written) - 1))
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
