"""Mirror requests to the shadow target after the client has its answer, and compare.

`Mirror.submit` is called from the event loop once the monolith's response is ready; it
only schedules a task (or counts a drop when `concurrency` mirrors are in flight), so
the client never waits for the shadow. Each mirror has its own timeout and its own
connection pool, so a slow shadow cannot hold a connection the primary path needs.
"""

from __future__ import annotations

import asyncio
import logging

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
        task = asyncio.get_running_loop().create_task(
            self._run(url, method, target, shadow_headers, body, decision, primary, request_id)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def drain(self) -> None:
        """Wait for the mirrors in flight (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

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
        a = Side(primary.status, _lower(primary.headers), primary.body)
        if shadow is None:
            outcome, result = "error", None
        else:
            b = Side(shadow.status, _lower(shadow.headers), shadow.body)
            result = compare(a, b, self.headers, self.ignore)
            outcome = "match" if result.match else "mismatch"
        self.metrics.inc("strangler_shadow_total", route=d.route, outcome=outcome)
        if self.store is not None:
            self.store.add(
                Record(
                    route=d.route,
                    method=method,
                    target=target,
                    request_id=request_id,
                    primary_status=primary.status,
                    shadow_status=shadow.status if shadow else None,
                    primary_digest=result.primary_digest if result else "",
                    shadow_digest=result.shadow_digest if result else "",
                    match=bool(result and result.match),
                    error=error,
                    differences=result.differences if result else (),
                )
            )


def _lower(headers: Headers) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers}
