"""The data plane's request path, independent of mitmproxy: decide, forward, fall back.

`DataPlane.handle` takes a plain request and returns a plain response. The table it
routes with is read once at the start, so a request finishes on the table it started
with even when a new version is published meanwhile (publishing is one reference swap).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from router import forward
from router.breaker import STATE_VALUE, Breaker
from router.client import BodyStream, Client, Reply, UpstreamError
from router.config import RouterConfig
from router.health import HealthBook
from router.metrics import Metrics
from router.table import SAFE, Decision, Request, RouteTable, Upstream, decide

if TYPE_CHECKING:
    from router.mirrorproc import ProcessMirror

log = logging.getLogger(__name__)
Headers = list[tuple[bytes, bytes]]
RETRY_STATUSES = frozenset({502, 503, 504})
HOLD_POLL_S = 0.005  # a held write sees the releasing table within this
HELD_HEADER = b"x-strangler-held-ms"
IN_FLIGHT = "strangler_writes_in_flight"
ROUTER_ERRORS = "strangler_router_errors_total"


@dataclass(frozen=True)
class Incoming:
    method: str
    target: str  # path and query as received
    headers: Headers
    body: bytes
    client: str
    scheme: str = "http"


@dataclass(frozen=True)
class Outgoing:
    status: int
    headers: Headers
    body: bytes
    decision: Decision
    served_by: str  # upstream name, or "router" for our own error responses
    request_id: str = ""
    fell_back: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    stream: BodyStream | None = None  # a large body still to be relayed (body is b"")


class Unavailable(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


class DataPlane:
    """Routes requests with the current table; shared by the mitmproxy addon and tests."""

    def __init__(
        self,
        config: RouterConfig,
        metrics: Metrics | None = None,
        health: HealthBook | None = None,
        client: Client | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.metrics = metrics or Metrics()
        self.health = health or HealthBook()
        self.client = client or Client(config.connect_timeout, config.read_timeout)
        self.clock = clock
        self.table = RouteTable()
        self._publish_lock = threading.Lock()
        self.breakers: dict[str, Breaker] = {}
        self._rr: dict[str, int] = {}
        self.mirror: ProcessMirror | None = None  # set by router.server

    def publish(self, table: RouteTable) -> None:
        """Swap in a new table (one reference assignment: atomic for readers).

        Versions only move forward, so a slow poller cannot reinstate an older table.
        """
        with self._publish_lock:  # the admin API and the store watcher both publish
            if table.version < self.table.version:
                return
            self.table = table
        self.metrics.set("strangler_table_version", table.version)
        if self.mirror is not None and any(r.mode == "shadow" for r in table.routes):
            self.mirror.prepare()

    async def handle(self, inc: Incoming) -> Outgoing:
        started = self.clock()
        lowered = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in inc.headers}
        request = Request(inc.method, inc.target, lowered, inc.client)
        headers, request_id = forward.request_headers(inc.headers, inc.client, inc.scheme)
        writing = inc.method.upper() not in SAFE  # a handover waits for these to finish
        table = self.table  # the table this request finishes on
        decision = decide(request, table)
        held = None
        while True:
            if decision.hold > 0:  # a write to a route being handed over: park it
                table, decision = await self._held(request, table, decision)
                held = self.clock() - started
            if not writing:
                break
            # Counted first, then checked: a table published (on another thread) after
            # this request read its table would otherwise show "new version, 0 in flight"
            # while this write, decided on the older table, is about to go out.
            self.metrics.inc(IN_FLIGHT, route=decision.route)
            if self.table is table:
                break
            self.metrics.inc(IN_FLIGHT, -1.0, route=decision.route)
            table = self.table
            decision = decide(request, table)
        try:  # from the count to here nothing can raise: the finally always uncounts
            out = await self._answer(inc, headers, request_id, decision, table)
        except Exception as exc:  # a router fault: answer it here, never pass the request on
            log.exception("request %s %s failed in the router", inc.method, inc.target)
            self.fault("handle")
            message = f"the router failed: {exc!r}"
            out = self._error(502, "router_error", message, decision, request_id)
        finally:
            if writing:
                self.metrics.inc(IN_FLIGHT, -1.0, route=decision.route)
        if held is not None:  # how long the write waited, for the handover's figures
            tag = (HELD_HEADER, str(round(held * 1000, 1)).encode())
            out = dataclasses.replace(out, headers=[*out.headers, tag])
        # The target's latency starts when the router lets the request go: time held for a
        # handover is the router's (reported in X-Strangler-Held-Ms), not the service's,
        # and the promotion gate compares targets by this histogram.
        self.count(decision, out, self.clock() - started - (held or 0.0))
        return out

    def fault(self, stage: str) -> None:
        """Count a fault in the router itself (answered 502 router_error, or ignored)."""
        self.metrics.inc(ROUTER_ERRORS, stage=stage)

    async def _held(
        self, request: Request, table: RouteTable, decision: Decision
    ) -> tuple[RouteTable, Decision]:
        """Wait until a published table lifts the hold, or the hold times out.

        Either way the request goes where the table current at release says.
        """
        deadline = self.clock() + decision.hold
        while self.clock() < deadline:
            await asyncio.sleep(HOLD_POLL_S)
            if self.table is not table:
                table = self.table
                decision = decide(request, table)
                if decision.hold == 0:
                    return table, decision
        return self.table, dataclasses.replace(decide(request, self.table), hold=0.0)

    async def _answer(
        self, inc: Incoming, headers: Headers, request_id: str, d: Decision, table: RouteTable
    ) -> Outgoing:
        refused = self.check_head(inc, d, request_id)
        if refused is not None:
            return refused
        try:
            reply = await self._send(table, d.target, inc, headers)
            if d.fallback and d.fallback != d.target and reply.status in RETRY_STATUSES:
                if reply.stream is not None:
                    reply.stream.close()
                raise Unavailable(reply.status, "upstream_status", f"status {reply.status}")
        except Unavailable as failure:
            if d.fallback and d.fallback != d.target:
                return await self._fall_back(inc, headers, request_id, d, table, failure)
            return self._error(failure.status, failure.code, str(failure), d, request_id)
        if d.shadow and self.mirror is not None and reply.stream is not None:
            self.metrics.inc("strangler_shadow_skipped_total", route=d.route, reason="streamed")
        elif d.shadow and self.mirror is not None:
            try:  # the upstream has answered (a write was applied): the mirror cannot change it
                self.mirror.submit(
                    table, inc.method, inc.target, headers, inc.body, d, reply, request_id
                )
            except Exception:
                log.exception("mirroring %s %s failed", inc.method, inc.target)
                self.fault("mirror")
        return self._replied(reply, d, d.target, request_id, inc.method)

    def _replied(
        self, reply: Reply, d: Decision, target: str, request_id: str, method: str
    ) -> Outgoing:
        """`_reply`, closing a streamed body if that fails (else its connection leaks)."""
        try:
            return self._reply(reply, d, target, request_id, method)
        except BaseException:
            if reply.stream is not None:
                reply.stream.close()
            raise

    async def _fall_back(
        self,
        inc: Incoming,
        headers: Headers,
        request_id: str,
        d: Decision,
        table: RouteTable,
        failure: Unavailable,
    ) -> Outgoing:
        assert d.fallback is not None
        self.metrics.inc("strangler_fallbacks_total", route=d.route, target=d.target)
        try:
            reply = await self._send(table, d.fallback, inc, headers)
        except Unavailable as second:
            message = f"{failure}; fallback: {second}"
            return self._error(second.status, second.code, message, d, request_id)
        out = self._replied(reply, d, d.fallback, request_id, inc.method)
        return dataclasses.replace(out, fell_back=True)

    def admit(self, table: RouteTable, name: str) -> tuple[Upstream, str]:
        """Check the upstream is registered, healthy and its breaker allows; pick a URL."""
        upstream = table.upstream(name)
        if upstream is None:
            raise Unavailable(503, "unknown_upstream", f"upstream {name!r} is not registered")
        breaker = self._breaker(upstream)
        allowed, breaker = breaker.allow(self.clock())
        self._set_breaker(name, breaker)
        if not allowed:
            raise Unavailable(503, "circuit_open", f"upstream {name!r}: circuit breaker open")
        if not self.health.healthy(upstream) and breaker.state == "closed":
            raise Unavailable(503, "unhealthy", f"upstream {name!r} fails its health check")
        return upstream, self._pick(upstream)

    def record(self, upstream: Upstream, status: int | None, kind: str = "") -> None:
        """Feed the outcome of one upstream exchange to the breaker and the metrics."""
        if status is None:
            self.metrics.inc("strangler_upstream_errors_total", target=upstream.name, kind=kind)
        failed = status is None or status >= 500
        b = self._breaker(upstream)
        self._set_breaker(
            upstream.name, b.failure(self.clock()) if failed else b.success(self.clock())
        )

    async def _send(self, table: RouteTable, name: str, inc: Incoming, headers: Headers) -> Reply:
        upstream, url = self.admit(table, name)
        try:
            reply = await self.client.request(
                url,
                inc.method,
                inc.target,
                headers,
                inc.body,
                stream_over=self.config.response_stream_threshold,
            )
        except UpstreamError as exc:
            self.record(upstream, None, exc.kind)
            raise Unavailable(502, f"upstream_{exc.kind}", f"upstream {name!r}: {exc}") from None
        self.record(upstream, reply.status)
        return reply

    def _breaker(self, upstream: Upstream) -> Breaker:
        b = self.breakers.get(upstream.name)
        settings = (upstream.breaker_failures, upstream.breaker_window, upstream.breaker_cooldown)
        if b is None or (b.failures, b.window, b.cooldown) != settings:
            b = Breaker(*settings)
        return b

    def _set_breaker(self, name: str, breaker: Breaker) -> None:
        if self.breakers.get(name) != breaker:
            self.breakers[name] = breaker
            self.metrics.set("strangler_breaker_state", STATE_VALUE[breaker.state], upstream=name)

    def _pick(self, upstream: Upstream) -> str:
        urls = [u for u in upstream.urls if self.health.url_ok(u)] or list(upstream.urls)
        n = self._rr.get(upstream.name, 0)
        self._rr[upstream.name] = n + 1
        return urls[n % len(urls)]

    def _tags(self, d: Decision, target: str) -> Headers:
        tags: Headers = []
        if self.config.route_header:
            tags.append((self.config.route_header.encode(), d.route.encode()))
        if self.config.target_header:
            tags.append((self.config.target_header.encode(), target.encode()))
        return tags

    def _reply(
        self, reply: Reply, d: Decision, target: str, request_id: str, method: str
    ) -> Outgoing:
        tags = [*self._tags(d, target), (b"x-request-id", request_id.encode())]
        bodiless = method == "HEAD" or reply.status in (204, 304) or reply.status < 200
        length = None if bodiless or reply.stream is not None else len(reply.body)
        headers = forward.response_headers(reply.headers, length, tags)
        return Outgoing(
            reply.status, headers, reply.body, d, target, request_id, stream=reply.stream
        )

    def error(self, status: int, code: str, message: str, d: Decision, rid: str) -> Outgoing:
        """Build the router's own JSON error response, tagged like any other."""
        return self._error(status, code, message, d, rid)

    def check_head(self, inc: Incoming, d: Decision, request_id: str) -> Outgoing | None:
        """Refuse a request whose target is not a path or whose headers are too large."""
        if not (inc.target.startswith("/") or (inc.target == "*" and inc.method == "OPTIONS")):
            return self._error(400, "bad_target", "request target must be a path", d, request_id)
        size = sum(len(k) + len(v) for k, v in inc.headers)
        if size > self.config.max_header_bytes:
            message = f"request headers are {size} bytes; limit {self.config.max_header_bytes}"
            return self._error(431, "headers_too_large", message, d, request_id)
        return None

    def count(self, d: Decision, out: Outgoing, elapsed: float) -> None:
        route, target, code = d.route, out.served_by, f"{out.status // 100}xx"
        self.metrics.inc("strangler_requests_total", route=route, target=target, code=code)
        self.metrics.observe(elapsed, route=route, target=target)

    def _error(self, status: int, code: str, message: str, d: Decision, rid: str) -> Outgoing:
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        base = [(b"content-type", b"application/json")]
        tags = [*self._tags(d, "router"), (b"x-request-id", rid.encode())]
        return Outgoing(
            status, forward.response_headers(base, len(body), tags), body, d, "router", rid
        )
