"""The mitmproxy side of the data plane: the only module that imports mitmproxy.

`StranglerAddon.request` turns a flow into a plain request, lets the DataPlane decide
and forward it, and sets `flow.response`, so mitmproxy itself never connects upstream:
only the DataPlane's client does, and only to registered upstream URLs. `build_master`
runs mitmproxy in reverse-proxy mode with just the addons this needs (the proxy server
and layer selection), not mitmdump's ~30 default addons.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from mitmproxy import http, options
from mitmproxy.addons import next_layer, proxyserver
from mitmproxy.master import Master
from mitmproxy.proxy import mode_servers

from router import streaming
from router.dataplane import DataPlane, Incoming, Outgoing
from router.relay import LENGTH_HEADER, Relay

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

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        """Stream large or chunked request bodies instead of buffering them."""
        req = flow.request
        length = req.headers.get("content-length", "")
        chunked = "chunked" in req.headers.get("transfer-encoding", "").lower()
        large = length.isdigit() and int(length) > self.plane.config.stream_threshold
        if not (large or chunked):
            return
        incoming = self._incoming(flow, b"")
        plan = streaming.plan(self.plane, incoming)
        if plan is None:
            return
        if isinstance(plan, Outgoing):
            self._respond(flow, plan)
            return
        req.scheme, req.host, req.port = "http", plan.origin.host, plan.origin.port
        req.path = plan.origin.prefix + req.path
        req.headers = http.Headers(plan.headers)
        req.stream = True
        flow.metadata[_STREAM] = (plan, incoming, asyncio.get_running_loop().time())

    async def request(self, flow: http.HTTPFlow) -> None:
        if _STREAM in flow.metadata or flow.response is not None:
            return  # streamed by mitmproxy, or already answered in requestheaders
        loop = asyncio.get_running_loop()
        started = loop.time()
        incoming = self._incoming(flow, flow.request.raw_content or b"")
        out = await self.plane.handle(incoming)
        if out.stream is not None and self.relay.port:
            self._relay(flow, incoming, out, started)
            return
        if out.stream is not None:  # not running yet: cannot happen once serving
            out.stream.close()
        self._respond(flow, out)
        if self.after is not None:
            self.after(incoming, out, loop.time() - started)

    def _relay(self, flow: http.HTTPFlow, inc: Incoming, out: Outgoing, started: float) -> None:
        """Let mitmproxy fetch the large body from our loopback relay and stream it on."""
        assert out.stream is not None
        token = self.relay.register(out.status, out.headers, out.stream)
        flow.metadata["strangler"] = {"route": out.decision.route, "target": out.served_by}
        flow.metadata[_RELAY] = (token, inc, out, started)
        req = flow.request
        req.scheme, req.host, req.port = "http", "127.0.0.1", self.relay.port
        req.method, req.path = "GET", "/" + token
        req.headers = http.Headers([(b"host", f"127.0.0.1:{self.relay.port}".encode())])
        req.content = b""

    async def responseheaders(self, flow: http.HTTPFlow) -> None:
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

    async def response(self, flow: http.HTTPFlow) -> None:
        relayed = flow.metadata.pop(_RELAY, None)
        if relayed is not None:
            self._relayed(relayed)
        state = flow.metadata.pop(_STREAM, None)
        if state is not None and flow.response is not None:
            self._finish(state, flow.response.status_code, "")

    async def error(self, flow: http.HTTPFlow) -> None:
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


async def _listen_reuse_port(self: Any, host: str, port: int) -> list[asyncio.Server]:
    return [await asyncio.start_server(self.handle_stream, host, port, reuse_port=True)]


def build_master(
    addon: StranglerAddon,
    listen_host: str,
    listen_port: int,
    placeholder: str,
    max_body: str,
    reuse_port: bool = False,
) -> Master:
    """Return a master serving reverse-proxy mode with only the addons we need.

    `placeholder` is the reverse-mode destination mitmproxy requires; it is never
    contacted because the addon answers every request and connections are lazy.

    `reuse_port` lets several worker processes listen on one port (SO_REUSEPORT; the
    kernel spreads connections). mitmproxy 11.0.2 has no option for it and takes no
    pre-bound socket, so the reverse-mode server's `listen` is replaced, in this
    process only, by one passing `reuse_port=True` to `asyncio.start_server`.
    """
    if reuse_port:
        mode_servers.ReverseInstance.listen = _listen_reuse_port  # type: ignore[method-assign,assignment]
    opts = options.Options(
        mode=[f"reverse:{placeholder}"],
        listen_host=listen_host,
        listen_port=listen_port,
    )
    master = Master(opts)
    master.addons.add(proxyserver.Proxyserver(), next_layer.NextLayer(), addon)
    opts.update(connection_strategy="lazy", body_size_limit=max_body)
    return master
