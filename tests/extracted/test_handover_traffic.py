"""Under a mixed read/write load through the router, each context (the catalog, the
reviews) is handed over to its service and back, on SQLite with the embedded log and on
PostgreSQL with Kafka: no client request fails, no acknowledged write is lost or
duplicated, the moved tables end equal row for row, reads are never held, some writes are.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest

from handover.plan import HANDOVER, ROLLBACK
from handover.run import perform

from .handover_stack import CATALOG, REVIEWS, Answer, Stack
from .test_handover import STACKS

pytestmark = pytest.mark.slow


@pytest.fixture(params=STACKS)
def stack(request, tmp_path) -> Iterator[Stack]:
    work = request.getfixturevalue("workload")
    if request.param == "postgres":
        postgres, kafka = request.getfixturevalue("postgres"), request.getfixturevalue("kafka")
        s = Stack(tmp_path, postgres, kafka.bootstrap, work=work)
    else:
        s = Stack(tmp_path, work=work)
    yield s
    s.close()


def _acknowledged(stack: Stack, kind: str) -> list[Answer]:
    return [a for a in stack.writes.answers if a.kind == kind and 200 <= a.status < 300]


def _catalog_writes_are_kept(stack: Stack) -> None:
    """Every new category once in the owner; the last rename of each product is its name."""
    categories = stack.rows(stack.monolith_url, CATALOG.tables[0][0])
    present = {(i, n) for i, n, _ in categories}
    names = Counter(name for _, name, _ in categories)
    added = _acknowledged(stack, "POST category")
    assert added and all(a.detail in present and names[a.detail[1]] == 1 for a in added)
    last = dict(a.detail for a in _acknowledged(stack, "PATCH product"))
    products = {r[0]: r[2] for r in stack.rows(stack.monolith_url, CATALOG.tables[1][0])}
    assert last and all(products[p] == name for p, name in last.items())


def _reviews_writes_are_kept(stack: Stack) -> None:
    """Every new review once in the owner, unless its deletion was acknowledged: then gone."""
    reviews = stack.rows(stack.monolith_url, "SELECT id, body FROM reviews ORDER BY id")
    bodies = Counter(body for _, body in reviews)
    deleted = {a.detail for a in _acknowledged(stack, "DELETE review")}  # (id, body)
    added = {a.detail for a in _acknowledged(stack, "POST review")}
    assert added and deleted and deleted <= added
    for review in added:
        expected = 0 if review in deleted else 1
        assert bodies[review[1]] == expected and (review in reviews) == bool(expected)


KEPT = {"catalog": _catalog_writes_are_kept, "reviews": _reviews_writes_are_kept}


@pytest.mark.parametrize("workload", [CATALOG, REVIEWS], ids=lambda w: w.context)
def test_a_handover_and_rollback_under_traffic_lose_nothing_and_fail_nothing(stack, workload):
    stack.wait_worker()
    stack.start_load(seconds=9)
    time.sleep(2)
    handed = perform(stack.settings(reason="rehearsal"), HANDOVER)
    time.sleep(2.5)
    back = perform(stack.settings(), ROLLBACK)
    stack.join_load()
    stack.converge()

    assert stack.traffic is not None and stack.traffic.ok, stack.traffic.error_samples
    assert stack.writes.failures() == [] and stack.reads.failures() == []
    assert stack.reads.held_ms() == []  # reads are never held
    assert stack.writes.held_ms()  # some writes were held (bench/handover.py: how long)
    served = stack.writes.served_by()  # the writes went to the service, then back
    assert served[workload.context] > 10 and served["monolith"] > 10

    # every acknowledged write is in the owner (the monolith again), exactly once
    KEPT[workload.context](stack)
    # after convergence the moved tables are equal row for row
    for in_monolith, in_service in workload.tables:
        assert stack.rows(stack.monolith_url, in_monolith) == stack.rows(
            stack.synced.url, in_service
        )
    assert (handed.direction, back.direction) == ("reverse", "forward")
