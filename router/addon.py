"""The mitmproxy side of the data plane: the only module that imports mitmproxy.

`StranglerAddon.request` turns a flow into a plain request, lets the DataPlane decide
and forward it, and sets `flow.response`, so mitmproxy itself never connects upstream:
only the DataPlane's client does, and only to registered upstream URLs. `build_master`
runs mitmproxy in reverse-proxy mode with just the addons this needs (the proxy server
and layer selection), not mitmdump's ~30 default addons, and with a leaner hook path
than mitmproxy's generic one: handlers looked up once per hook name, and the hooks
that await nothing (all but `request`) answered inline instead of as a task each.
With uvloop (router/server.py), one send per response and without mitmproxy's
debug-only type check of message fields, that took the router's CPU per request from
~0.85 ms to ~0.52 ms (stock mitmdump: ~1.35 ms).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from mitmproxy import addonmanager, ctx, exceptions, hooks, http, options
from mitmproxy.addons import next_layer, proxyserver
from mitmproxy.master import Master
from mitmproxy.proxy import commands, events, layer, layers, mode_servers, mode_specs

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


def _no_type_check(self: Any) -> None:
    """Stand-in for mitmproxy's debug-only type check of message fields (see build_master)."""


class _LeanAddons(addonmanager.AddonManager):
    """Dispatch each lifecycle hook straight to the addons that implement it.

    mitmproxy's generic dispatch walks every addon (and its children) for every hook,
    and triggers an `update` hook after each flow hook. Our chain is fixed once the
    master runs and no addon in it implements `update`, so the handlers are looked up
    once per hook name.
    """

    def __init__(self, master: Any) -> None:
        super().__init__(master)
        self._handlers: dict[str, list[Callable[..., Any]]] = {}
        self._sync: dict[str, list[Callable[..., Any]] | None] = {}

    def add(self, *addons: Any) -> None:
        self._handlers.clear()
        self._sync.clear()
        super().add(*addons)

    def remove(self, addon: Any) -> None:
        self._handlers.clear()
        self._sync.clear()
        super().remove(addon)

    def _lookup(self, name: str) -> list[Callable[..., Any]]:
        handlers = self._handlers.get(name)
        if handlers is None:
            handlers = []
            for a in addonmanager.traverse(self.chain):
                func = getattr(a, name, None)
                if callable(func):
                    handlers.append(func)
            self._handlers[name] = handlers
        return handlers

    async def handle_lifecycle(self, event: hooks.Hook) -> None:
        args = event.args()
        for func in self._lookup(event.name):
            try:
                result = func(*args)
                if result is not None and inspect.isawaitable(result):
                    await result
            except exceptions.AddonHalt:
                return
            except exceptions.OptionsError:
                raise
            except Exception as exc:
                log.error(f"Addon error: {exc}", exc_info=True)
        if self._lookup("update"):
            await super().trigger_event(hooks.UpdateHook(args))

    def inline(self, name: str) -> list[Callable[..., Any]] | None:
        """The handlers of a hook if all are synchronous (so it can run inline), else None."""
        if name not in self._sync:
            handlers = self._lookup(name)
            coroutines = any(inspect.iscoroutinefunction(f) for f in handlers)
            self._sync[name] = None if coroutines else handlers
        return self._sync[name]

    def run_inline(self, handlers: list[Callable[..., Any]], args: list[Any]) -> None:
        for func in handlers:
            try:
                func(*args)
            except exceptions.AddonHalt:
                return
            except Exception as exc:
                log.error(f"Addon error: {exc}", exc_info=True)


# flow hooks answered inline when every handler is synchronous (none awaits anything)
_INLINE = frozenset({"requestheaders", "responseheaders", "response", "error"})


