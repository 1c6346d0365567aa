"""The mitmproxy side of the data plane (with router/mitm_master.py, the only modules
that import mitmproxy).

`StranglerAddon.request` turns a flow into a plain request, lets the DataPlane decide
and forward it, and sets `flow.response`, so mitmproxy itself never connects upstream:
only the DataPlane's client does, and only to registered upstream URLs. The master that
runs it (reverse mode, lean hook dispatch) is built by router/mitm_master.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from mitmproxy import http

from router import streaming
from router.dataplane import DataPlane, Incoming, Outgoing
from router.relay import LENGTH_HEADER, Relay
from router.table import DEFAULT_ROUTE, MONOLITH, Decision

log = logging.getLogger(__name__)
_STREAM = "strangler_stream"
_RELAY = "strangler_relay"


class StranglerAddon:
    """Route every request through the DataPlane."""

    def __init__(
        self,
        plane: DataPlane,
        after: Callable[[Incoming, Outgoing, float], None] | None = None,
        on_running: Callable[[], object] | None = None,
    ) -> None:
        self.plane = plane
        self.after = after  # access log, capture: called after the response is ready
        self.on_running = on_running
        self.relay = Relay()

    async def running(self) -> None:
        await self.relay.start()
        if self.on_running is not None:
            result = self.on_running()
            if asyncio.iscoroutine(result):
                await result

    def _incoming(self, flow: http.HTTPFlow, body: bytes) -> Incoming:
        req = flow.request
        peer = flow.client_conn.peername
        return Incoming(
            method=req.method,
            target=req.path,
            headers=list(req.headers.fields),
            body=body,
            client=str(peer[0]) if peer else "",
            scheme="https" if flow.client_conn.tls_established else "http",
        )

    def _respond(self, flow: http.HTTPFlow, out: Outgoing) -> None:
        flow.metadata["strangler"] = {"route": out.decision.route, "target": out.served_by}
        flow.response = http.Response(
            b"HTTP/1.1",
            out.status,
            http.status_codes.RESPONSES.get(out.status, "").encode(),
            http.Headers(out.headers),
            out.body,
            None,
            flow.request.timestamp_start,
            None,
        )

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        """Stream large or chunked request bodies instead of buffering them."""
        try:
            self._requestheaders(flow)
        except Exception as exc:
            self._fault(flow, exc, "requestheaders")

    def _requestheaders(self, flow: http.HTTPFlow) -> None:
        req = flow.request
        large = chunked = False
        for name, value in req.headers.fields:
            name = name.lower()
            if name == b"content-length":
                large = value.isdigit() and int(value) > self.plane.config.stream_threshold
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
        if not (large or chunked):
            return
        incoming = self._incoming(flow, b"")
        plan = streaming.plan(self.plane, incoming)
        if plan is None:
            return
        if isinstance(plan, Outgoing):
            self._respond(flow, plan)
            return
        # stored first: from here on, exactly one of response, error or _fault finishes it
        flow.metadata[_STREAM] = (plan, incoming, asyncio.get_running_loop().time())
        req.scheme, req.host, req.port = "http", plan.origin.host, plan.origin.port
        req.path = plan.origin.prefix + req.path
        req.headers = http.Headers(plan.headers)
        req.stream = True

    async def request(self, flow: http.HTTPFlow) -> None:
        if _STREAM in flow.metadata or flow.response is not None:
            return  # streamed by mitmproxy, or already answered in requestheaders
        try:
            await self._request(flow)
        except Exception as exc:
            self._fault(flow, exc, "request")

    async def _request(self, flow: http.HTTPFlow) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        incoming = self._incoming(flow, flow.request.raw_content or b"")
        out = await self.plane.handle(incoming)
        if out.stream is not None and self.relay.port:
            try:
                self._relay(flow, incoming, out, started)
            except BaseException:
                out.stream.close()
                raise
            return
        if out.stream is not None:  # not running yet: cannot happen once serving
            out.stream.close()
        self._respond(flow, out)
        if self.after is not None:
            self.after(incoming, out, loop.time() - started)

    def _fault(self, flow: http.HTTPFlow, exc: Exception, stage: str) -> None:
        """A hook failed: answer a tagged 502 unless a response, stream or relay is set.

        Left unanswered, mitmproxy would send the flow on to its reverse-mode
        placeholder (the monolith): untagged, unrouted, past any handover hold.
        """
        req = flow.request
        log.exception("%s %s failed in the router (%s)", req.method, req.path, stage)
        self.plane.fault(stage)
        if flow.response is not None or _RELAY in flow.metadata:
            return  # answered, or relayed (a later step such as `after` failed)
        streamed = flow.metadata.pop(_STREAM, None)
        if streamed is not None:  # planned, but the request was not handed on: undo
            streaming.abandon(self.plane, streamed[0])
        fault = Decision(DEFAULT_ROUTE, "monolith", MONOLITH, reason="router fault")
        rid = req.headers.get("x-request-id", "")
        out = self.plane.error(502, "router_error", f"the router failed: {exc!r}", fault, rid)
        try:
            self._respond(flow, out)
        except Exception:
            log.exception("cannot build the router_error response")
            flow.response = http.Response.make(502, out.body, {"content-type": "application/json"})
        req.stream = False

    def _relay(self, flow: http.HTTPFlow, inc: Incoming, out: Outgoing, started: float) -> None:
        """Let mitmproxy fetch the large body from our loopback relay and stream it on."""
        assert out.stream is not None
        token = self.relay.register(out.status, out.headers, out.stream)
        try:
            req = flow.request
            req.scheme, req.host, req.port = "http", "127.0.0.1", self.relay.port
            req.method, req.path = "GET", "/" + token
            req.headers = http.Headers([(b"host", f"127.0.0.1:{self.relay.port}".encode())])
            req.content = b""
        except BaseException:
            self.relay.discard(token)
            raise
        flow.metadata["strangler"] = {"route": out.decision.route, "target": out.served_by}
        flow.metadata[_RELAY] = (token, inc, out, started)  # last: the relay is set

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if _RELAY in flow.metadata and flow.response is not None:
            headers = flow.response.headers
            length = headers.pop(LENGTH_HEADER, None)
            if length is not None:
                headers.pop("transfer-encoding", None)
                headers["content-length"] = length
            flow.response.stream = True
            return
        state = flow.metadata.get(_STREAM)
        if state is None or flow.response is None:
            return
        plan = state[0]
        flow.response.stream = True
        for name, value in streaming.tags(self.plane, plan):
            flow.response.headers[name.decode()] = value.decode()
        flow.metadata["strangler"] = {"route": plan.decision.route, "target": plan.upstream.name}

    def response(self, flow: http.HTTPFlow) -> None:
        relayed = flow.metadata.pop(_RELAY, None)
        if relayed is not None:
            self._relayed(relayed)
        state = flow.metadata.pop(_STREAM, None)
        if state is not None and flow.response is not None:
            self._finish(state, flow.response.status_code, "")

    def error(self, flow: http.HTTPFlow) -> None:
        relayed = flow.metadata.pop(_RELAY, None)
        if relayed is not None:
            self.relay.discard(relayed[0])
            self._relayed(relayed)
        state = flow.metadata.pop(_STREAM, None)
        if state is not None:
            self._finish(state, None, "protocol")

    def done(self) -> None:
        self.relay.close()

    def _relayed(self, state: tuple[Any, ...]) -> None:
        _, incoming, out, started = state
        self.plane.metrics.inc("strangler_streamed_responses_total", route=out.decision.route)
        if self.after is not None:
            self.after(incoming, out, asyncio.get_running_loop().time() - started)

    def _finish(self, state: tuple[Any, ...], status: int | None, kind: str) -> None:
        plan, incoming, started = state
        elapsed = asyncio.get_running_loop().time() - started
        out = streaming.finish(self.plane, plan, status, kind, elapsed)
        if self.after is not None:
            self.after(incoming, out, elapsed)
