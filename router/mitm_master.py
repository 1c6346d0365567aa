"""mitmproxy's master for the router: reverse mode with only the addons it needs.

`build_master` runs mitmproxy in reverse-proxy mode with just the proxy server and layer
selection (not mitmdump's ~30 default addons) and a leaner hook path than mitmproxy's
generic one: handlers looked up once per hook name, and the hooks that await nothing
(all but `request`) answered inline instead of as a task each. With uvloop
(router/server.py), one send per response and without mitmproxy's debug-only type check
of message fields, that took the router's CPU per request from ~0.85 ms to ~0.52 ms
(stock mitmdump: ~1.35 ms). The addon itself is router/addon.py.
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

from router.addon import StranglerAddon

log = logging.getLogger(__name__)


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
