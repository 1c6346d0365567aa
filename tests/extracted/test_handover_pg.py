"""`extract handover` refusals that only PostgreSQL has: the reverse slot's name held by
another database, a source that cannot be reached (the rest of the handover's tests run
on both stacks in test_handover.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from handover.cdc_control import Flows
from handover.errors import HandoverError
from handover.plan import HANDOVER
from handover.run import perform

from .test_handover import STACKS, World, make_world

pytestmark = [pytest.mark.parametrize("backend", STACKS[1:], indirect=True), pytest.mark.slow]


@pytest.fixture
def world(request, monolith_url, databases, tmp_path) -> Iterator[World]:
    w = make_world(request, monolith_url, databases, tmp_path)
    yield w
    w.close()


def test_on_postgres_a_reverse_slot_held_by_another_database_is_a_reason(world, postgres):
    world.start_worker()
    other = postgres.create_database().rsplit("/", 1)[1]
    conn = postgres.connect(other)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')",
                        (world.flows.reverse.slot,))  # fmt: skip
        with pytest.raises(HandoverError) as refused:
            perform(world.settings(), HANDOVER)
        assert refused.value.reasons == (
            f"catalog-back: slot {world.flows.reverse.slot!r} belongs to database {other!r}",
        )
        assert world.modes() == dict.fromkeys(world.modes(), "canary")
    finally:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_drop_replication_slot(%s)", (world.flows.reverse.slot,))
        conn.close()


def test_on_postgres_a_source_that_cannot_be_reached_is_a_reason(world):
    world.start_worker()
    away = replace(world.flows.forward, source="postgresql://nobody@127.0.0.1:9/shop")
    settings = world.settings(flows=Flows(world.context, away, world.flows.reverse))
    with pytest.raises(HandoverError) as refused:
        perform(settings, HANDOVER)
    (reason,) = refused.value.reasons
    assert reason.startswith("catalog: cannot connect to the source")
