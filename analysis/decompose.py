"""From the access model to the suggested split: graph, clustering, ownership passes,
names and the split / one-context verdict. Pure."""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from analysis.access import AccessModel
from analysis.cluster import DEFAULT_RESOLUTION, SCHEMA_RESOLUTION, communities
from analysis.contexts import Assignment, assign
from analysis.event_logs import join_log_owners
from analysis.graph import GraphWeights, table_graph
from analysis.overrides import Overrides
from analysis.ownership import (
    detach_independent,
    merge_idle,
    place_reference_data,
    settle_by_writers,
)
from analysis.verdict import ONE_CONTEXT_COVERAGE, Verdict, judge


@dataclass(frozen=True)
class Decomposition:
    """The table graph, the split and the verdict on it."""

    graph: nx.Graph
    split: Assignment
    verdict: Verdict


def decompose(
    model: AccessModel,
    overrides: Overrides,
    resolution: float | None,
    seed: int,
    one_context_share: float,
    weights: GraphWeights | None = None,
    one_context_coverage: float = ONE_CONTEXT_COVERAGE,
) -> Decomposition:
    """Cluster the tables, settle ownership, name the contexts and judge the split.

    The overrides file's resolution, seed and context count win over the arguments. When
    the verdict is "one context" (and no context count was asked for), the split becomes
    one context; the verdict keeps the evidence from the best split found.
    """
    graph = table_graph(model, weights)
    mode_default = DEFAULT_RESOLUTION if model.has_workload else SCHEMA_RESOLUTION
    groups = communities(
        graph,
        resolution=overrides.resolution or resolution or mode_default,
        seed=seed if overrides.seed is None else overrides.seed,
        target=overrides.contexts,
    )
    groups = place_reference_data(model, settle_by_writers(model, groups))
    if overrides.contexts is None:  # a context count asked for is kept
        groups = merge_idle(model, graph, detach_independent(model, groups))
        groups = join_log_owners(model, groups)
    split = assign(model, graph, groups, overrides)
    verdict = judge(model, split.table_context, one_context_share, one_context_coverage)
    if verdict.kind == "one-context" and overrides.contexts is None and len(groups) > 1:
        split = assign(model, graph, [frozenset(model.tables)], overrides)
    return Decomposition(graph, split, verdict)
