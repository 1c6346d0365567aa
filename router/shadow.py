"""Mirror requests to the shadow target after the client has its answer, and compare.

`Mirror.submit` is called from the event loop once the monolith's response is ready; it
only schedules a task (or counts a drop when `concurrency` mirrors are in flight), so
the client never waits for the shadow. Each mirror has its own timeout and its own
connection pool, so a slow shadow cannot hold a connection the primary path needs.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from router.client import Client, Reply, UpstreamError
from router.compare import Side, compare
from router.comparisons import ComparisonStore, Record
from router.metrics import Metrics
from router.table import Decision, RouteTable

log = logging.getLogger(__name__)
Headers = list[tuple[bytes, bytes]]


class Mirror:
    def __init__(
        self,
        metrics: Metrics,
        store: ComparisonStore | None,
        concurrency: int = 16,
        timeout: float = 5.0,
        headers: tuple[str, ...] = ("content-type",),
        ignore: tuple[str, ...] = (),
    ) -> None:
        self.metrics = metrics
        self.store = store
        self.concurrency = concurrency
        self.timeout = timeout
        self.headers = headers
        self.ignore = ignore
        self.client = Client(connect_timeout=timeout, read_timeout=timeout)
        self.in_flight = 0
        self.dropped = 0
        self.completed = 0
        self._rr = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(
        self,
        table: RouteTable,
        method: str,
        target: str,
        headers: Headers,
        body: bytes,
        decision: Decision,
        primary: Reply,
        request_id: str,
    ) -> bool:
        """Schedule one mirror; return False (and count it) when at capacity."""
        upstream = table.upstream(decision.shadow or "")
        if upstream is None:
            return False
        if self.in_flight >= self.concurrency:
            self.dropped += 1
            self.metrics.inc("strangler_shadow_dropped_total", route=decision.route)
            return False
        self.in_flight += 1
        self._rr += 1
        url = upstream.urls[self._rr % len(upstream.urls)]
        shadow_headers = [*headers, (b"x-strangler-shadow", b"1")]
        args = (url, method, target, shadow_headers, body, decision, primary, request_id)
        # start on a later loop turn: the client's response is written first (mitmproxy
        # runs new tasks eagerly, which would send the mirror before the response)
        asyncio.get_running_loop().call_soon(self._start, args)
        return True

    def _start(self, args: tuple[Any, ...]) -> None:
        task = asyncio.get_running_loop().create_task(self._run(*args))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the mirrors in flight (tests and shutdown)."""
        while self._tasks or self.in_flight:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
            await asyncio.sleep(0)

    async def _run(
        self,
        url: str,
        method: str,
        target: str,
        headers: Headers,
        body: bytes,
        d: Decision,
        primary: Reply,
        request_id: str,
    ) -> None:
        shadow: Reply | None = None
        error = ""
        try:
            shadow = await asyncio.wait_for(
                self.client.request(url, method, target, headers, body), self.timeout
            )
        except (UpstreamError, TimeoutError) as exc:
            error = str(exc) or "timed out"
        finally:
            self.in_flight -= 1
            self.completed += 1
        self.metrics.inc(
            "strangler_shadow_total", route=d.route, outcome="done" if shadow else "error"
        )
        if self.store is not None:
            pending = Pending(d.route, method, target, request_id, primary, shadow, error)
            self.store.add(pending, self._finish)

    def _finish(self, p: Pending) -> Record:
        """Compare both sides (runs on the comparison writer thread, not the event loop)."""
        a = Side(p.primary.status, _lower(p.primary.headers), p.primary.body)
        result = None
        if p.shadow is not None:
            b = Side(p.shadow.status, _lower(p.shadow.headers), p.shadow.body)
            result = compare(a, b, self.headers, self.ignore)
        outcome = "error" if result is None else "match" if result.match else "mismatch"
        self.metrics.inc("strangler_shadow_comparisons_total", route=p.route, outcome=outcome)
        return Record(
            route=p.route,
            method=p.method,
            target=p.target,
            request_id=p.request_id,
            primary_status=p.primary.status,
            shadow_status=p.shadow.status if p.shadow else None,
            primary_digest=result.primary_digest if result else "",
            shadow_digest=result.shadow_digest if result else "",
            match=bool(result and result.match),
            error=p.error,
            differences=result.differences if result else (),
        )


@dataclass(frozen=True)
class Pending:
    route: str
    method: str
    target: str
    request_id: str
    primary: Reply
    shadow: Reply | None
    error: str


def _lower(headers: Headers) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers}
