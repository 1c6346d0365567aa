"""The handover as pure values: the context, the steps, the checks' verdicts, recovery.

No I/O here: run.py gathers the facts (route table, gate verdicts, CDC heartbeats, the
analysis report) and asks these functions what they mean.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

HANDOVER, ROLLBACK = "handover", "rollback"
FORWARD, REVERSE = "forward", "reverse"
# Steps in order; a run records the last one completed.
STEPS = ("started", "checked", "held", "drained", "flipped", "switched", "released")
FLIPPED = STEPS.index("flipped")
SAFE_AFTER_ROLLBACK = ("monolith", "shadow")  # modes that send no write to the service


@dataclass(frozen=True)
class Context:
    """A context that can be handed over: its service, the tables it owns, the renames."""

    name: str  # the service name, also its upstream's name in the route table
    owned: tuple[str, ...]  # monolith table names the service takes ownership of


# The ShopCo contexts: the tables the analysis assigns to them (docs/extract.md).
CONTEXTS: dict[str, Context] = {
    "catalog": Context("catalog", ("categories", "products", "prices")),
    "reviews": Context("reviews", ("reviews",)),
}


@dataclass(frozen=True)
class Run:
    """A handover or rollback in progress, as stored."""

    context: str
    op: str
    step: str = "started"
    modes: Mapping[str, str] = field(default_factory=dict)  # route id -> mode before the run
    position: int | None = None  # the source position taken after the hold
    hold_started: float | None = None  # wall clock (s) the hold was committed

    def done(self, step: str) -> bool:
        return STEPS.index(self.step) >= STEPS.index(step)


def direction_after(op: str) -> str:
    """The CDC direction of the owned tables once `op` is complete."""
    return REVERSE if op == HANDOVER else FORWARD


def direction_before(op: str) -> str:
    return FORWARD if op == HANDOVER else REVERSE


def target_modes(op: str, modes: Mapping[str, str], before: Mapping[str, str]) -> dict[str, str]:
    """The mode of every route once `op` is done.

    A handover sends everything to the service. A rollback restores the modes the routes
    had before the handover when those send no write to the service, else `shadow`.
    """
    if op == HANDOVER:
        return dict.fromkeys(modes, "service")
    return {
        rid: before.get(rid, "") if before.get(rid) in SAFE_AFTER_ROLLBACK else "shadow"
        for rid in modes
    }


def recovery(run: Run, flipped: bool) -> str:
    """What to do with a run a crash left behind: 'resume' after the flip, else 'undo'.

    `flipped` is what the route table says (the flip may have been committed before the
    crash could record it).
    """
    return "resume" if flipped or run.done("flipped") else "undo"


def gate_failures(route: str, verdict: Mapping[str, Any]) -> list[str]:
    """The reasons the promotion gate gives against moving `route` to service."""
    if verdict.get("allowed"):
        return []
    checks = verdict.get("checks") or []
    messages = [
        str(c.get("message", c.get("name", "")))
        for c in checks
        if isinstance(c, Mapping) and not c.get("ok")
    ]
    return [f"gate refuses route {route!r}: {m}" for m in messages or ["not allowed"]]


def planes_quiet(
    samples: Iterable[tuple[str, Mapping[str, str], float]], version: int, routes: Iterable[str]
) -> bool:
    """Tell from a router's metrics whether every data plane serves `version` or newer and
    no write on `routes` is still being forwarded (series per worker are all checked)."""
    routes, seen = set(routes), False
    for name, labels, value in samples:
        if name == "strangler_table_version":
            seen = True
            if value < version:
                return False
        elif name == "strangler_writes_in_flight" and labels.get("route") in routes and value:
            return False
    return seen


_PARAM = re.compile(r"^(<[^>]*>|\{[^}]*\})$")


def _shape(path: str) -> tuple[str, ...]:
    return tuple("*" if _PARAM.match(p) else p for p in path.strip("/").split("/") if p)


def covered(endpoint: str, routes: Iterable[tuple[str, tuple[str, ...]]]) -> bool:
    """Tell whether an analysis endpoint ("POST /api/x/<int:id>") is one of the routes.

    `routes` are (path template, methods) pairs; a route with no methods takes all.
    """
    method, _, path = endpoint.partition(" ")
    shape = _shape(path)
    return any(_shape(p) == shape and (not m or method in m) for p, m in routes)


def remaining_writers(
    endpoints: Mapping[str, Mapping[str, Any]],
    owned: Iterable[str],
    routes: Iterable[tuple[str, tuple[str, ...]]],
    through_service: Iterable[str] = (),
) -> list[str]:
    """Endpoints that stay in the monolith yet write an owned table, as reasons.

    `endpoints` is the analysis report's `endpoints` object; `through_service` names the
    endpoints whose writes of owned tables go through the service (branch by abstraction).
    """
    owned_set, routes, switched = set(owned), list(routes), set(through_service)
    reasons = []
    for name in sorted(endpoints):
        writes = sorted(owned_set & set(endpoints[name].get("writes") or []))
        if writes and not covered(name, routes) and name not in switched:
            reasons.append(
                f"endpoint {name!r} stays in the monolith and writes {', '.join(writes)}"
                " (route it to the service, or switch it to the service's API)"
            )
    return reasons
