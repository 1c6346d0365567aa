"""Live traffic figures from the router's Prometheus metrics (the text GET /metrics serves).

Each time a page asks, the sampler reads the metrics (at most once a second) and keeps
the last ten minutes of samples: per (route, target) the request count, the 5xx count
and the latency histogram's buckets. Requests/s and the error rate come from the last
~10 s of samples, p50/p99 from the histogram's growth over the last minute (interpolated
within a bucket as Prometheus' histogram_quantile does), and the sparkline from
requests/s between consecutive samples over the last five minutes. Samples are taken
only while a page is open, so the first look shows cumulative figures.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from router.gate_evidence import quantile as histogram_quantile

Key = tuple[str, str]  # (route, target)
RATE_WINDOW = 10.0
LATENCY_WINDOW = 60.0
SPARK_WINDOW = 300.0
KEEP = 600.0


@dataclass(frozen=True)
class Sample:
    at: float
    requests: dict[Key, float] = field(default_factory=dict)
    errors: dict[Key, float] = field(default_factory=dict)
    buckets: dict[Key, dict[float, float]] = field(default_factory=dict)


def parse(text: str, at: float) -> Sample:
    """The counts of one /metrics text."""
    sample = Sample(at)
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = (s.labels.get("route", ""), s.labels.get("target", ""))
            if s.name == "strangler_requests_total":
                sample.requests[key] = sample.requests.get(key, 0.0) + s.value
                if s.labels.get("code", "").startswith("5"):
                    sample.errors[key] = sample.errors.get(key, 0.0) + s.value
            elif s.name == "strangler_request_seconds_bucket":
                sample.buckets.setdefault(key, {})[float(s.labels["le"])] = s.value
    return sample


def quantile(q: float, buckets: dict[float, float]) -> float | None:
    """histogram_quantile over cumulative buckets (upper bound -> count); None if empty."""
    return histogram_quantile(q, list(buckets.items()))


class TrafficSampler:
    def __init__(self, render: Callable[[], str], clock: Callable[[], float] = time.monotonic):
        self.render, self.clock = render, clock
        self.samples: deque[Sample] = deque()
        self._lock = threading.Lock()

    def take(self) -> Sample:
        now = self.clock()
        with self._lock:
            if self.samples and now - self.samples[-1].at < 1.0:
                return self.samples[-1]
            self.samples.append(parse(self.render(), now))
            while now - self.samples[0].at > KEEP:
                self.samples.popleft()
            return self.samples[-1]

    def rows(self) -> list[dict[str, Any]]:
        latest = self.take()
        with self._lock:
            samples = list(self.samples)
        rate_base = _since(samples, latest.at - RATE_WINDOW)
        lat_base = _since(samples, latest.at - LATENCY_WINDOW)
        out = []
        for key in sorted(latest.requests):
            total = latest.requests[key]
            seconds = latest.at - rate_base.at
            done = total - rate_base.requests.get(key, 0.0)
            failed = latest.errors.get(key, 0.0) - rate_base.errors.get(key, 0.0)
            if not seconds:  # one sample yet: the counts since the router started
                done, failed = total, latest.errors.get(key, 0.0)
            grown = _growth(latest.buckets.get(key, {}), lat_base.buckets.get(key, {}))
            if lat_base is latest or not any(grown.values()):
                grown = latest.buckets.get(key, {})
            out.append(
                {
                    "route": key[0],
                    "target": key[1],
                    "total": int(total),
                    "errors": int(latest.errors.get(key, 0.0)),
                    "rps": done / seconds if seconds else None,
                    "error_rate": failed / done if done else None,
                    "p50": quantile(0.5, grown),
                    "p99": quantile(0.99, grown),
                    "spark": _spark(samples, key, latest.at),
                }
            )
        return out


def _since(samples: list[Sample], start: float) -> Sample:
    """The oldest sample taken at or after `start` (the newest if none)."""
    return next((s for s in samples if s.at >= start), samples[-1])


def _growth(now: dict[float, float], before: dict[float, float]) -> dict[float, float]:
    return {le: count - before.get(le, 0.0) for le, count in now.items()}


def _spark(samples: list[Sample], key: Key, now: float) -> list[float]:
    """Requests/s between consecutive samples of the last five minutes."""
    recent = [s for s in samples if now - s.at <= SPARK_WINDOW]
    return [
        max(0.0, b.requests.get(key, 0.0) - a.requests.get(key, 0.0)) / (b.at - a.at)
        for a, b in itertools.pairwise(recent)
    ]


def sparkline(values: list[float], width: int = 120, height: int = 24) -> str:
    """The `points` of an SVG polyline drawing `values` (empty when fewer than two)."""
    if len(values) < 2:
        return ""
    top = max(values) or 1.0
    step = width / (len(values) - 1)
    return " ".join(
        f"{i * step:.1f},{height - (v / top) * (height - 2) - 1:.1f}" for i, v in enumerate(values)
    )
