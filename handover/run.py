"""Perform a handover (or its rollback) step by step against the real components.

The route store is written directly (one version per step, actor "handover", the
reason and the gate's verdict recorded in the change); the gate is asked through the
admin API; CDC is steered through the direction stored in the handover state, which
the context's sync worker obeys. Every step is recorded before the next begins, so a
run the command did not finish is undone (before the flip) or resumed (after it).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from cdc.config import CdcConfig
from handover import cdc_control as cdc
from handover.errors import HandoverError
from handover.plan import (
    HANDOVER,
    STEPS,
    Context,
    Run,
    direction_after,
    direction_before,
    gate_failures,
    planes_quiet,
    recovery,
    remaining_writers,
    target_modes,
)
from handover.state import HandoverState
from router.store import RouteStore
from router.table import Route, RouteTable

ACTOR = "handover"
STOP_AT_ENV = "STRANGLER_HANDOVER_KILL_AT"  # tests: SIGKILL this process after step N


@dataclass(frozen=True)
class Settings:
    """What a handover works with."""

    context: Context
    flows: cdc.Flows
    store: RouteStore
    state: HandoverState
    gate: Callable[[str], Mapping[str, Any]] | None = None  # route id -> gate verdict JSON
    # the router's /metrics text: to see the hold published and in-flight writes done;
    # without it the command waits settle_s instead
    planes: Callable[[], str] | None = None
    endpoints: Mapping[str, Mapping[str, Any]] | None = None  # the report's endpoints
    through_service: tuple[str, ...] = ()
    hold_s: float = 2.0
    settle_s: float = 0.2  # data planes see the hold; in-flight writes finish
    worker_stale_s: float = 5.0
    reason: str = ""


@dataclass(frozen=True)
class Outcome:
    context: str
    op: str
    version: int
    modes: dict[str, str]
    direction: str
    pause_s: float
    recovered: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "context": self.context, "op": self.op, "version": self.version,
            "modes": self.modes, "cdc_direction": self.direction,
            "hold_seconds": round(self.pause_s, 3), "recovered": self.recovered,
        }  # fmt: skip


def routes_of(table: RouteTable, context: Context) -> list[Route]:
    return [r for r in table.routes if r.target == context.name]


def check(s: Settings, op: str) -> list[str]:
    """Every reason the op cannot start now (empty: it can)."""
    reasons: list[str] = []
    routes = routes_of(s.store.current(), s.context)
    if not routes:
        reasons.append(f"no route targets upstream {s.context.name!r}")
    if op == HANDOVER:
        for route in routes:
            if s.gate is None:
                reasons.append("the promotion gate cannot be asked: no admin API")
                break
            try:
                reasons += gate_failures(route.id, s.gate(route.id))
            except Exception as exc:  # the admin client's one-line error
                reasons.append(f"the promotion gate cannot be asked: {exc}")
                break
        if s.endpoints is None:
            reasons.append("no analysis report: cannot tell which monolith endpoints write")
        else:
            pairs = [(r.path, r.methods) for r in routes]
            reasons += remaining_writers(s.endpoints, s.context.owned, pairs, s.through_service)
    cdc_reasons = [r for cfg in (s.flows.forward, s.flows.reverse) for r in cdc.reasons(cfg)]
    if cdc_reasons:
        return reasons + cdc_reasons
    reasons += _cdc_reasons(s, direction_before(op))
    return reasons


def _cdc_reasons(s: Settings, direction: str) -> list[str]:
    d = s.state.direction(s.context.name)
    name = s.context.name
    if d.wanted != direction:
        return [f"{name}'s CDC is set to run {d.wanted}, not {direction}"]
    fresh = d.worker_ms is not None and time.time() * 1000 - d.worker_ms < s.worker_stale_s * 1000
    if not fresh or d.running != direction:
        return [
            f"no {name} sync worker runs {direction} CDC "
            f"(start `strangler extract sync {name} --directed`)"
        ]
    return []


def perform(s: Settings, op: str) -> Outcome:
    """Run `op` (handover or rollback) to the end, or put everything back and raise."""
    recovered = None
    left = s.state.run(s.context.name)
    if left is not None:
        recovered = recovery(left, _flipped(s, left))
        if recovered == "resume":
            return _finish(s, left, time.monotonic(), recovered)
        _put_back(s, left)
    reasons = check(s, op)
    if reasons:
        raise HandoverError(f"{op} of {s.context.name} refused", tuple(reasons))
    routes = routes_of(s.store.current(), s.context)
    run = Run(s.context.name, op, "checked", {r.id: r.mode for r in routes})
    _record(s, run)
    try:
        if op == HANDOVER:
            cdc.prepare_reverse(s.flows)  # the service's writes are captured from the first
        drain = cdc.Drain(*_drained(s, op))  # opened before the hold, closed after release
    except Exception as exc:
        _put_back(s, run)
        raise HandoverError(f"{op} of {s.context.name} undone", (str(exc),)) from None
    with drain:
        started = time.monotonic()
        try:
            run, version = _hold(s, run)
            run = _drain(s, run, started, version, drain)
            run = _flip(s, run, started)
        except Exception as exc:
            _put_back(s, run)
            raise HandoverError(f"{op} of {s.context.name} undone", (str(exc),)) from None
        return _finish(s, run, started, recovered)


def _drained(s: Settings, op: str) -> tuple[CdcConfig, tuple[str, ...]]:
    """The pipeline the op drains and the tables it waits for."""
    if op == HANDOVER:
        return s.flows.forward, s.context.owned
    return s.flows.reverse, s.flows.owned_in_service


def _finish(s: Settings, run: Run, started: float, recovered: str | None) -> Outcome:
    try:
        run = _switch(s, run, started)
    except Exception as exc:
        _put_back(s, run)
        raise HandoverError(f"{run.op} of {s.context.name} undone", (str(exc),)) from None
    table = _commit(s, run, lambda r: replace(r, hold=0.0), "release the held writes")
    pause = time.monotonic() - started
    _record(s, replace(run, step="released"))
    s.state.finish(s.context.name)
    modes = {r.id: r.mode for r in routes_of(table, s.context)}
    return Outcome(s.context.name, run.op, table.version, modes, direction_after(run.op),
                   pause, recovered)  # fmt: skip


def _hold(s: Settings, run: Run) -> tuple[Run, int]:
    # The data planes' own timeout is longer than ours: no write leaves the hold by
    # timeout while this command can still decide where it goes.
    data_plane_hold = s.hold_s + max(1.0, s.hold_s)
    table = _commit(s, run, lambda r: replace(r, hold=data_plane_hold), "hold the writes")
    return _record(s, replace(run, step="held", hold_started=time.time())), table.version


def _drain(s: Settings, run: Run, started: float, version: int, drain: cdc.Drain) -> Run:
    if s.planes is None:
        time.sleep(s.settle_s)
    else:
        planes = s.planes

        def quiet() -> bool:
            samples = [(m.name, m.labels, m.value) for f in
                       text_string_to_metric_families(planes()) for m in f.samples]  # fmt: skip
            return planes_quiet(samples, version, run.modes)

        if not cdc.wait_until(quiet, started + s.hold_s):
            raise HandoverError(
                "the router did not show the hold published with no write in flight "
                f"within the hold timeout ({s.hold_s} s)"
            )
    before = drain.cfg
    assert before.source
    position = cdc.source_position(before.source)
    deadline = started + s.hold_s
    if not cdc.wait_until(lambda: drain.applied_through(position), deadline):
        raise HandoverError(
            f"CDC did not apply up to position {position} within the hold timeout ({s.hold_s} s)"
        )
    # the writes about to reach the owner's side insert with ids CDC has not taken
    owners = s.flows.owned_in_service if run.op == HANDOVER else s.context.owned
    cdc.catch_up_ids(before.sink, owners)
    return _record(s, replace(run, step="drained", position=position))


def _flip(s: Settings, run: Run, started: float) -> Run:
    # Past the hold timeout the data planes' own (longer) timeout comes near: a write it
    # released would reach the old owner after the drained position. Flip in time or not.
    if time.monotonic() > started + s.hold_s:
        raise HandoverError(
            f"the hold, drain and id catch-up took longer than the hold timeout ({s.hold_s} s)"
        )
    modes = target_modes(run.op, run.modes, run.modes)
    _commit(s, run, lambda r: replace(r, mode=modes.get(r.id, r.mode)), s.reason or run.op,
            flip=modes)  # fmt: skip
    return _record(s, replace(run, step="flipped"))


def _switch(s: Settings, run: Run, started: float) -> Run:
    wanted = direction_after(run.op)
    s.state.want(s.context.name, wanted)
    deadline = max(started + s.hold_s, time.monotonic() + 0.5)
    if not cdc.wait_until(lambda: s.state.direction(s.context.name).running == wanted, deadline):
        raise HandoverError(f"the {s.context.name} sync worker did not switch CDC to {wanted}")
    return _record(s, replace(run, step="switched"))


def _put_back(s: Settings, run: Run) -> None:
    """Undo: the routes as they were, no hold, CDC in its old direction; forget the run."""
    before = run.modes
    _commit(s, run, lambda r: replace(r, mode=before.get(r.id, r.mode), hold=0.0),
            "put back: the handover did not complete")  # fmt: skip
    s.state.want(s.context.name, direction_before(run.op))
    s.state.finish(s.context.name)


def _flipped(s: Settings, run: Run) -> bool:
    modes = target_modes(run.op, run.modes, run.modes)
    routes = routes_of(s.store.current(), s.context)
    return (
        bool(routes)
        and all(r.mode == modes.get(r.id, r.mode) for r in routes)
        and any(modes.get(r.id) != run.modes.get(r.id) for r in routes)
    )


def _commit(
    s: Settings, run: Run, edit: Callable[[Route], Route], what: str, flip: Any = None
) -> RouteTable:
    ids = set(run.modes)

    def apply(table: RouteTable) -> RouteTable:
        return table.replace(routes=tuple(edit(r) if r.id in ids else r for r in table.routes))

    change: dict[str, Any] = {"op": f"{run.op}-{run.step}", "context": run.context}
    if flip is not None:
        change = {"op": run.op, "context": run.context, "modes": flip,
                  "gate": "passed at the handover's check" if run.op == HANDOVER else None,
                  "position": run.position}  # fmt: skip
    return s.store.update(apply, actor=ACTOR, reason=what, change=change)


def _record(s: Settings, run: Run) -> Run:
    s.state.save(run)
    _maybe_die(run.step)
    return run


def _maybe_die(step: str) -> None:
    wanted = os.environ.get(STOP_AT_ENV, "")
    if wanted and wanted.isdigit() and STEPS.index(step) == int(wanted):
        os.kill(os.getpid(), signal.SIGKILL)
