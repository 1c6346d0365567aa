"""The weighted table graph: co-access by endpoint, own use, foreign keys (and, with no
workload, name affinity). Pure: never imports graphviz."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import networkx as nx

from analysis.access import AccessModel

_GENERIC_TOKENS = {"id", "ids", "data", "info", "tbl", "table", "log", "map", "x", "ref", "type"}


@dataclass(frozen=True)
class GraphWeights:
    """How much each kind of evidence binds two tables together."""

    coaccess: float = 1.0  # one unit per endpoint, spread over the pairs of its tables
    cowrite: float = 0.0  # one more unit over the pairs of tables an endpoint writes
    write_read: float = 0.75  # factor for a table written with a table only read
    read_read: float = 0.5  # factor for two tables an endpoint only reads
    own: float = 0.5  # an endpoint using one table alone: weight on that table itself
    own_read: float = 1.0  # factor for a page reading one table alone
    join: float = 0.25  # per endpoint issuing a join
    fk: float = 0.5
    name: float = 0.5


def table_graph(model: AccessModel, weights: GraphWeights | None = None) -> nx.Graph:
    """Build the undirected weighted graph the clustering runs on.

    Each node carries `own`: the weight of the endpoints that use that table alone (they
    are evidence that the table stands on its own; the clustering adds it as a self-loop).
    """
    w = weights or GraphWeights()
    edges: dict[tuple[str, str], dict[str, float]] = {}
    own: dict[str, float] = {}

    def add(a: str, b: str, kind: str, amount: float) -> None:
        if a == b or amount <= 0:
            return
        key = (a, b) if a < b else (b, a)
        entry = edges.setdefault(key, {})
        entry[kind] = entry.get(kind, 0.0) + amount

    for endpoint in model.endpoints:
        written = set(model.writes.get(endpoint, {})) - model.omnipresent
        # a table most endpoints read (settings) binds only the endpoints that write it
        read = set(model.reads.get(endpoint, {})) - written - model.omnipresent
        read -= model.cross_read
        touched = sorted(written | read)
        if len(touched) == 1:
            factor = 1.0 if written else w.own_read
            own[touched[0]] = own.get(touched[0], 0.0) + w.own * factor
        # An endpoint spreads one unit of affinity over its tables, so a checkout that
        # touches ten tables binds each pair less than a page that touches two. Tables
        # only read together bind less: a query composes views across contexts.
        for a, b in combinations(touched, 2):
            reads = (a in read) + (b in read)
            factor = (1.0, w.write_read, w.read_read)[reads]
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
    nx.set_node_attributes(graph, own, "own")
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