class _InlineHooks:
    """The connection's top layer, with synchronous flow hooks answered inline.

    mitmproxy runs every blocking hook as its own task and feeds its completion back
    through the connection handler later: a task, a lock and a layer pass per hook,
    four hooks per request. A hook whose handlers are all plain functions needs none
    of that: run them now and hand the layer its HookCompleted at once. (Our addons
    never intercept a flow, so there is nothing to wait for.)

    Consecutive writes to one peer are merged into one, so a response's head and body
    leave in one send instead of two; the bytes and their order are unchanged.
    """

    def __init__(self, top: layer.Layer, addons: _LeanAddons) -> None:
        self._top = top
        self._addons = addons

    def __getattr__(self, name: str) -> Any:
        return getattr(self._top, name)

    def handle_event(self, event: events.Event) -> Iterator[commands.Command]:
        pending = deque([event])
        write: commands.SendData | None = None  # consecutive writes to one peer, merged
        while pending:
            for command in self._top.handle_event(pending.popleft()):
                if type(command) is commands.SendData:
                    if write is not None and write.connection is command.connection:
                        write = commands.SendData(write.connection, write.data + command.data)
                        continue
                    if write is not None:
                        yield write
                    write = command
                    continue
                if write is not None:
                    yield write
                    write = None
                if isinstance(command, commands.StartHook) and command.name in _INLINE:
                    handlers = self._addons.inline(command.name)
                    if handlers is not None:
                        self._addons.run_inline(handlers, command.args())
                        pending.append(events.HookCompleted(command))
                        continue
                yield command
        if write is not None:
            yield write


class StranglerMode(mode_specs.ReverseMode):
    """mitmproxy's reverse mode, served by `_StranglerInstance` (spec `strangler:URL`).

    A mode of our own is how mitmproxy lets a program choose its server: modes register
    by type name, so the built-in reverse-mode server cannot be replaced, only joined.
    """


class StranglerSharedMode(mode_specs.ReverseMode):
    """The same on a port shared with other worker processes (SO_REUSEPORT)."""


class _StranglerInstance(mode_servers.AsyncioServerInstance[StranglerMode]):
    """Serve reverse mode with the inline hooks (and SO_REUSEPORT for the shared mode).

    mitmproxy 11.0.2 has no reuse-port option and its server takes no pre-bound socket,
    so `listen` makes the `asyncio.start_server` call itself when the port is shared.
    """

    reuse_port = False

    def make_top_layer(self, context: Any) -> layer.Layer:
        # mitmproxy's handle_stream installs this as the connection's top layer.
        top = layers.modes.ReverseProxy(context)
        return _InlineHooks(top, ctx.master.addons)  # type: ignore[arg-type,return-value]

    async def listen(self, host: str, port: int) -> list[Any]:
        if not self.reuse_port:
            return await super().listen(host, port)
        return [await asyncio.start_server(self.handle_stream, host, port, reuse_port=True)]


class _StranglerSharedInstance(mode_servers.AsyncioServerInstance[StranglerSharedMode]):
    reuse_port = True
    make_top_layer = _StranglerInstance.make_top_layer
    listen = _StranglerInstance.listen


class _Master(Master):
    """mitmproxy's master with the lean hook dispatch."""

    def __init__(self, opts: options.Options) -> None:
        super().__init__(opts)
        opts.changed.disconnect(self.addons._configure_all)
        self.addons = _LeanAddons(self)


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
    kernel spreads connections).

    In this process, mitmproxy's check of every request's and response's field types
    against their annotations is skipped, as `python -O` would skip it: it is a debug
    aid (defined only when `__debug__`) and cost about 12 % of the router's CPU per
    request. The objects are built by mitmproxy's HTTP/1 parser and by our addon.
    """
    if "__post_init__" in vars(http.MessageData):
        http.MessageData.__post_init__ = _no_type_check  # type: ignore[method-assign]
    mode = StranglerSharedMode if reuse_port else StranglerMode
    opts = options.Options(
        mode=[f"{mode.type_name}:{placeholder}"],
        listen_host=listen_host,
        listen_port=listen_port,
    )
    master = _Master(opts)
    master.addons.add(proxyserver.Proxyserver(), next_layer.NextLayer(), addon)
    opts.update(connection_strategy="lazy", body_size_limit=max_body)
    return master
