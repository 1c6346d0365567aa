"""Replay recorded requests to the legacy side and the candidate, and compare the answers.

Each request goes to both sides at once; when the answers differ, the legacy side is
asked a second time and the two legacy answers teach the noise model which fields vary
on their own (timestamps, generated ids), as Diffy does. A matching pair needs no third
call: there is nothing to explain. Writes are skipped unless asked for.

`concurrency` workers share one lazy iterator of requests, so memory stays flat however
long the recording is; every answer is handed to `on_outcome` and then dropped. An
unreachable side or a timeout becomes an error outcome and the run goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from parity import NoiseModel, Response, Rules, compare
from parity.inputs import Recorded
from parity.model import Comparison
from router import template as tpl
from router.client import Client, UpstreamError
from router.table import DEFAULT_ROUTE, Request, RouteTable, decide

if TYPE_CHECKING:
    from parity.replay_state import Databases, StateDiff

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
WRITE_SKIPPED = "write request (skipped; see --writes)"


@dataclass(frozen=True)
class ReplayConfig:
    """Where to send requests and how hard to push."""

    legacy: str  # base URL
    candidate: str  # base URL
    concurrency: int = 8
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")


@dataclass(frozen=True)
class Outcome:
    """What happened to one recorded request."""

    request: Recorded
    route: str
    legacy: Response | None = None
    candidate: Response | None = None
    comparison: Comparison | None = None
    error: str = ""  # "candidate: cannot connect to ..." — the side is named first
    skipped: str = ""
    state: tuple[StateDiff, ...] = ()  # --writes state: rows the write left different


RouteOf = Callable[[Recorded], str]


def route_finder(table: RouteTable | None) -> RouteOf:
    """Name requests by the router's route template, else by their path."""
    if table is None:
        return lambda r: r.path

    def route_of(r: Recorded) -> str:
        headers = {k.lower(): v for k, v in r.headers}
        decision = decide(Request(r.method, r.path, headers), table)
        route = table.route(decision.route) if decision.route != DEFAULT_ROUTE else None
        return route.path if route else r.path

    return route_of


def template_matches(template: str, path: str) -> bool:
    """Tell whether a request path falls under a route template (or equals it)."""
    if template == path:
        return True
    try:
        return tpl.parse(template).match(tpl.split_path(path)) is not None
    except ValueError:
        return False


class Replayer:
    """Send, compare, learn noise; one instance per run."""

    def __init__(
        self,
        config: ReplayConfig,
        rules: Rules | None = None,
        noise: NoiseModel | None = None,
        route_of: RouteOf = lambda r: r.path,
        state: Databases | None = None,
    ) -> None:
        self.config = config
        self.state = state  # set: writes are replayed, one request at a time
        self.rules = rules or Rules()
        self.noise = noise if noise is not None else NoiseModel()
        self.route_of = route_of
        self.client = Client(connect_timeout=min(config.timeout, 5.0), read_timeout=config.timeout)

    def run(self, requests: Iterable[Recorded], on_outcome: Callable[[Outcome], None]) -> None:
        """Replay every request, calling on_outcome for each (in completion order)."""
        asyncio.run(self.replay(requests, on_outcome))

    async def replay(
        self, requests: Iterable[Recorded], on_outcome: Callable[[Outcome], None]
    ) -> None:
        shared = iter(requests)  # read lazily by every worker; next() never awaits

        async def worker() -> None:
            for request in shared:
                on_outcome(await self.one(request))

        try:
            workers = 1 if self.state is not None else self.config.concurrency
            await asyncio.gather(*(worker() for _ in range(workers)))
        finally:
            self.client.close()

    async def one(self, request: Recorded) -> Outcome:
        route = self.route_of(request)
        if request.skip:
            return Outcome(request, route, skipped=request.skip)
        if request.method not in SAFE:
            if self.state is None:
                return Outcome(request, route, skipped=WRITE_SKIPPED)
            return await self._write(request, route)
        legacy, candidate = await asyncio.gather(
            self._send(self.config.legacy, request), self._send(self.config.candidate, request)
        )
        if isinstance(legacy, str) or isinstance(candidate, str):
            return _failed(request, route, legacy, candidate)
        rules = self.rules.for_route(route, request.method, request.path)
        if _identical(legacy, candidate, rules.header_names):
            return Outcome(request, route, legacy, candidate, IDENTICAL)
        try:
            known = self.noise if rules.learn_noise else None  # set learned noise apart
            result = compare(
                legacy,
                candidate,
                rules,
                route=route,
                method=request.method,
                path=request.path,
                noise=known,
            )
            if not result.match and rules.learn_noise:
                again = await self._send(self.config.legacy, request)
                if not isinstance(again, str):
                    self.noise.learn(
                        route, legacy, again, rules, method=request.method, path=request.path
                    )
        except Exception as exc:  # a comparison crash is one request's error, not the run's
            return Outcome(request, route, legacy, candidate, error=f"compare: {exc!r}")
        return Outcome(request, route, legacy, candidate, result)

    async def _write(self, request: Recorded, route: str) -> Outcome:
        """Send a write to each side in turn and compare the answers and the rows."""
        assert self.state is not None
        try:
            before = await asyncio.to_thread(self.state.snapshot)
            legacy = await self._send(self.config.legacy, request)
            candidate = await self._send(self.config.candidate, request)
            after = await asyncio.to_thread(self.state.snapshot)
        except Exception as exc:  # a database that stops answering fails this request only
            return Outcome(request, route, error=f"state: {exc}")
        if isinstance(legacy, str) or isinstance(candidate, str):
            return _failed(request, route, legacy, candidate)
        rules = self.rules.for_route(route, request.method, request.path)
        result = compare(
            legacy, candidate, rules, route=route, method=request.method, path=request.path
        )
        diffs = tuple(self.state.diff(before, after))
        return Outcome(request, route, legacy, candidate, result, state=diffs)

    async def _send(self, base: str, request: Recorded) -> Response | str:
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in request.headers]
        try:
            reply = await self.client.request(
                base, request.method, request.target, headers, request.body
            )
        except UpstreamError as exc:
            return f"{exc.kind}: {exc}"
        except (OSError, UnicodeError, ValueError) as exc:
            return f"protocol: {exc}"
        pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in reply.headers]
        return Response(reply.status, pairs, reply.body)


IDENTICAL = Comparison(match=True)


def _identical(a: Response, b: Response, headers: tuple[str, ...]) -> bool:
    """Byte-identical answers (status, compared headers, body): no rule can tell them apart.

    Most answers of a good candidate are; this skips parsing and diffing them.
    """
    return (
        a.status == b.status
        and a.body == b.body
        and all(a.header(h) == b.header(h) for h in headers)
    )


def _failed(
    request: Recorded, route: str, legacy: Response | str, candidate: Response | str
) -> Outcome:
    """An error outcome naming each side that gave no answer (its error is a string)."""
    sides = (("legacy", legacy), ("candidate", candidate))
    error = "; ".join(f"{side}: {r}" for side, r in sides if isinstance(r, str))
    return Outcome(request, route, _ok(legacy), _ok(candidate), error=error)


def _ok(value: Response | str) -> Response | None:
    return value if isinstance(value, Response) else None
