"""Mirror requests to the shadow target after the client has its answer, and compare.

The data plane's mirror is `router.mirrorproc.ProcessMirror`: its `submit`, called once
the primary response is ready, hands a `Job` to a separate mirror process on a later
loop turn, so the router's event loop only hands each job off. There a `Mirror` does the
work: `launch` starts one mirror as a task (or counts a drop when `concurrency` mirrors
are in flight); each mirror has its own timeout and its own connection pool, so a slow
shadow cannot hold a connection the primary path needs; the comparison runs on the
comparison store's writer thread.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import NamedTuple

from router.client import Client, Reply, UpstreamError
from router.compare import Side, compare
from router.comparisons import ComparisonStore, Record
from router.metrics import Metrics

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


class Mirror:
    """Run mirrors as tasks of the running event loop (in the mirror process)."""

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
        self.in_flight = 0  # mirrors started and not finished
        self.dropped = 0  # mirrors dropped so far (at capacity)
        self._tasks: set[asyncio.Task[None]] = set()

    def launch(self, job: Job) -> None:
        """Start one mirror now (or count it as dropped when at capacity)."""
        if self.in_flight >= self.concurrency:
            self.dropped += 1
            self.metrics.inc("strangler_shadow_dropped_total", route=job.route)
            return
        self.in_flight += 1
        task = asyncio.get_running_loop().create_task(self._run(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the mirrors in flight (tests and shutdown)."""
        while self._tasks or self.in_flight:
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
            self.in_flight -= 1
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
