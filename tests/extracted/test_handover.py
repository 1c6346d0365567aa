"""`extract handover` on SQLite with the embedded log and on PostgreSQL with Kafka:
checks, hold, drain, flip, CDC direction, release, rollback, and a run killed at each
step recovered by the next run.

The route store, the handover state, the monolith, the catalog database and the CDC
worker are the real ones (files in tmp_path); the gate's verdict is given as a value
(tests/extracted/test_handover_router.py asks a running router for it).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from cdc.pipeline import wait_for
from handover.cdc_control import (
    _pump,
    applied_through,
    run_directed,
    source_position,
)
from handover.cdc_pg import drop_slots, is_pg
from handover.errors import HandoverError
from handover.plan import CONTEXTS, HANDOVER, REVERSE, ROLLBACK, STEPS
from handover.run import STOP_AT_ENV, Settings, perform
from handover.state import HandoverState
from router import ops
from router.store import RouteStore
from router.table import RouteTable

from .conftest import synced_service
from .handover_stack import own_flows

STACKS = [  # SQLite with the embedded log; PostgreSQL with Kafka
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres-kafka", marks=[pytest.mark.postgres, pytest.mark.kafka]),
]
pytestmark = [pytest.mark.parametrize("backend", STACKS, indirect=True), pytest.mark.slow]

CATALOG = CONTEXTS["catalog"]
REPORT = {
    "POST /api/products": {"context": "catalog", "writes": ["products", "prices"]},
    "PATCH /api/products/<int:product_id>": {"writes": ["products", "prices", "stock_levels"]},
    "POST /api/carts/<int:cart_id>/checkout": {"writes": ["orders", "stock_levels"]},
}
ALLOWED = {"allowed": True, "checks": []}


PATHS = {
    "catalog": ("/api/categories", "/api/products", "/api/products/{id}"),
    "reviews": ("/api/reviews", "/api/reviews/{id}"),
}


def _routes(store: RouteStore, name: str) -> RouteTable:
    table = RouteTable()
    table, _ = ops.put_upstream(table, {"name": "monolith", "urls": ["http://127.0.0.1:9"]})
    table, _ = ops.put_upstream(table, {"name": name, "urls": ["http://127.0.0.1:19"]})
    for path in PATHS[name]:
        table, _ = ops.add_route(table, {"path": path, "target": name, "mode": "canary"})
    return store.commit(table, actor="test", reason="setup", change={"op": "setup"})


class World:
    """Everything a handover of the catalog touches, in tmp_path."""

    def __init__(
        self, monolith_url: str, databases, tmp_path: Path, name: str = "catalog", kafka: str = ""
    ):
        self.name, self.context = name, CONTEXTS[name]
        # On a broker shared by the session, this world's topics, slot and group are its own.
        unique = f"{name}_{uuid.uuid4().hex[:6]}" if kafka else ""
        transport = f"kafka:{kafka}" if kafka else ""
        self.synced = synced_service(
            name, monolith_url, databases.new, tmp_path, transport=transport, prefix=unique
        )
        self.monolith_url, self.tmp = monolith_url, tmp_path
        self.store_url = f"sqlite:///{tmp_path / 'router.db'}"
        self.state_url = f"sqlite:///{tmp_path / 'handover.db'}"
        self.store, self.state = RouteStore(self.store_url), HandoverState(self.state_url)
        _routes(self.store, name)
        self.flows = own_flows(self.context, self.synced.plan, tmp_path / "handover", unique)
        self.stop = threading.Event()
        self.worker = threading.Thread(
            target=run_directed, args=(self.flows, self.state, self.stop), daemon=True
        )

    def settings(self, **changes) -> Settings:
        values = dict(
            context=self.context, flows=self.flows, store=self.store, state=self.state,
            gate=lambda _route: ALLOWED, endpoints=REPORT, hold_s=5.0, settle_s=0.05,
        )  # fmt: skip
        return Settings(**{**values, **changes})

    def start_worker(self) -> None:
        self.worker.start()
        assert wait_for(lambda: self.state.direction(self.name).running is not None, 30)

    def close(self) -> None:
        self.stop.set()
        if self.worker.is_alive():
            self.worker.join(30)
        self.store.close()
        self.state.close()
        if is_pg(self.monolith_url):  # a slot pins WAL and counts against the server's limit
            drop_slots(self.flows.forward, self.flows.reverse)

    def modes(self) -> dict[str, str]:
        return {r.id: r.mode for r in self.store.current().routes}

    def holds(self) -> set[float]:
        return {r.hold for r in self.store.current().routes}


@pytest.fixture
def world(request, monolith_url, databases, tmp_path) -> Iterator[World]:
    w = make_world(request, monolith_url, databases, tmp_path)
    yield w
    w.close()


def make_world(request, monolith_url, databases, tmp_path, name: str = "catalog") -> World:
    """A world on the test's stack: PostgreSQL goes with the session's Kafka broker."""
    kafka = request.getfixturevalue("kafka").bootstrap if databases.backend == "postgres" else ""
    return World(monolith_url, databases, tmp_path, name=name, kafka=kafka)


def _rows(url: str, table: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(f'SELECT * FROM "{table}" ORDER BY 1'))]
    finally:
        engine.dispose()


def _execute(url: str, sql: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql))
    finally:
        engine.dispose()


def test_the_handover_refuses_with_every_reason(world):
    check = {"name": "mismatch", "ok": False, "message": "3 unexplained mismatches"}
    failing_gate = {"allowed": False, "checks": [check]}
    report = {**REPORT, "POST /api/admin/reprice": {"writes": ["prices"]}}
    settings = world.settings(gate=lambda _r: failing_gate, endpoints=report)
    with pytest.raises(HandoverError) as refused:
        perform(settings, HANDOVER)
    reasons = "\n".join(refused.value.reasons)
    assert "gate refuses route 'api-products-id': 3 unexplained mismatches" in reasons
    assert "endpoint 'POST /api/admin/reprice' stays in the monolith and writes prices" in reasons
    assert "no catalog sync worker runs forward CDC" in reasons
    assert world.modes() == dict.fromkeys(world.modes(), "canary")


def test_a_writer_switched_to_the_service_api_is_no_reason_to_refuse(world):
    world.start_worker()
    report = {**REPORT, "POST /api/admin/reprice": {"writes": ["prices"]}}
    settings = world.settings(endpoints=report, through_service=("POST /api/admin/reprice",))
    perform(settings, HANDOVER)
    assert set(world.modes().values()) == {"service"}


NEW_BY_SERVICE = "('Made by the service', 'made-by-the-service')"
NEW_BY_MONOLITH = "('Made by the monolith', 'made-by-the-monolith')"


def test_handover_flips_in_one_version_switches_cdc_and_rollback_undoes_it(world):
    world.start_worker()
    before = world.store.latest_version()
    _execute(world.monolith_url, "UPDATE products SET name = 'before handover' WHERE id = 3")
    outcome = perform(world.settings(reason="catalog owns its data"), HANDOVER)

    history = world.store.history(limit=3)
    assert [v.version for v in history] == [before + 3, before + 2, before + 1]
    flip = history[1]
    assert flip.reason == "catalog owns its data" and flip.change["op"] == "handover"
    assert flip.change["gate"] == "passed at the handover's check"
    assert {r.mode for r in flip.table.routes} == {"service"}
    assert set(world.modes().values()) == {"service"} and world.holds() == {0.0}
    assert outcome.direction == REVERSE
    assert world.state.direction("catalog").running == REVERSE
    # the write made just before the hold reached the service before the flip
    assert any(r[0] == 3 and "before handover" in r for r in _rows(world.synced.url, "products"))

    # the service owns the tables: its writes reach the monolith (reverse sync)
    _execute(world.synced.url, "UPDATE products SET name = 'owned by the service' WHERE id = 4")
    # a new row takes an id past those CDC brought (PostgreSQL: the sequence was moved)
    _execute(world.synced.url, f"INSERT INTO categories (name, slug) VALUES {NEW_BY_SERVICE}")
    assert wait_for(
        lambda: (
            _rows(world.monolith_url, "prices")
            and any(
                r[0] == 4 and "owned by the service" in r
                for r in _rows(world.monolith_url, "products")
            )
            and any("made-by-the-service" in r for r in _rows(world.monolith_url, "categories"))
        ),
        30,
    )

    perform(world.settings(), ROLLBACK)
    assert set(world.modes().values()) == {"shadow"} and world.holds() == {0.0}
    assert world.state.direction("catalog").running == "forward"
    _execute(world.monolith_url, "UPDATE products SET name = 'monolith again' WHERE id = 5")
    _execute(world.monolith_url, f"INSERT INTO categories (name, slug) VALUES {NEW_BY_MONOLITH}")
    assert wait_for(
        lambda: (
            any(r[0] == 5 and "monolith again" in r for r in _rows(world.synced.url, "products"))
            and any("made-by-the-monolith" in r for r in _rows(world.synced.url, "categories"))
        ),
        30,
    )
    assert _rows(world.monolith_url, "prices") == _rows(world.synced.url, "product_prices")
    assert _rows(world.monolith_url, "categories") == _rows(world.synced.url, "categories")


def test_a_worker_that_does_not_switch_cdc_gets_everything_put_back(world):
    # a worker that runs forward CDC (so the drain passes) but stops heartbeating
    forward = threading.Thread(target=_pump, args=(world.flows.forward, CATALOG.owned, world.stop))
    forward.start()
    position = source_position(world.monolith_url)
    assert wait_for(lambda: applied_through(world.flows.forward, CATALOG.owned, position), 60)
    world.state.heartbeat("catalog", "forward")
    try:
        with pytest.raises(HandoverError) as undone:
            perform(world.settings(hold_s=1.0), HANDOVER)
    finally:
        world.stop.set()
        forward.join(30)
    assert undone.value.reasons == ("the catalog sync worker did not switch CDC to reverse",)
    assert set(world.modes().values()) == {"canary"} and world.holds() == {0.0}
    assert world.state.direction("catalog").wanted == "forward"
    assert world.state.run("catalog") is None


def test_a_hold_timeout_puts_everything_back(world):
    # no worker: the change below is never applied, so the hold times out before the flip
    world.state.heartbeat("catalog", "forward")
    _execute(world.monolith_url, "UPDATE products SET name = 'not synced' WHERE id = 3")
    with pytest.raises(HandoverError) as undone:
        perform(world.settings(hold_s=0.3), HANDOVER)
    assert "within the hold timeout" in "\n".join(undone.value.reasons)
    assert set(world.modes().values()) == {"canary"} and world.holds() == {0.0}
    assert world.state.run("catalog") is None


def test_a_flip_that_would_come_after_the_hold_timeout_puts_everything_back(world, monkeypatch):
    """Past the hold timeout the data planes may release held writes to the old owner on
    their own: the command must not flip then (here the id catch-up is what is slow)."""
    from handover import run as handover_run

    world.start_worker()
    catch_up = handover_run.cdc.catch_up_ids

    def slow(*args, **kwargs):
        time.sleep(1.2)
        catch_up(*args, **kwargs)

    monkeypatch.setattr(handover_run.cdc, "catch_up_ids", slow)
    with pytest.raises(HandoverError) as undone:
        perform(world.settings(hold_s=1.0), HANDOVER)
    assert "took longer than the hold timeout (1.0 s)" in "\n".join(undone.value.reasons)
    assert set(world.modes().values()) == {"canary"} and world.holds() == {0.0}
    assert world.state.run("catalog") is None


def _allowed(_route: str) -> dict:
    return ALLOWED


def _perform_then_die(step: int, store_url: str, state_url: str, flows_) -> None:
    os.environ[STOP_AT_ENV] = str(step)
    settings = Settings(
        context=CATALOG, flows=flows_, store=RouteStore(store_url),
        state=HandoverState(state_url), gate=_allowed, endpoints=REPORT, hold_s=5.0,
    )  # fmt: skip
    perform(settings, HANDOVER)


def _killed_run(world: World, step: int) -> int:
    """Perform the handover in a new process that SIGKILLs itself after `step`."""
    args = (step, world.store_url, world.state_url, world.flows)
    process = multiprocessing.get_context("spawn").Process(target=_perform_then_die, args=args)
    process.start()
    process.join(120)
    if process.exitcode is None:
        process.kill()
    return int(process.exitcode or 0)


@pytest.mark.parametrize("step", range(1, len(STEPS) - 1))
def test_a_handover_killed_at_each_step_is_recovered_by_the_next_run(world, step):
    world.start_worker()
    assert _killed_run(world, step) == -signal.SIGKILL
    left = world.state.run("catalog")
    assert left is not None and left.step == STEPS[step]
    outcome = perform(world.settings(), HANDOVER)
    assert outcome.recovered == ("resume" if step >= STEPS.index("flipped") else "undo")
    assert set(world.modes().values()) == {"service"} and world.holds() == {0.0}
    assert world.state.run("catalog") is None
    assert wait_for(lambda: world.state.direction("catalog").running == REVERSE, 10)


def test_the_reviews_are_handed_over_and_back_too(request, monolith_url, databases, tmp_path):
    world = make_world(request, monolith_url, databases, tmp_path, name="reviews")
    try:
        world.start_worker()
        perform(world.settings(endpoints={}), HANDOVER)
        assert set(world.modes().values()) == {"service"}
        _execute(world.synced.url, "DELETE FROM reviews WHERE id = 2")  # the service owns it
        assert wait_for(lambda: 2 not in [r[0] for r in _rows(world.monolith_url, "reviews")], 30)
        perform(world.settings(endpoints={}), ROLLBACK)
        _execute(world.monolith_url, "DELETE FROM reviews WHERE id = 3")  # the monolith again
        assert wait_for(lambda: 3 not in [r[0] for r in _rows(world.synced.url, "reviews")], 30)
        assert _rows(world.monolith_url, "reviews") == _rows(world.synced.url, "reviews")
    finally:
        world.close()


def test_a_rollback_asked_after_a_handover_killed_past_its_flip_first_finishes_it(world):
    world.start_worker()
    assert _killed_run(world, STEPS.index("flipped")) == -signal.SIGKILL
    finished = perform(world.settings(), ROLLBACK)
    assert (finished.op, finished.recovered) == (HANDOVER, "resume")
    assert set(world.modes().values()) == {"service"}
    back = perform(world.settings(), ROLLBACK)
    assert back.op == ROLLBACK and set(world.modes().values()) == {"shadow"}
