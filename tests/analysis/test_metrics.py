import math

import networkx as nx
import pytest

from analysis.access import AccessModel
from analysis.metrics import (
    bcp,
    compute,
    cross_context_write_pct,
    icp,
    ifn,
    modularity,
    ned,
    structural_modularity,
)

# Two contexts: {a, b} used by e1 and e2, {c, d} used by e3; e2 also reads c.
MODEL = AccessModel(
    tables=("a", "b", "c", "d"),
    endpoints=("e1", "e2", "e3"),
    reads={"e1": {"a": 1, "b": 1}, "e2": {"c": 1}, "e3": {"c": 2}},
    writes={"e2": {"a": 3, "b": 1}, "e3": {"d": 2, "a": 1}},
    has_workload=True,
)
TC = {"a": "x", "b": "x", "c": "y", "d": "y"}
EC = {"e1": "x", "e2": "x", "e3": "y"}


def _graph(*edges):
    graph = nx.Graph()
    graph.add_nodes_from("abcd")
    graph.add_weighted_edges_from(edges)
    return graph


def test_structural_modularity_is_cohesion_minus_coupling():
    graph = _graph(("a", "b", 1), ("c", "d", 1), ("b", "c", 1))
    # scoh = 1/4 each; scop_xy = 1 / (2*2*2) = 1/8; SM = 1/4 - 2/(2*1) * 1/8
    assert structural_modularity(graph, TC) == pytest.approx(0.25 - 0.125)


def test_icp_weighs_cross_context_co_access_with_log_counts():
    # pairs: (a,b) by e1, e2; (a,c),(b,c) by e2; (a,c),(a,d),(c,d) by e3
    cross = (math.log(2) + 1) + 1 + 1  # (a,c) twice, (b,c) once, (a,d) once
    total = cross + (math.log(2) + 1) + 1  # + (a,b) twice + (c,d) once
    assert icp(MODEL, _graph(), TC) == pytest.approx(cross / total)


def test_ifn_counts_tables_used_from_outside_per_context():
    # x's a is written by e3 (y); y's c is read by e2 (x): 2 interface tables / 2 contexts
    assert ifn(MODEL, TC, EC) == 1.0


def test_ned_rescales_bounds_to_tables():
    assert ned([{"a", "b"}, {"c", "d"}]) == 0.0  # 2 <= size <= ceil(4/3)=2
    assert ned([{"a"}, {"b", "c", "d"}]) == 1.0
    assert ned([{"a", "b", "c"}, {"d", "e", "f"}, {"g"}]) == pytest.approx(1 / 7)


def test_bcp_is_mean_log_of_endpoints_touching_each_context():
    # x touched by e1, e2, e3 (e3 writes a); y touched by e2, e3
    assert bcp(MODEL, [{"a", "b"}, {"c", "d"}]) == pytest.approx((math.log(3) + math.log(2)) / 2)


def test_cross_context_write_pct_counts_write_volume_outside_home():
    # writes: e2 a3 b1 (home x: fine); e3 d2 (fine) a1 (cross) -> 1 / 7
    assert cross_context_write_pct(MODEL, TC, EC) == pytest.approx(100 / 7)


def test_modularity_of_the_obvious_split_is_positive_and_compute_adds_mojofm():
    graph = _graph(("a", "b", 3), ("c", "d", 3), ("b", "c", 0.5))
    assert modularity(graph, [{"a", "b"}, {"c", "d"}]) > 0.3
    metrics = compute(MODEL, graph, TC, EC, reference={"a": "p", "b": "p", "c": "q", "z": "q"})
    assert metrics["mojofm"] == 100.0
    assert metrics["reference_tables_missing"] == 1
    assert metrics["c2c_coverage_50"] == 100.0
