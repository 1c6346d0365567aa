"""The promotion gate: may a route move on to canary or service? (pure, no I/O)

A promotion is refused when the route's shadow comparisons are too few or mismatch too
often (after noise removal), when the candidate fails or is slower more than the
monolith by a margin, or when CDC lags behind on the route's tables. Every check that
fails is named with its number and its threshold. The numbers come from
router/gate_evidence.py; the settings from `[gate]` in strangler.toml (env STRANGLER_GATE_*).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import strangler_settings as settings
from router.errors import Conflict

GATED_MODES = ("canary", "service")


class PromotionRefused(Conflict):
    """The gate's numbers say no; `force` with a reason overrides (and is recorded)."""

    code = "promotion_refused"


@dataclass(frozen=True)
class GatePolicy:
    """Thresholds of the promotion gate (`[gate]` in strangler.toml)."""

    max_mismatch_rate: float = 0.001  # 0.1 % of shadow comparisons, after noise removal
    min_comparisons: int = 200  # shadow comparisons needed before shadow -> canary
    error_rate_margin: float = 0.01  # candidate error rate may exceed the monolith's by this
    p99_margin: float = 0.2  # candidate p99 may exceed the monolith's by this fraction
    max_cdc_lag_ms: int = 5000  # the route's tables may lag this much (with cdc_sink set)
    window: int = 10000  # newest comparisons considered
    cdc_sink: str = ""  # service database holding the CDC sink's positions; empty: no check
    cdc_pipeline: str = "default"  # name of the CDC sink pipeline whose lag is checked
    tables: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # route id -> tables
    guard_set: bool = False  # also gate PATCH/POST that put a route in canary or service

    def __post_init__(self) -> None:
        for name in ("max_mismatch_rate", "error_rate_margin"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"[gate] {name} must be between 0 and 1")
        if self.p99_margin < 0:
            raise ValueError("[gate] p99_margin must not be negative")
        if self.min_comparisons < 0 or self.window < 1 or self.max_cdc_lag_ms < 0:
            raise ValueError("[gate] min_comparisons, window and max_cdc_lag_ms must be positive")
        if not isinstance(self.tables, Mapping) or not all(
            isinstance(v, list | tuple) and all(isinstance(t, str) for t in v)
            for v in self.tables.values()
        ):
            raise ValueError("[gate.tables] must map route ids to lists of table names")
        object.__setattr__(self, "tables", {k: tuple(v) for k, v in self.tables.items()})


def load_policy(**overrides: Any) -> GatePolicy:
    return settings.load(
        GatePolicy, section="gate", env_prefix="STRANGLER_GATE_", overrides=overrides
    )


@dataclass(frozen=True)
class Evidence:
    """The numbers the gate reads for one route."""

    comparisons: int = 0
    mismatches: int = 0  # unexplained (noise already removed by the comparison)
    candidate_requests: int = 0
    candidate_errors: int = 0  # 5xx or no answer
    monolith_requests: int = 0
    monolith_errors: int = 0
    candidate_p99: float | None = None  # seconds
    monolith_p99: float | None = None
    cdc_lag_ms: Mapping[str, int | None] = field(default_factory=dict)  # table -> lag

    def to_json(self) -> dict[str, Any]:
        return {**vars(self), "cdc_lag_ms": dict(self.cdc_lag_ms)}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    value: float | None
    threshold: float
    message: str


@dataclass(frozen=True)
class Verdict:
    checks: tuple[Check, ...]

    @property
    def allowed(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)

    def to_json(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "checks": [vars(c) for c in self.checks]}


def judge(e: Evidence, p: GatePolicy) -> Verdict:
    """Run every check of the gate on the evidence."""
    checks = [
        Check(
            "comparisons",
            e.comparisons >= p.min_comparisons,
            e.comparisons,
            p.min_comparisons,
            f"shadow comparisons {e.comparisons} (minimum {p.min_comparisons})",
        ),
    ]
    if e.comparisons:
        rate = e.mismatches / e.comparisons
        checks.append(
            Check(
                "mismatch_rate",
                rate <= p.max_mismatch_rate,
                rate,
                p.max_mismatch_rate,
                f"shadow mismatch rate {_pct(rate)} ({e.mismatches} of "
                f"{e.comparisons}; threshold {_pct(p.max_mismatch_rate)})",
            )
        )
    if e.candidate_requests:
        cand = e.candidate_errors / e.candidate_requests
        mono = e.monolith_errors / e.monolith_requests if e.monolith_requests else 0.0
        checks.append(
            Check(
                "error_rate",
                cand <= mono + p.error_rate_margin,
                cand,
                mono + p.error_rate_margin,
                f"candidate error rate {_pct(cand)} vs monolith {_pct(mono)} "
                f"(margin {_pct(p.error_rate_margin)})",
            )
        )
    if e.candidate_p99 is not None and e.monolith_p99 is not None:
        limit = e.monolith_p99 * (1 + p.p99_margin)
        checks.append(
            Check(
                "p99_latency",
                e.candidate_p99 <= limit,
                e.candidate_p99,
                limit,
                f"candidate p99 {_ms(e.candidate_p99)} vs monolith "
                f"{_ms(e.monolith_p99)} (margin {_pct(p.p99_margin)}, "
                f"limit {_ms(limit)})",
            )
        )
    for table, lag in sorted(e.cdc_lag_ms.items()):
        text = "no CDC position yet" if lag is None else f"{lag} ms"
        checks.append(
            Check(
                f"cdc_lag:{table}",
                lag is not None and lag <= p.max_cdc_lag_ms,
                lag,
                p.max_cdc_lag_ms,
                f"CDC lag on table {table}: {text} (threshold {p.max_cdc_lag_ms} ms)",
            )
        )
    return Verdict(tuple(checks))


def _pct(rate: float) -> str:
    return f"{rate * 100:.2f} %"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def refusal(route: str, mode: str, verdict: Verdict) -> str:
    """The one-line reason a promotion is refused, naming each failing number."""
    failed = "; ".join(c.message for c in verdict.failures)
    return (
        f"promotion of route {route!r} to {mode} refused by the gate: {failed}. "
        "Pass force=true with a reason to override (recorded in the route history)"
    )
