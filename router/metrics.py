"""The data plane's Prometheus metrics, kept and rendered by `prometheus_client`.

Each `Metrics` has its own registry, so several routers in one process (tests) keep
separate counts. With `router serve --workers N`, every process writes its values to
files in one folder (prometheus_client's multiprocess mode, `PROMETHEUS_MULTIPROC_DIR`,
set by worker 0 before anything imports prometheus_client); worker 0's `/metrics` sums
all workers (`aggregate`), each other worker's admin API shows its own values.

The shadow counters are counted by the mirror process. In one process they are copied
into the router's counters when /metrics is read (`set` on a counter); in multiprocess
mode the mirror process writes its own file, so nothing is copied.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import prometheus_client as prom
from prometheus_client import multiprocess

prom.disable_created_metrics()  # no `_created` series next to each counter, as before

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# name: (kind, help, label names)
SPEC: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "strangler_requests_total": (
        "counter",
        "Requests answered, by route, target and status class.",
        ("route", "target", "code"),
    ),
    "strangler_request_seconds": (
        "histogram",
        "Latency by route and target (a write held for a handover counts from its release).",
        ("route", "target"),
    ),
    "strangler_upstream_errors_total": (
        "counter",
        "Upstream failures by target and kind.",
        ("target", "kind"),
    ),
    "strangler_fallbacks_total": (
        "counter",
        "Requests answered by the monolith after a failure.",
        ("route", "target"),
    ),
    "strangler_shadow_total": (
        "counter",
        "Mirrored requests by route: done or error.",
        ("route", "outcome"),
    ),
    "strangler_shadow_comparisons_total": (
        "counter",
        "Shadow comparisons by route and outcome: match, mismatch or error.",
        ("route", "outcome"),
    ),
    "strangler_shadow_dropped_total": (
        "counter",
        "Mirrored requests dropped (queue full).",
        ("route",),
    ),
    "strangler_shadow_skipped_total": (
        "counter",
        "Shadow requests not mirrored because the primary response was streamed.",
        ("route", "reason"),
    ),
    "strangler_streamed_responses_total": (
        "counter",
        "Large responses relayed unbuffered.",
        ("route",),
    ),
    "strangler_breaker_state": (
        "gauge",
        "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
        ("upstream",),
    ),
    "strangler_upstream_healthy": ("gauge", "Active health check result, 1 healthy.", ("url",)),
    "strangler_table_version": ("gauge", "Route table version this data plane serves.", ()),
    "strangler_router_errors_total": (
        "counter",
        "Faults in the router itself, by stage (answered 502 router_error, or ignored).",
        ("stage",),
    ),
    "strangler_writes_in_flight": (
        "gauge",
        "Write requests (not GET/HEAD/OPTIONS/TRACE) forwarded and not yet answered "
        "(a write held for a handover counts once released).",
        ("route",),
    ),
}


def multiprocess_dir() -> str | None:
    """The folder of multiprocess mode, when this process runs in it."""
    return os.environ.get(MULTIPROC_ENV) or None


class Metrics:
    """Counters, gauges and the latency histogram; cheap to update from the event loop."""

    def __init__(self) -> None:
        self.registry = prom.CollectorRegistry(auto_describe=False)
        self.aggregate = False  # render every worker's values (worker 0 of --workers)
        # called (from the rendering thread) before each render: counters kept elsewhere,
        # such as the mirror process's, are fetched into this object
        self.before_render: list[Callable[[], None]] = []
        self._shared = multiprocess_dir() is not None
        self._metrics: dict[str, prom.Counter | prom.Gauge | prom.Histogram] = {}
        for name, (kind, text, labels) in SPEC.items():
            if kind == "counter":
                self._metrics[name] = prom.Counter(name, text, labels, registry=self.registry)
            elif kind == "gauge":  # per worker in multiprocess mode (a `pid` label)
                self._metrics[name] = prom.Gauge(
                    name, text, labels, registry=self.registry, multiprocess_mode="liveall"
                )
            else:
                self._metrics[name] = prom.Histogram(
                    name, text, labels, registry=self.registry, buckets=BUCKETS
                )

    def _child(self, name: str, labels: dict[str, str]) -> prom.Counter | prom.Gauge:
        metric = self._metrics[name]
        return metric.labels(**labels) if labels else metric  # type: ignore[return-value]

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        self._child(name, labels).inc(value)

    def set(self, name: str, value: float, **labels: str) -> None:
        """Set a gauge, or copy a counter kept by another process (see the module doc)."""
        child = self._child(name, labels)
        if isinstance(child, prom.Gauge):
            child.set(value)
        elif not self._shared:
            child._value.set(value)  # the public API only adds; the value is a copy

    def observe(self, seconds: float, **labels: str) -> None:
        self._metrics["strangler_request_seconds"].labels(**labels).observe(seconds)  # type: ignore[union-attr]

    def value(self, name: str, **labels: str) -> float:
        """This process's current value of a counter or gauge (0 if never touched)."""
        found = [v for n, got, v in self.snapshot((name,)) if got == labels]
        return found[0] if found else 0.0

    def snapshot(self, names: tuple[str, ...]) -> list[tuple[str, dict[str, str], float]]:
        """The current values of some counters or gauges, as (name, labels, value)."""
        return [
            (name, dict(sample.labels), float(sample.value))
            for name in names
            for family in self._metrics[name].collect()
            for sample in family.samples
            if sample.name == name
        ]

    def render(self) -> str:
        """Return the Prometheus text format (every worker's sum when `aggregate`)."""
        for fetch in self.before_render:
            fetch()
        folder = multiprocess_dir()
        if self.aggregate and folder is not None:
            registry = prom.CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=folder)
            return prom.generate_latest(registry).decode()
        return prom.generate_latest(self.registry).decode()
