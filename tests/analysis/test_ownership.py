"""The ownership pass: tables follow the endpoints that write them, or stand alone."""

from dataclasses import replace

import pytest

from analysis.access import AccessModel
from analysis.model import ForeignKey
from analysis.ownership import (
    addressed_table,
    detach_independent,
    resource_table,
    settle_by_writers,
)


def test_an_endpoint_addresses_the_table_its_last_url_segment_names():
    touched = {"products", "prices", "stock_levels"}
    assert addressed_table("PATCH /api/products/<int:product_id>", touched) == "products"
    assert addressed_table("POST /api/carts/<int:id>/items", {"carts", "cart_items"}) == (
        "cart_items"
    )
    assert addressed_table("POST /api/carts/<int:id>/checkout", {"carts", "orders"}) == ""
    assert addressed_table("order_new", {"orders"}) == ""  # a code unit, not a URL


def _model(writes, creates=None, fks=(), reads=None, updates=None):
    tables = sorted({t for w in writes.values() for t in w})
    return AccessModel(
        tables=tuple(tables),
        endpoints=tuple(sorted(writes)),
        writes=writes,
        reads=reads or {},
        creates=creates or {},
        updates=updates or {},
        foreign_keys=fks,
        has_workload=True,
    )


def _split(rows):
    """A model from (endpoint, verb, table) rows: verb is insert, update or delete."""
    writes: dict = {}
    kinds: dict = {"insert": {}, "update": {}, "delete": {}}
    for endpoint, verb, table in rows:
        writes.setdefault(endpoint, {})[table] = 1
        kinds[verb].setdefault(endpoint, {})[table] = 1
    return _model(writes, kinds["insert"], updates=kinds["update"])


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
    settled = settle_by_writers(model, groups)
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
    settled = settle_by_writers(model, groups)
    assert frozenset({"orders", "payments", "lines"}) in settled


def test_an_updated_table_stays_where_clustering_put_it():
    model = _model({"order_new": {"orders": 1, "inventory": 1, "lineitem": 1}})
    groups = [frozenset({"orders", "lineitem"}), frozenset({"inventory", "item"})]
    assert set(settle_by_writers(model, groups)) == set(groups)


def test_the_resource_of_an_action_url_is_its_nearest_table_segment():
    touched = {"orders", "payments", "notifications"}
    assert resource_table("POST /api/orders/<int:id>/cancel", touched) == "orders"
    assert resource_table("POST /api/notifications/dispatch", touched) == "notifications"
    assert resource_table("POST /api/carts/<int:id>/items", {"carts", "cart_items"}) == (
        "cart_items"
    )
    assert resource_table("order_new", {"orders"}) == ""


AUDIT = frozenset({"audit"})  # omnipresent in these models


def test_an_outbox_appended_by_several_contexts_gets_a_context_of_its_own():
    model = _split(
        [
            ("POST /api/checkout", "insert", "orders"),
            ("POST /api/checkout", "insert", "outbox"),
            ("POST /api/orders/<id>/refund", "update", "orders"),
            ("POST /api/orders/<id>/refund", "insert", "outbox"),
            ("POST /api/customers", "insert", "customers"),
            ("POST /api/customers", "insert", "outbox"),
            ("POST /api/outbox/dispatch", "update", "outbox"),  # its own command
            ("POST /api/outbox/dispatch", "insert", "audit"),
        ]
    )
    groups = [frozenset({"orders", "outbox"}), frozenset({"customers", "audit"})]
    detached = detach_independent(replace(model, omnipresent=AUDIT), groups)
    assert frozenset({"outbox"}) in detached
    assert frozenset({"orders"}) in detached


def test_a_record_its_own_endpoints_create_and_two_parents_delete_stands_alone():
    model = _split(
        [
            ("POST /api/reviews", "insert", "reviews"),
            ("DELETE /api/reviews/<id>", "delete", "reviews"),
            ("DELETE /api/customers/<id>", "delete", "customers"),
            ("DELETE /api/customers/<id>", "delete", "reviews"),
            ("DELETE /api/products/<id>", "delete", "products"),
            ("DELETE /api/products/<id>", "delete", "reviews"),
        ]
    )
    groups = [frozenset({"customers", "reviews"}), frozenset({"products", "prices"})]
    assert frozenset({"reviews"}) in detach_independent(model, groups)


STAYS = {
    # a child table only its parent's commands append to or delete from
    "child-of-one-parent": [
        ("POST /api/customers/<id>/addresses", "insert", "addresses"),
        ("PATCH /api/customers/<id>", "update", "customers"),
        ("POST /api/customers", "insert", "customers"),
        ("POST /api/customers", "insert", "addresses"),
        ("DELETE /api/customers/<id>", "delete", "customers"),
        ("DELETE /api/customers/<id>", "delete", "addresses"),
        ("POST /api/products", "insert", "products"),
    ],
    # another context's command changes existing rows: it has a claim on the table
    "updated-by-another-context": [
        ("POST /api/addresses/<id>/verify", "update", "addresses"),
        ("POST /api/customers", "insert", "customers"),
        ("POST /api/customers", "insert", "addresses"),
        ("POST /api/products/<id>/ship-from", "update", "addresses"),
        ("POST /api/products/<id>/ship-from", "update", "products"),
    ],
    # `PATCH /api/products/<id>` that only changed a price is a product command
    "another-resources-command": [
        ("PATCH /api/products/<id>", "update", "prices"),
        ("POST /api/products", "insert", "products"),
        ("POST /api/products", "insert", "prices"),
        ("DELETE /api/customers/<id>", "delete", "prices"),
        ("DELETE /api/customers/<id>", "delete", "customers"),
    ],
}


@pytest.mark.parametrize("rows", STAYS.values(), ids=STAYS.keys())
def test_a_table_with_a_better_claimant_is_not_detached(rows):
    model = _split(rows)
    model = AccessModel(
        **{**model.__dict__, "reads": {e: {"products": 1} for e in model.endpoints}}
    )
    groups = [frozenset({"customers", "addresses"}), frozenset({"products", "prices"})]
    assert set(detach_independent(model, groups)) == set(groups)
