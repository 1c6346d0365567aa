from analysis.mojo import c2c_coverage, max_mno, mno, mojofm


def _split(**clusters):
    return {table: name for name, tables in clusters.items() for table in tables.split()}


def test_identical_splits_score_100_whatever_the_names():
    ref = _split(a="t1 t2 t3", b="t4 t5")
    ours = _split(x="t1 t2 t3", y="t4 t5")
    assert mno(ours, ref) == 0
    assert mojofm(ours, ref) == 100.0


def test_one_misplaced_table_is_one_move():
    ref = _split(a="t1 t2 t3", b="t4 t5 t6")
    ours = _split(x="t1 t2", y="t3 t4 t5 t6")
    assert mno(ours, ref) == 1
    assert max_mno(ref) == 6 - 2
    assert mojofm(ours, ref) == 75.0


def test_a_split_cluster_costs_one_join():
    ref = _split(a="t1 t2 t3 t4", b="t5 t6")
    ours = _split(x="t1 t2", y="t3 t4", z="t5 t6")
    assert mno(ours, ref) == 1


def test_ties_are_settled_by_matching_to_minimise_joins():
    # x overlaps a and b equally; greedy tagging x->a would force y->a too (2 ops);
    # matching tags x->b and y->a: 1 move + 0 joins.
    ref = _split(a="t1 t3 t4", b="t2")
    ours = _split(x="t1 t2", y="t3 t4")
    assert mno(ours, ref) == 1


def test_max_mno_follows_the_reference_group_sizes():
    assert max_mno(_split(a="1 2 3", b="4 5", c="6")) == 6 - 3
    assert max_mno(_split(a="1", b="2", c="3")) == 3 - 1


def test_c2c_coverage_counts_reference_clusters_matched_at_half():
    ref = _split(a="t1 t2 t3 t4", b="t5 t6", c="t7")
    ours = _split(x="t1 t2 t3", y="t4 t5 t6 t7")
    # a: 3/4 with x; b: 2/4 with y; c: 1/4 with y
    assert c2c_coverage(ours, ref) == round(100 * 2 / 3, 2)
