"""Mirror requests to the shadow target after the client has its answer, and compare.

The data plane's mirror is `router.mirrorproc.ProcessMirror`: its `submit`, called once
the primary response is ready, hands a `Job` to a separate mirror process on a later
loop turn, so the router's event loop only hands each job off. There a `Mirror` does the
work: `launch` starts one mirror as a task (or counts a drop when `concurrency` mirrors
are in flight); each mirror has its own timeout and its own connection pool, so a slow
shadow cannot hold a connection the primary path needs.

Comparing is parity's engine (`parity.compare`) under the rules file
(`[router] shadow_rules`, plus the older `shadow_ignore` / `shadow_headers`), run on a
worker thread so the mirror's loop keeps sending. Noise is learned as Diffy does: when a
safe request (GET/HEAD) mismatches in a field that has been checked fewer than
`NOISE_CHECKS` times on its route, the monolith is asked once more; fields that differ
between its two answers are noise for that route from then on (`parity.NoiseModel`), so
timestamps, generated ids and CSRF tokens stop counting as mismatches.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from parity import Comparison, NoiseModel, Response, Rules, compare
from router.client import Client, Reply, UpstreamError
from router.comparisons import ComparisonStore, Record
from router.metrics import Metrics

log = logging.getLogger(__name__)
Headers = list[tuple[bytes, bytes]]
SAFE = ("GET", "HEAD")
NOISE_CHECKS = 3  # times a mismatching field is re-checked against the monolith per route


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
    legacy_url: str = ""  # the monolith's base URL, to ask again when learning noise


class Mirror:
    """Run mirrors as tasks of the running event loop (in the mirror process)."""

    def __init__(
        self,
        metrics: Metrics,
        store: ComparisonStore | None,
        concurrency: int = 16,
        timeout: float = 5.0,
        rules: Rules | None = None,
        noise: NoiseModel | None = None,
    ) -> None:
        self.metrics = metrics
        self.store = store
        self.concurrency = concurrency
        self.timeout = timeout
        self.rules = rules if rules is not None else Rules()
        self.noise = noise if noise is not None else NoiseModel()
        self.client = Client(connect_timeout=timeout, read_timeout=timeout)
        self._checks: dict[tuple[str, str], int] = {}  # (route, field) -> legacy re-checks
        self._compare = ThreadPoolExecutor(1, "shadow-compare")
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
        result: Comparison | None = None
        try:
            shadow, error = await self._send(job.url, job)
            outcome = "done" if shadow else "error"
            self.metrics.inc("strangler_shadow_total", route=job.route, outcome=outcome)
            if shadow is not None:
                try:
                    result = await self._judge(job, _response(shadow))
                except Exception as exc:  # a comparison bug must never stop the mirror
                    log.exception("shadow comparison failed for %s %s", job.method, job.target)
                    error = f"comparison failed: {exc}"
            if self.store is not None:
                self.store.add(_record(job, shadow, error, result))
        finally:
            self.in_flight -= 1
        outcome = "error" if result is None else "match" if result.match else "mismatch"
        self.metrics.inc("strangler_shadow_comparisons_total", route=job.route, outcome=outcome)

    async def _send(self, base: str, job: Job) -> tuple[Reply | None, str]:
        try:
            async with asyncio.timeout(self.timeout):  # no extra task, unlike wait_for
                reply = await self.client.request(
                    base, job.method, job.target, job.headers, job.body
                )
                return reply, ""
        except (UpstreamError, TimeoutError) as exc:
            return None, str(exc) or "timed out"

    async def _judge(self, job: Job, candidate: Response) -> Comparison:
        """Compare (off the loop); on a new mismatch of a safe request, learn noise first."""
        loop = asyncio.get_running_loop()
        legacy = _response(job.primary)
        result = await loop.run_in_executor(
            self._compare, self._compare_now, job, legacy, candidate
        )
        if result.match or not self._worth_checking(job, result):
            return result
        again, _ = await self._send(job.legacy_url, job)
        if again is None:
            return result
        return await loop.run_in_executor(
            self._compare, self._compare_now, job, legacy, candidate, _response(again)
        )

    def _compare_now(
        self, job: Job, legacy: Response, candidate: Response, again: Response | None = None
    ) -> Comparison:
        path = job.target.split("?", 1)[0]
        return compare(
            legacy, candidate, self.rules, route=job.route, method=job.method, path=path,
            noise=self.noise, legacy_again=again,
        )  # fmt: skip

    def _worth_checking(self, job: Job, result: Comparison) -> bool:
        """True (and counted) when a differing field of a safe request needs a re-check."""
        if job.method not in SAFE or not job.legacy_url:
            return False
        fields = {(job.route, d.field) for d in result.differences}
        if all(self._checks.get(f, 0) >= NOISE_CHECKS for f in fields):
            return False
        for f in fields:
            self._checks[f] = self._checks.get(f, 0) + 1
        return True

    def close(self) -> None:
        self._compare.shutdown(wait=True)


def _response(reply: Reply) -> Response:
    return Response(reply.status, _lower(reply.headers), reply.body)


def _record(job: Job, shadow: Reply | None, error: str, result: Comparison | None) -> Record:
    found = [d.to_dict() for d in result.differences] if result else []
    found += [{**d.to_dict(), "noise": True} for d in result.noise] if result else []
    return Record(
        route=job.route,
        method=job.method,
        target=job.target,
        request_id=job.request_id,
        primary_status=job.primary.status,
        shadow_status=shadow.status if shadow else None,
        primary_digest=result.legacy_digest if result else "",
        shadow_digest=result.candidate_digest if result else "",
        match=bool(result and result.match),
        error=error,
        differences=tuple(found),
    )


def _lower(headers: Headers) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers}
