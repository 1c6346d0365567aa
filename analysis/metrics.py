"""Decomposition quality metrics for a table split (formulas in docs/metrics.md). Pure."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping

import networkx as nx

from analysis.access import AccessModel
from analysis.mojo import c2c_coverage, mojofm, pairwise_f1


def compute(
    model: AccessModel,
    graph: nx.Graph,
    table_context: Mapping[str, str],
    endpoint_context: Mapping[str, str],
    reference: Mapping[str, str] | None = None,
) -> dict[str, float | int | None]:
    """All metrics; MoJoFM and c2c only when a reference split is given."""
    parts = _parts(table_context)
    result: dict[str, float | int | None] = {
        "contexts": len(parts),
        "tables": len(table_context),
        "modularity": _round(modularity(graph, parts)),
        "structural_modularity": _round(structural_modularity(graph, table_context)),
        "icp": _round(icp(model, graph, table_context)),
        "ifn": _round(ifn(model, table_context, endpoint_context)),
        "ned": _round(ned(parts)),
        "bcp": _round(bcp(model, parts)),
        "cross_context_write_pct": _round(cross_context_write_pct(model, table_context,
                                                                  endpoint_context)),
    }  # fmt: skip
    if reference is not None:
        common = set(reference) & set(table_context)
        result["mojofm"] = mojofm(table_context, reference)
        result["c2c_coverage_50"] = c2c_coverage(table_context, reference, 0.5)
        result["pairwise_f1"] = pairwise_f1(table_context, reference)
        result["reference_tables_matched"] = len(common)
        result["reference_tables_missing"] = len(set(reference) - common)
    return result


def modularity(graph: nx.Graph, parts: list[set[str]]) -> float:
    """Newman's weighted modularity Q of the split on the table graph."""
    if graph.number_of_edges() == 0 or not parts:
        return 0.0
    return float(nx.community.modularity(graph, parts, weight="weight"))


def structural_modularity(graph: nx.Graph, table_context: Mapping[str, str]) -> float:
    """SM = mean(mu_k / N_k^2) - 2/(K(K-1)) * sum_{i<j} sigma_ij / (2 N_i N_j)."""
    parts = _parts(table_context)
    k = len(parts)
    if k == 0:
        return 0.0
    sizes = {table_context[next(iter(p))]: len(p) for p in parts}
    inner: dict[str, int] = defaultdict(int)
    between: dict[tuple[str, str], int] = defaultdict(int)
    for a, b in graph.edges:
        ca, cb = table_context.get(a), table_context.get(b)
        if ca is None or cb is None:
            continue
        if ca == cb:
            inner[ca] += 1
        else:
            between[(ca, cb) if ca < cb else (cb, ca)] += 1
    cohesion = sum(inner[c] / sizes[c] ** 2 for c in sizes) / k
    if k == 1:
        return cohesion
    coupling = sum(s / (2 * sizes[a] * sizes[b]) for (a, b), s in between.items())
    return cohesion - 2 * coupling / (k * (k - 1))


def icp(model: AccessModel, graph: nx.Graph, table_context: Mapping[str, str]) -> float:
    """Share of co-access weight crossing contexts, w = ln(c) + 1 per table pair."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for endpoint in model.endpoints:
        touched = sorted(model.touched(endpoint))
        for i, a in enumerate(touched):
            for b in touched[i + 1 :]:
                counts[a, b] += 1
    if not counts:  # schema only: every structural edge counts once
        counts = {(a, b) if a < b else (b, a): 1 for a, b in graph.edges}
    total = cross = 0.0
    for (a, b), c in counts.items():
        if a not in table_context or b not in table_context:
            continue
        w = math.log(c) + 1
        total += w
        if table_context[a] != table_context[b]:
            cross += w
    return cross / total if total else 0.0


def ifn(
    model: AccessModel, table_context: Mapping[str, str], endpoint_context: Mapping[str, str]
) -> float:
    """Mean number of tables per context touched by endpoints routed to other contexts."""
    interface: dict[str, set[str]] = defaultdict(set)
    for endpoint in model.endpoints:
        home = endpoint_context.get(endpoint)
        for table in model.touched(endpoint):
            context = table_context.get(table)
            if context is not None and context != home:
                interface[context].add(table)
    k = len(set(table_context.values()))
    return sum(len(t) for t in interface.values()) / k if k else 0.0


def ned(parts: list[set[str]]) -> float:
    """1 - share of tables in contexts of non-extreme size (2 .. ceil(N/3) tables)."""
    n = sum(len(p) for p in parts)
    if n == 0:
        return 0.0
    high = max(2, math.ceil(n / 3))
    return 1 - sum(len(p) for p in parts if 2 <= len(p) <= high) / n


def bcp(model: AccessModel, parts: list[set[str]]) -> float:
    """Mean over contexts of ln(number of endpoints touching it): use-case entropy."""
    if not parts:
        return 0.0
    total = 0.0
    for part in parts:
        users = sum(1 for e in model.endpoints if model.touched(e) & part)
        total += math.log(users) if users > 1 else 0.0
    return total / len(parts)


def cross_context_write_pct(
    model: AccessModel, table_context: Mapping[str, str], endpoint_context: Mapping[str, str]
) -> float:
    """Percent of write executions landing outside the writing endpoint's context."""
    total = cross = 0
    for endpoint, written in model.writes.items():
        home = endpoint_context.get(endpoint)
        for table, count in written.items():
            total += count
            if table_context.get(table) != home:
                cross += count
    return 100 * cross / total if total else 0.0


def _parts(table_context: Mapping[str, str]) -> list[set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for table, context in table_context.items():
        found[context].add(table)
    return [found[c] for c in sorted(found)]


def _round(value: float) -> float:
    return round(value, 4)
