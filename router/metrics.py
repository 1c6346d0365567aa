"""Prometheus metrics in the text exposition format, kept in memory by the data plane."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
Labels = tuple[tuple[str, str], ...]

_HELP = {
    "strangler_requests_total": (
        "counter",
        "Requests answered, by route, target and status class.",
    ),
    "strangler_request_seconds": ("histogram", "Client-facing latency by route and target."),
    "strangler_upstream_errors_total": ("counter", "Upstream failures by target and kind."),
    "strangler_fallbacks_total": ("counter", "Requests answered by the monolith after a failure."),
    "strangler_shadow_total": ("counter", "Mirrored requests by route: done or error."),
    "strangler_shadow_comparisons_total": (
        "counter",
        "Shadow comparisons by route and outcome: match, mismatch or error.",
    ),
    "strangler_shadow_dropped_total": ("counter", "Mirrored requests dropped (queue full)."),
    "strangler_shadow_skipped_total": (
        "counter",
        "Shadow requests not mirrored because the primary response was streamed.",
    ),
    "strangler_streamed_responses_total": ("counter", "Large responses relayed unbuffered."),
    "strangler_breaker_state": ("gauge", "Circuit breaker state: 0 closed, 1 half-open, 2 open."),
    "strangler_upstream_healthy": ("gauge", "Active health check result, 1 healthy."),
    "strangler_table_version": ("gauge", "Route table version this data plane serves."),
}


class Metrics:
    """Counters, gauges and histograms; cheap to update from the event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, dict[Labels, float]] = defaultdict(lambda: defaultdict(float))
        self._hist: dict[Labels, list[float]] = {}
        # called (from the rendering thread) before each render: counters kept elsewhere,
        # such as the mirror process's, are fetched into this object
        self.before_render: list[Callable[[], None]] = []

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._values[name][key] += value

    def set(self, name: str, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._values[name][key] = value

    def observe(self, seconds: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            slots = self._hist.setdefault(key, [0.0] * (len(BUCKETS) + 2))
            for i, edge in enumerate(BUCKETS):
                if seconds <= edge:
                    slots[i] += 1
            slots[-2] += 1  # count
            slots[-1] += seconds  # sum

    def value(self, name: str, **labels: str) -> float:
        with self._lock:
            return self._values.get(name, {}).get(tuple(sorted(labels.items())), 0.0)

    def snapshot(self, names: tuple[str, ...]) -> list[tuple[str, dict[str, str], float]]:
        """The current values of some counters or gauges, as (name, labels, value)."""
        with self._lock:
            return [
                (name, dict(key), value)
                for name in names
                for key, value in self._values.get(name, {}).items()
            ]

    def render(self) -> str:
        """Return the Prometheus text format."""
        for fetch in self.before_render:
            fetch()
        lines: list[str] = []
        with self._lock:
            values = {n: dict(v) for n, v in self._values.items()}
            hist = {k: list(v) for k, v in self._hist.items()}
        for name, (kind, text) in _HELP.items():
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
            if kind == "histogram":
                for key, slots in sorted(hist.items()):
                    for i, edge in enumerate(BUCKETS):
                        lines.append(f"{name}_bucket{_fmt(key, ('le', f'{edge:g}'))} {slots[i]:g}")
                    lines.append(f"{name}_bucket{_fmt(key, ('le', '+Inf'))} {slots[-2]:g}")
                    lines.append(f"{name}_count{_fmt(key)} {slots[-2]:g}")
                    lines.append(f"{name}_sum{_fmt(key)} {slots[-1]:.6f}")
                continue
            for key, value in sorted(values.get(name, {}).items()):
                lines.append(f"{name}{_fmt(key)} {value:g}")
        return "\n".join(lines) + "\n"


def _fmt(key: Labels, extra: tuple[str, str] | None = None) -> str:
    items = [*key, extra] if extra else list(key)
    if not items:
        return ""
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in items)
    return "{" + body + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
