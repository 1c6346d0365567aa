"""Under a mixed read/write load through the router, the catalog is handed over to its
service and back, on SQLite with the embedded log and on PostgreSQL with Kafka: no client
request fails, no acknowledged write is lost or duplicated, the moved tables end equal row
for row, reads are never held.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest

from handover.plan import HANDOVER, ROLLBACK
from handover.run import perform

from .handover_stack import Stack
from .test_handover import STACKS

pytestmark = pytest.mark.slow

CATEGORIES = "SELECT id, name, slug FROM categories ORDER BY id"
PRODUCTS_MONOLITH = "SELECT id, sku, name, active, category_id FROM products ORDER BY id"
PRODUCTS_SERVICE = "SELECT id, sku, name, is_active, category_id FROM products ORDER BY id"
PRICES = "SELECT id, product_id, amount_cents, currency FROM {} ORDER BY id"


@pytest.fixture(params=STACKS)
def stack(request, tmp_path) -> Iterator[Stack]:
    if request.param == "postgres":
        postgres, kafka = request.getfixturevalue("postgres"), request.getfixturevalue("kafka")
        s = Stack(tmp_path, postgres, kafka.bootstrap)
    else:
        s = Stack(tmp_path)
    yield s
    s.close()


def test_a_handover_and_rollback_under_traffic_lose_nothing_and_fail_nothing(stack):
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
    assert served["catalog"] > 10 and served["monolith"] > 10

    # every acknowledged write is in the owner (the monolith again), exactly once
    mono, svc = stack.monolith_url, stack.synced.url
    categories = stack.rows(mono, CATEGORIES)
    names = Counter(name for _, name, _ in categories)
    for answer in stack.writes.answers:
        if answer.kind == "POST category":
            assert answer.detail in {(i, n) for i, n, _ in categories}
            assert names[answer.detail[1]] == 1
    # the last rename of each product is the one both databases hold
    last = dict(a.detail for a in stack.writes.answers if a.kind == "PATCH product")
    products = {r[0]: r[2] for r in stack.rows(mono, PRODUCTS_MONOLITH)}
    assert all(products[p] == name for p, name in last.items())

    # after convergence the moved tables are equal row for row
    assert categories == stack.rows(svc, CATEGORIES)
    assert stack.rows(mono, PRODUCTS_MONOLITH) == stack.rows(svc, PRODUCTS_SERVICE)
    assert stack.rows(mono, PRICES.format("prices")) == stack.rows(
        svc, PRICES.format("product_prices")
    )
    assert (handed.direction, back.direction) == ("reverse", "forward")
