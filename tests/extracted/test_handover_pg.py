"""What only PostgreSQL has: refusals (the reverse slot's name held by another database, a
source that cannot be reached, a reverse sink user who cannot run in replica mode) and
the reverse sink's replica mode (the rest of the handover's tests run on both stacks in
test_handover.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from handover.cdc_control import Flows
from handover.cdc_pg import replica_url
from handover.errors import HandoverError
from handover.plan import HANDOVER
from handover.run import perform

from .test_handover import STACKS, World, _execute, make_world

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


def test_reverse_sync_applies_rows_the_monoliths_foreign_keys_would_reject_out_of_order(world):
    # a transaction's rows reach the reverse sink over several topics, a price before its
    # product: its sessions run in replica mode, as PostgreSQL's own replication does
    orphan = (
        "INSERT INTO prices (id, product_id, amount_cents, currency, valid_from)"
        " VALUES (%s, 999999, 1, 'EUR', now())"
    )
    with pytest.raises(sa.exc.IntegrityError, match="foreign key"):
        _execute(world.monolith_url, orphan % 999998)
    _execute(world.flows.reverse.sink, orphan % 999999)
    _execute(world.monolith_url, "DELETE FROM prices WHERE id = 999999")


def test_on_postgres_a_reverse_sink_user_without_replica_mode_is_a_reason(world, postgres):
    world.start_worker()
    role = f"no_replica_{uuid.uuid4().hex[:6]}"
    conn = postgres.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE ROLE "{role}" LOGIN')
        reason = _refusal_with_reverse_sink_as(world, role)
        assert reason.startswith("catalog-back: its sink cannot run in replica mode")
        assert "session_replication_role" in reason
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP ROLE "{role}"')
        conn.close()


def test_a_transaction_left_open_makes_the_handover_refuse_in_time_not_hang(
    world, postgres, monkeypatch
):
    """Making the reverse slot waits for every running transaction: bounded, and named."""
    from handover import cdc_pg

    world.start_worker()
    monkeypatch.setattr(cdc_pg, "PREPARE_TIMEOUT_S", 1.0)
    idle = postgres.connect()  # a session idle in a transaction that holds an xid
    idle.autocommit = False
    try:
        with idle.cursor() as cur:
            cur.execute("SELECT txid_current()")
        with pytest.raises(HandoverError) as undone:
            perform(world.settings(), HANDOVER)
        (reason,) = undone.value.reasons
        assert "waited over 1 s for other sessions" in reason and "idle in transaction" in reason
        assert world.modes() == dict.fromkeys(world.modes(), "canary")
        assert world.state.run("catalog") is None
    finally:
        idle.rollback()
        idle.close()


def test_a_reverse_sink_that_cannot_log_in_is_named_as_such_not_as_replica_mode(world):
    world.start_worker()
    reason = _refusal_with_reverse_sink_as(world, "nobody_here")
    assert reason.startswith("catalog-back: cannot connect to its sink:"), reason
    assert "nobody_here" in reason


def _refusal_with_reverse_sink_as(world, user: str) -> str:
    """The one reason a handover is refused for when the reverse sink logs in as `user`."""
    sink = make_url(world.monolith_url).set(username=user, password=None)
    back = replace(world.flows.reverse,
                   sink=replica_url(sink.render_as_string(hide_password=False)))  # fmt: skip
    settings = world.settings(flows=Flows(world.context, world.flows.forward, back))
    with pytest.raises(HandoverError) as refused:
        perform(settings, HANDOVER)
    (reason,) = refused.value.reasons
    return reason
