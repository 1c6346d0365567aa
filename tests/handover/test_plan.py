"""The handover's pure core: target modes, recovery, gate reasons, remaining writers."""

from __future__ import annotations

from handover.plan import (
    HANDOVER,
    ROLLBACK,
    Run,
    covered,
    direction_after,
    gate_failures,
    planes_quiet,
    recovery,
    remaining_writers,
    target_modes,
)

ROUTES = [("/api/products", ()), ("/api/products/{id}", ("GET", "PATCH", "DELETE"))]


def test_a_handover_sends_every_route_to_the_service():
    assert target_modes(HANDOVER, {"a": "canary", "b": "shadow"}, {}) == {
        "a": "service",
        "b": "service",
    }


def test_a_rollback_restores_modes_that_send_no_write_to_the_service_else_shadow():
    before = {"a": "monolith", "b": "canary", "c": "shadow"}
    assert target_modes(ROLLBACK, dict.fromkeys(before, "service"), before) == {
        "a": "monolith",
        "b": "shadow",
        "c": "shadow",
    }


def test_the_cdc_direction_follows_the_owner():
    assert direction_after(HANDOVER) == "reverse" and direction_after(ROLLBACK) == "forward"


def test_a_run_cut_short_before_the_flip_is_undone_after_it_resumed():
    assert recovery(Run("catalog", HANDOVER, "drained"), flipped=False) == "undo"
    assert recovery(Run("catalog", HANDOVER, "drained"), flipped=True) == "resume"
    assert recovery(Run("catalog", HANDOVER, "switched"), flipped=True) == "resume"


def test_gate_failures_name_the_route_and_each_failing_check():
    verdict = {
        "allowed": False,
        "checks": [
            {"name": "volume", "ok": True, "message": "fine"},
            {"name": "mismatch", "ok": False, "message": "2 unexplained mismatches"},
            {"name": "errors", "ok": False, "message": "error rate 3 %"},
        ],
    }
    assert gate_failures("products", verdict) == [
        "gate refuses route 'products': 2 unexplained mismatches",
        "gate refuses route 'products': error rate 3 %",
    ]
    assert gate_failures("products", {"allowed": True, "checks": []}) == []


def test_an_endpoint_is_covered_by_a_route_of_its_shape_and_method():
    assert covered("POST /api/products", ROUTES)
    assert covered("PATCH /api/products/<int:product_id>", ROUTES)
    assert not covered("PUT /api/products/<int:product_id>", ROUTES)
    assert not covered("POST /api/products/<int:product_id>/stock", ROUTES)


def test_remaining_writers_are_uncovered_endpoints_writing_owned_tables_not_switched():
    endpoints = {
        "POST /api/products": {"writes": ["products", "prices"]},
        "POST /api/carts/<int:cart_id>/checkout": {"writes": ["orders", "prices"]},
        "POST /api/inventory/adjust": {"writes": ["stock_levels"]},
        "POST /api/admin/reprice": {"writes": ["prices"]},
    }
    reasons = remaining_writers(
        endpoints, ("products", "prices"), ROUTES, ["POST /api/admin/reprice"]
    )
    assert reasons == [
        "endpoint 'POST /api/carts/<int:cart_id>/checkout' stays in the monolith and writes"
        " prices (route it to the service, or switch it to the service's API)"
    ]


def test_the_data_planes_are_quiet_once_all_serve_the_hold_and_no_write_is_in_flight():
    def samples(version: float, flying: float):
        return [
            ("strangler_table_version", {"pid": "1"}, 7.0),
            ("strangler_table_version", {"pid": "2"}, version),
            ("strangler_writes_in_flight", {"route": "products", "pid": "1"}, flying),
            ("strangler_writes_in_flight", {"route": "orders", "pid": "1"}, 3.0),
        ]

    assert planes_quiet(samples(7, 0), 7, ["products"])
    assert not planes_quiet(samples(6, 0), 7, ["products"])  # a worker on the old table
    assert not planes_quiet(samples(7, 1), 7, ["products"])  # a write still forwarded
    assert not planes_quiet([], 7, ["products"])  # no data plane reported
