"""Upstream health: a pure record of probe results, and the async prober that feeds it.

An upstream URL is healthy until a probe of `health_path` fails (connection error,
timeout or a 5xx), and healthy again after the next successful probe. An upstream is
healthy when any of its URLs is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from router.table import RouteTable, Upstream

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Probe:
    url: str
    ok: bool
    detail: str
    at: float


class HealthBook:
    """The latest probe result per base URL; safe to read from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, Probe] = {}

    def record(self, probe: Probe) -> None:
        with self._lock:
            self._last[probe.url] = probe

    def url_ok(self, url: str) -> bool:
        probe = self._last.get(url)
        return probe is None or probe.ok  # unknown counts as healthy until probed

    def healthy(self, upstream: Upstream) -> bool:
        return any(self.url_ok(u) for u in upstream.urls)

    def probed(self, upstream: Upstream) -> bool:
        return all(u in self._last for u in upstream.urls)

    def snapshot(self) -> dict[str, Probe]:
        with self._lock:
            return dict(self._last)


ProbeFn = Callable[[str, str, float], "asyncio.Future[tuple[bool, str]]"]


class HealthChecker:
    """Probe every upstream of the current table on its own interval, in the event loop."""

    def __init__(self, book: HealthBook, probe: Callable[..., object], clock: Callable[[], float]):
        self.book = book
        self.probe = probe  # async (url, path, timeout) -> (ok, detail)
        self.clock = clock
        self._tasks: dict[tuple[str, str, float, float], asyncio.Task[None]] = {}

    def sync(self, table: RouteTable) -> None:
        """Start probing new upstream URLs and stop probing removed ones."""
        wanted = {
            (url, u.health_path, u.health_interval, u.health_timeout)
            for u in table.upstreams
            for url in u.urls
        }
        for key in list(self._tasks):
            if key not in wanted:
                self._tasks.pop(key).cancel()
        for key in wanted - set(self._tasks):
            self._tasks[key] = asyncio.get_running_loop().create_task(self._loop(*key))

    async def check_now(self, table: RouteTable) -> None:
        await asyncio.gather(
            *(
                self._once(url, u.health_path, u.health_timeout)
                for u in table.upstreams
                for url in u.urls
            )
        )

    def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()

    async def _once(self, url: str, path: str, timeout: float) -> None:
        ok, detail = await self.probe(url, path, timeout)  # type: ignore[misc]
        if ok != self.book.url_ok(url):
            log.warning("upstream %s is now %s (%s)", url, "healthy" if ok else "down", detail)
        self.book.record(Probe(url, ok, detail, self.clock()))

    async def _loop(self, url: str, path: str, interval: float, timeout: float) -> None:
        while True:
            with contextlib.suppress(Exception):
                await self._once(url, path, timeout)
            await asyncio.sleep(interval)
