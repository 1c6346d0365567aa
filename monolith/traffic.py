"""Drive a repeatable mix of requests at a running ShopCo (or at the router in front of it).

`run_traffic` makes `requests` calls (or calls for `duration` seconds) over one keep-alive
http.client connection, following a seeded `TrafficPlan`, and returns a summary with counts
per status and per endpoint. 4xx answers are part of a realistic mix (a sold-out product,
a duplicate review); 5xx answers and transport failures are counted as errors.
"""

from __future__ import annotations

import http.client
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from monolith.errors import MonolithError
from monolith.traffic_visits import MIX, Call, Reply, State, Visit, tour

MAX_ERROR_SAMPLES = 20


class TrafficError(MonolithError):
    """The target cannot be reached or the arguments make no sense."""


class TrafficPlan:
    """Hand out calls one at a time; feed each reply back with `observe`.

    A plan starts with a tour that calls every endpoint once, then picks weighted visits.
    """

    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.state = State()
        self._visit: Visit | None = tour(self.state, self.rng)
        self._call: Call | None = next(self._visit)
        self._visits = [visit for visit, _ in MIX]
        self._weights = [weight for _, weight in MIX]

    def next_call(self) -> Call:
        while self._call is None:
            visit = self.rng.choices(self._visits, self._weights)[0]
            self._visit = visit(self.state, self.rng)
            self._call = next(self._visit, None)
        return self._call

    def observe(self, reply: Reply) -> None:
        assert self._visit is not None
        try:
            self._call = self._visit.send(reply)
        except StopIteration:
            self._call, self._visit = None, None


@dataclass(frozen=True)
class TrafficSummary:
    """The outcome of one run."""

    base_url: str
    seed: int
    requests: int
    seconds: float
    per_status: dict[int, int]
    per_endpoint: dict[str, int]
    server_errors: int
    transport_errors: int
    error_samples: tuple[str, ...] = field(default=())

    @property
    def requests_per_second(self) -> float:
        return round(self.requests / self.seconds, 1) if self.seconds else 0.0

    @property
    def ok(self) -> bool:
        return self.server_errors == 0 and self.transport_errors == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "seed": self.seed,
            "requests": self.requests,
            "seconds": self.seconds,
            "requests_per_second": self.requests_per_second,
            "per_status": {str(k): v for k, v in sorted(self.per_status.items())},
            "per_endpoint": dict(sorted(self.per_endpoint.items())),
            "server_errors": self.server_errors,
            "transport_errors": self.transport_errors,
            "error_samples": list(self.error_samples),
            "ok": self.ok,
        }


class Client:
    """One keep-alive HTTP/1.1 connection that reconnects once when the server closes it."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TrafficError(f"base URL must look like http://host:port, got {base_url!r}")
        self.prefix = parts.path.rstrip("/")
        kind = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        self._connect = lambda: kind(parts.hostname, parts.port, timeout=timeout)  # type: ignore[arg-type]
        self._conn = self._connect()

    def send(self, call: Call, request_id: str) -> Reply:
        payload = json.dumps(call.body).encode() if call.body is not None else None
        headers = {"X-Request-ID": request_id, "Accept": "application/json", "X-Actor": "traffic"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                self._conn.request(
                    call.method, self.prefix + call.path, body=payload, headers=headers
                )
                response = self._conn.getresponse()
                raw = response.read()
                break
            except (http.client.HTTPException, ConnectionError, TimeoutError):
                self._conn.close()
                self._conn = self._connect()
                if attempt == 2:
                    raise
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        return Reply(response.status, body)

    def close(self) -> None:
        self._conn.close()


def run_traffic(
    base_url: str,
    *,
    requests: int | None = None,
    duration: float | None = None,
    seed: int = 1,
    on_progress: Callable[[int, float], None] | None = None,
) -> TrafficSummary:
    """Send the plan's calls until `requests` were made or `duration` seconds passed."""
    if (requests is None) == (duration is None):
        raise TrafficError("give either a number of requests or a duration, not both")
    if (requests is not None and requests < 1) or (duration is not None and duration <= 0):
        raise TrafficError("the number of requests and the duration must be positive")
    client, plan = Client(base_url), TrafficPlan(seed)
    statuses: Counter[int] = Counter()
    endpoints: Counter[str] = Counter()
    samples: list[str] = []
    server_errors = transport_errors = sent = 0
    started = time.perf_counter()
    try:
        while True:
            elapsed = time.perf_counter() - started
            if (requests is not None and sent >= requests) or (
                duration is not None and elapsed >= duration
            ):
                break
            call = plan.next_call()
            try:
                reply = client.send(call, f"traffic-{seed}-{sent + 1}")
            except (OSError, http.client.HTTPException) as exc:
                if sent == 0:
                    raise TrafficError(f"cannot reach {base_url}: {exc}") from exc
                transport_errors += 1
                reply = Reply(0, None)
                _sample(samples, f"{call.method} {call.path}: {type(exc).__name__}: {exc}")
            sent += 1
            statuses[reply.status] += 1
            endpoints[f"{call.method} {call.endpoint}"] += 1
            if reply.status >= 500:
                server_errors += 1
                _sample(samples, f"{call.method} {call.path} -> {reply.status}: {_message(reply)}")
            plan.observe(reply)
            if on_progress is not None:
                on_progress(sent, time.perf_counter() - started)
    finally:
        client.close()
    return TrafficSummary(
        base_url=base_url,
        seed=seed,
        requests=sent,
        seconds=round(time.perf_counter() - started, 3),
        per_status=dict(statuses),
        per_endpoint=dict(endpoints),
        server_errors=server_errors,
        transport_errors=transport_errors,
        error_samples=tuple(samples),
    )


def _sample(samples: list[str], text: str) -> None:
    if len(samples) < MAX_ERROR_SAMPLES:
        samples.append(text)


def _message(reply: Reply) -> str:
    if isinstance(reply.body, dict) and isinstance(reply.body.get("error"), dict):
        return str(reply.body["error"].get("message"))
    return "no JSON error body"
