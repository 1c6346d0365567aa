"""Deterministic community detection on the table graph (seeded Louvain)."""

from __future__ import annotations

import networkx as nx

# Chosen on the corpus (tests/analysis/corpus, bench/analyze_accuracy.py, leave-one-out):
# slightly above the textbook 1.0, as table graphs are small and dense.
DEFAULT_RESOLUTION = 1.5
# Foreign keys and names alone are weak evidence: split only where the key graph is loose
# (on the corpus, higher resolutions split negative controls and score below the
# foreign-key components baseline).
SCHEMA_RESOLUTION = 0.25
_RESOLUTIONS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.4, 1.7, 2.0,
                2.5, 3.0, 4.0, 5.0, 7.0, 10.0)  # fmt: skip


def communities(
    graph: nx.Graph,
    resolution: float = DEFAULT_RESOLUTION,
    seed: int = 42,
    target: int | None = None,
) -> list[frozenset[str]]:
    """Split the tables into communities; with `target`, into exactly that many if possible."""
    if graph.number_of_nodes() == 0:
        return []
    graph = _with_own_use(graph)
    if target is None:
        return _louvain(graph, resolution, seed)
    target = min(target, graph.number_of_nodes())
    candidates = [_louvain(graph, r, seed) for r in _RESOLUTIONS]
    exact = [c for c in candidates if len(c) == target]
    if exact:
        return exact[0]
    above = [c for c in candidates if len(c) > target]
    if above:
        return _merge_down(graph, min(above, key=len), target)
    return max(candidates, key=len)


def _with_own_use(graph: nx.Graph) -> nx.Graph:
    """A copy with each table's own use (endpoints using it alone) as a self-loop: it adds
    to the table's degree but to no pair, so a table used on its own resists merging."""
    own = nx.get_node_attributes(graph, "own")
    if not own:
        return graph
    loaded = graph.copy()
    for table, weight in own.items():
        loaded.add_edge(table, table, weight=weight)
    return loaded


def _louvain(graph: nx.Graph, resolution: float, seed: int) -> list[frozenset[str]]:
    if graph.number_of_edges() == 0:
        return _ordered([frozenset([n]) for n in graph.nodes])
    found = nx.community.louvain_communities(
        graph, weight="weight", resolution=resolution, seed=seed
    )
    return _ordered([frozenset(c) for c in found])


def _merge_down(graph: nx.Graph, parts: list[frozenset[str]], target: int) -> list[frozenset[str]]:
    """Merge the most strongly connected pair of communities until `target` remain."""
    parts = list(parts)
    while len(parts) > target:
        best: tuple[float, int, int] | None = None
        for i in range(len(parts)):
            for j in range(i + 1, len(parts)):
                weight = nx.cut_size(graph, parts[i], parts[j], weight="weight")
                score = weight / (len(parts[i]) * len(parts[j]))
                if best is None or score > best[0]:
                    best = (score, i, j)
        assert best is not None
        _, i, j = best
        if best[0] == 0:  # nothing connects them: fold the two smallest together
            order = sorted(range(len(parts)), key=lambda k: (len(parts[k]), min(parts[k])))
            i, j = sorted(order[:2])
        parts[i] = parts[i] | parts[j]
        del parts[j]
    return _ordered(parts)


def _ordered(parts: list[frozenset[str]]) -> list[frozenset[str]]:
    return sorted(parts, key=lambda c: (-len(c), min(c)))
