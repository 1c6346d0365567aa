"""A circuit breaker per upstream: a pure state machine, time passed in by the caller.

closed ── N failures within `window` s ──► open ── `cooldown` s ──► half-open
  ▲                                                                   │
  └──────────── a probe succeeds ◄────────────────────────────────────┘
                a probe fails ──► open again (cooldown restarts)

In half-open exactly one request at a time is let through as a probe.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"
STATE_VALUE = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


@dataclass(frozen=True)
class Breaker:
    """The breaker's state; every transition returns a new value."""

    failures: int = 5
    window: float = 10.0
    cooldown: float = 5.0
    state: str = CLOSED
    recent: tuple[float, ...] = field(default=())  # failure times within the window
    opened_at: float = 0.0
    probing: bool = False

    def current(self, now: float) -> Breaker:
        """Return the state as of `now` (open turns half-open after the cooldown)."""
        if self.state == OPEN and now - self.opened_at >= self.cooldown:
            return replace(self, state=HALF_OPEN, probing=False)
        return self

    def allow(self, now: float) -> tuple[bool, Breaker]:
        """Tell whether a request may go to the upstream now, and the new state."""
        b = self.current(now)
        if b.state == CLOSED:
            return True, b
        if b.state == HALF_OPEN and not b.probing:
            return True, replace(b, probing=True)
        return False, b

    def success(self, now: float) -> Breaker:
        b = self.current(now)
        if b.state == HALF_OPEN:
            return replace(b, state=CLOSED, recent=(), probing=False)
        return b

    def failure(self, now: float) -> Breaker:
        b = self.current(now)
        if b.state == HALF_OPEN:
            return replace(b, state=OPEN, opened_at=now, probing=False, recent=())
        if b.state == OPEN:
            return b
        recent = (*(t for t in b.recent if now - t < b.window), now)
        if len(recent) >= b.failures:
            return replace(b, state=OPEN, opened_at=now, recent=())
        return replace(b, recent=recent)
