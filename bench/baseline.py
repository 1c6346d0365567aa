"""The simple baselines `strangler analyze` is measured against (bench/analyze_accuracy.py).

With a workload: Louvain communities on an endpoint co-access graph. Every endpoint adds,
for every pair of tables it touches, 2 when it writes both tables and 1 otherwise (write
pairs weigh above read pairs); networkx's `louvain_communities` with its default settings
(resolution 1, threshold 1e-7), seeded for repeatable runs. Tables no endpoint touches
stay on their own.

Without a workload: the connected components of the foreign-key graph.

Both read the analyzer's access model, so the statements are parsed the same way and only
the grouping differs.
"""

from __future__ import annotations

from itertools import combinations

import networkx as nx

from analysis.access import AccessModel


def louvain_baseline(model: AccessModel, seed: int = 0) -> dict[str, str]:
    """table -> community label, from endpoint co-access (write pairs weigh 2, others 1)."""
    graph = nx.Graph()
    graph.add_nodes_from(model.tables)
    for endpoint in model.endpoints:
        written = set(model.writes.get(endpoint, {}))
        for a, b in combinations(sorted(model.touched(endpoint)), 2):
            weight = 2.0 if a in written and b in written else 1.0
            previous = graph.get_edge_data(a, b, {"weight": 0.0})["weight"]
            graph.add_edge(a, b, weight=previous + weight)
    found = nx.community.louvain_communities(graph, weight="weight", seed=seed)
    return _labelled(found)


def components_baseline(model: AccessModel) -> dict[str, str]:
    """table -> component label, from the foreign keys alone (the schema-only baseline)."""
    graph = nx.Graph()
    graph.add_nodes_from(model.tables)
    graph.add_edges_from((fk.table, fk.ref_table) for fk in model.foreign_keys)
    return _labelled(nx.connected_components(graph))


def _labelled(groups: object) -> dict[str, str]:
    ordered = sorted((sorted(g) for g in groups), key=lambda g: g[0])  # type: ignore[attr-defined]
    return {t: f"c{i}" for i, group in enumerate(ordered) for t in group}
