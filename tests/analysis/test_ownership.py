"""The ownership pass: tables follow the endpoints that write them."""

from analysis.access import AccessModel
from analysis.model import ForeignKey
from analysis.ownership import addressed_table, settle_by_writers


def test_an_endpoint_addresses_the_table_its_last_url_segment_names():
    touched = {"products", "prices", "stock_levels"}
    assert addressed_table("PATCH /api/products/<int:product_id>", touched) == "products"
    assert addressed_table("POST /api/carts/<int:id>/items", {"carts", "cart_items"}) == (
        "cart_items"
    )
    assert addressed_table("POST /api/carts/<int:id>/checkout", {"carts", "orders"}) == ""
    assert addressed_table("order_new", {"orders"}) == ""  # a code unit, not a URL


def _model(writes, creates=None, fks=(), reads=None):
    tables = sorted({t for w in writes.values() for t in w})
    return AccessModel(
        tables=tuple(tables),
        endpoints=tuple(sorted(writes)),
        writes=writes,
        reads=reads or {},
        creates=creates or {},
        foreign_keys=fks,
        has_workload=True,
    )


def test_a_table_written_only_by_one_resource_moves_to_that_resource():
    model = _model(
        {
            "POST /api/products": {"products": 1, "prices": 1, "stock": 2},
            "PATCH /api/products/<id>": {"prices": 1, "stock": 1},
            "POST /api/stock/adjust": {"stock": 1, "moves": 1},
        },
        reads={"PATCH /api/products/<id>": {"products": 1}},  # the price form loads it
    )
    groups = [frozenset({"prices", "stock", "moves"}), frozenset({"products", "tags"})]
    settled = settle_by_writers(model, groups, set())
    assert frozenset({"products", "tags", "prices"}) in settled
    assert frozenset({"stock", "moves"}) in settled


def test_rows_only_created_with_their_parent_join_the_parent():
    fk = ForeignKey("lines", ("order_id",), "orders", ("id",))
    model = _model(
        {"checkout": {"orders": 1, "payments": 1, "lines": 3}},
        creates={"checkout": {"orders": 1, "payments": 1, "lines": 3}},
        fks=(fk,),
    )
    groups = [frozenset({"orders", "payments"}), frozenset({"lines", "products"})]
    settled = settle_by_writers(model, groups, set())
    assert frozenset({"orders", "payments", "lines"}) in settled


def test_an_updated_table_stays_where_clustering_put_it():
    model = _model({"order_new": {"orders": 1, "inventory": 1, "lineitem": 1}})
    groups = [frozenset({"orders", "lineitem"}), frozenset({"inventory", "item"})]
    assert set(settle_by_writers(model, groups, set())) == set(groups)
