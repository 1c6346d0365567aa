"""Mirror requests to the shadow target after the client has its answer, and compare.

`Submitter.submit` is what the data plane calls once the primary response is ready; it
hands a `Job` over on a later loop turn. `Mirror` does the work: `launch` starts one
mirror as a task (or counts a drop when `concurrency` mirrors are in flight); each
mirror has its own timeout and its own connection pool, so a slow shadow cannot hold a
connection the primary path needs; the comparison runs on the comparison store's
writer thread. The router itself runs a `Mirror` in a separate mirror process
(router/mirrorproc.py), so that its event loop only hands each job off; a `Mirror`
used directly as the data plane's mirror runs the jobs in the router's own loop.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass
from typing import NamedTuple

from router.client import Client, Reply, UpstreamError
from router.compare import Side, compare
from router.comparisons import ComparisonStore, Record
from router.metrics import Metrics
from router.table import Decision, RouteTable

log = logging.getLogger(__name__)
Headers = list[tuple[bytes, bytes]]


class Job(NamedTuple):
    """One request to mirror, with the primary (monolith) response to compare against."""

    url: str  # the shadow upstream's base URL
    method: str
    target: str
    headers: Headers
    body: bytes
    route: str
    primary: Reply
    request_id: str


_rr = itertools.count()


class Submitter:
    """What the data plane calls: `submit` a mirror once the primary response is ready."""

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
        """Schedule one mirror on a later loop turn; False if no such shadow upstream.

        Later: the client's response is written first (mitmproxy runs new tasks eagerly,
        which would send the mirror before the response).
        """
        upstream = table.upstream(decision.shadow or "")
        if upstream is None:
            return False
        url = upstream.urls[next(_rr) % len(upstream.urls)]
        shadow_headers = [*headers, (b"x-strangler-shadow", b"1")]
        job = Job(url, method, target, shadow_headers, body, decision.route, primary, request_id)
        asyncio.get_running_loop().call_soon(self.hand_over, job)
        return True

    def hand_over(self, job: Job) -> None:
        raise NotImplementedError

    @property
    def dropped(self) -> int:
        """Mirrors dropped so far (at capacity)."""
        return self._dropped

    @property
    def in_flight(self) -> int:
        """Mirrors started and not finished."""
        return self._in_flight

    _dropped = 0
    _in_flight = 0

    def prepare(self) -> None:
        """Get ready for mirrors (a route is in shadow mode); nothing by default."""


class Mirror(Submitter):
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
        self._in_flight = self._dropped = 0
        self.completed = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def hand_over(self, job: Job) -> None:
        self.launch(job)

    def launch(self, job: Job) -> bool:
        """Start one mirror now (or count it as dropped when at capacity)."""
        if self._in_flight >= self.concurrency:
            self._dropped += 1
            self.metrics.inc("strangler_shadow_dropped_total", route=job.route)
            return False
        self._in_flight += 1
        task = asyncio.get_running_loop().create_task(self._run(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def drain(self) -> None:
        """Wait for the mirrors in flight (tests and shutdown)."""
        while self._tasks or self._in_flight:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
            await asyncio.sleep(0)

    async def _run(self, job: Job) -> None:
        shadow: Reply | None = None
        error = ""
        try:
            async with asyncio.timeout(self.timeout):  # no extra task, unlike wait_for
                shadow = await self.client.request(
                    job.url, job.method, job.target, job.headers, job.body
                )
        except (UpstreamError, TimeoutError) as exc:
            error = str(exc) or "timed out"
        finally:
            self._in_flight -= 1
            self.completed += 1
        outcome = "done" if shadow else "error"
        self.metrics.inc("strangler_shadow_total", route=job.route, outcome=outcome)
        if self.store is not None:
            p = Pending(
                job.route, job.method, job.target, job.request_id, job.primary, shadow, error
            )
            self.store.add(p, self._finish)

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
