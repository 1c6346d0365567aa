"""The shadow mirror in its own process, so the router's event loop only hands off.

Sending the mirrored request, reading the shadow's reply, comparing and storing cost
the router ~0.4 ms of CPU per mirrored request on its one event-loop thread (and GIL),
which delayed the next client request. `ProcessMirror` (the router's `plane.mirror`)
instead writes each mirrored request and the primary response as one frame (4-byte
length + pickle) to a Unix socket, on the loop turn after the client's response; a
child process (`python -m router.mirrorproc`) reads the frames and runs a `Mirror`
(router/shadow.py): bounded concurrency with drop counting, timeout, its own connection
pool, comparison and storage in the comparison store. The child is started when a table
with a shadow route is published (or by the first hand-off), so a router that never
shadows never pays for it.

Counters: the child owns `strangler_shadow_total`, `..._comparisons_total` and
`..._dropped_total`. When /metrics or /shadow/summary is read, the parent sends a stats
request down the same socket (so it is answered after every earlier hand-off) and the
child answers on a second socket. Frames that do not fit in the socket plus a bounded
backlog (the child is stuck or gone) are dropped and counted in the parent.

Lifecycle: closing the hand-off socket (router stop) makes the child finish the mirrors
in flight (each bounded by the shadow timeout), flush the store and exit; the child also
sees end-of-file if the router dies, so it never outlives it. SIGINT is ignored in the
child (a terminal's Ctrl-C reaches the router, which stops it); SIGTERM stops it the same
way. Each `--workers` process runs its own mirror process.

The child runs at nice 10 (`MIRROR_NICE`): on a busy machine the router and the upstreams
answering clients get the CPU first. Measured on 2 cores at 1 connection, the client p50
in shadow mode was 1.20-1.23x that of monolith mode with the child at normal priority
(no better than mirroring in the router's own loop: the same work then competes for the
same cores) and 1.13x with it at nice 10.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections import defaultdict
from typing import Any

from parity import Rules, load_rules
from router.client import Reply
from router.config import RouterConfig
from router.metrics import Metrics
from router.shadow import Headers, Job
from router.table import Decision, RouteTable

log = logging.getLogger(__name__)
_LEN = struct.Struct("!I")
# The mirror is best-effort background work: on a busy machine the router (and the
# upstreams that answer clients) get the CPU first; mirrors that fall behind are dropped
# and counted like any other overflow.
MIRROR_NICE = 10
BACKLOG_LIMIT = 4 << 20  # bytes of frames waiting for the child before we drop
SHADOW_METRICS = (
    "strangler_shadow_total",
    "strangler_shadow_comparisons_total",
    "strangler_shadow_dropped_total",
)
_rr = itertools.count()


class ProcessMirror:
    """The router side: hand mirrors to the child process; fetch its counters on demand."""

    def __init__(self, metrics: Metrics, config: RouterConfig) -> None:
        """Use `config`'s store and shadow_* settings; counters go to `metrics`."""
        self.metrics = metrics
        self.timeout = config.shadow_timeout
        self.settings = {
            "store": config.store,
            "concurrency": config.shadow_concurrency,
            "timeout": config.shadow_timeout,
            "headers": list(config.shadow_headers),
            "ignore": list(config.shadow_ignore),
            "rules": config.shadow_rules,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self._hand: socket.socket | None = None  # frames to the child (non-blocking)
        self._back: socket.socket | None = None  # stats from the child (blocking)
        self._backlog = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._lock = threading.Lock()  # one stats exchange at a time
        self._spawn_lock = threading.Lock()
        self._seq = 0
        self._stats: dict[str, Any] = {"dropped": 0, "in_flight": 0}
        self._lost: dict[str, int] = defaultdict(int)  # dropped here, by route
        self._closed = False
        metrics.before_render.append(self.sync)

    # -- the event loop's side ----------------------------------------------------------

    def submit(
        self,
        table: RouteTable,
        method: str,
        target: str,
        headers: Headers,
        body: bytes,
        decision: Decision,
        primary: Reply,
        request_id: str,
    ) -> bool:
        """Schedule one mirror on a later loop turn; False if no such shadow upstream.

        Later: the client's response is written first (mitmproxy runs new tasks eagerly,
        which would send the mirror before the response).
        """
        upstream = table.upstream(decision.shadow or "")
        if upstream is None:
            return False
        url = upstream.urls[next(_rr) % len(upstream.urls)]
        legacy = table.upstream(decision.target)  # asked again to learn noise
        legacy_url = legacy.urls[0] if legacy is not None and legacy.urls else ""
        shadow_headers = [*headers, (b"x-strangler-shadow", b"1")]
        job = Job(
            url, method, target, shadow_headers, body, decision.route, primary, request_id,
            legacy_url,
        )  # fmt: skip
        asyncio.get_running_loop().call_soon(self.hand_over, job)
        return True

    def hand_over(self, job: Job) -> None:
        """Send one job to the child (on the loop turn after the client's response)."""
        p = job.primary
        item = ("m", *job[:6], p.status, p.headers, p.body, job.request_id, job.legacy_url)
        if not self._write(pickle.dumps(item, protocol=5)):
            self._lost[job.route] += 1
            self.metrics.inc("strangler_shadow_dropped_total", route=job.route)

    def _write(self, data: bytes) -> bool:
        """Queue one frame for the child (loop thread only); False if it was dropped."""
        if self._closed:
            return False
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._loop_thread = threading.get_ident()
        if self._hand is None:
            self.prepare()
        assert self._hand is not None
        frame = _LEN.pack(len(data)) + data
        if self._backlog:
            if len(self._backlog) + len(frame) > BACKLOG_LIMIT:
                return False
            self._backlog += frame
            return True
        try:
            sent = self._hand.send(frame)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._closed = True  # the child is gone
            return False
        if sent < len(frame):
            self._backlog += frame[sent:]
            asyncio.get_running_loop().add_writer(self._hand.fileno(), self._flush)
        return True

    def _flush(self) -> None:
        assert self._hand is not None
        try:
            sent = self._hand.send(self._backlog)
        except BlockingIOError:
            return
        except OSError:
            sent = len(self._backlog)
            self._closed = True
        del self._backlog[:sent]
        if not self._backlog:
            asyncio.get_running_loop().remove_writer(self._hand.fileno())

    def prepare(self) -> None:
        """Start the child process if it is not running yet (any thread)."""
        with self._spawn_lock:
            if self._hand is None and not self._closed:
                self._spawn()

    def _spawn(self) -> None:
        hand, child_hand = socket.socketpair()
        back, child_back = socket.socketpair()
        for s in (hand, child_hand):  # room for bursts of frames
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        fds = (child_hand.fileno(), child_back.fileno())
        cmd = [sys.executable, "-m", "router.mirrorproc", *map(str, fds)]
        cmd.append(json.dumps(self.settings))
        self.proc = subprocess.Popen(cmd, pass_fds=fds, stdin=subprocess.DEVNULL)
        child_hand.close()
        child_back.close()
        hand.setblocking(False)
        self._hand, self._back = hand, back

    # -- any thread: counters -----------------------------------------------------------

    def sync(self, timeout: float = 2.0) -> None:
        """Fetch the child's counters into our Metrics (not from the loop thread)."""
        loop = self._loop
        if self._hand is None or self._closed or loop is None or loop.is_closed():
            return
        if threading.get_ident() == self._loop_thread:
            return  # would wait on ourselves; the last counters stay
        with self._lock:
            assert self._back is not None
            self._seq += 1
            seq = self._seq
            data = pickle.dumps(("s", seq), protocol=5)
            try:
                loop.call_soon_threadsafe(self._write, data)
            except RuntimeError:  # the loop has stopped
                return
            self._back.settimeout(timeout)
            try:
                while True:
                    stats = _read_frame(self._back)
                    if stats is None or stats["seq"] == seq:
                        break
            except (TimeoutError, OSError):
                return
        if stats is not None:
            self._apply(stats)

    def _apply(self, stats: dict[str, Any]) -> None:
        self._stats = stats
        for name, labels, value in stats["metrics"]:
            if name == "strangler_shadow_dropped_total":
                value += self._lost.get(labels.get("route", ""), 0)
            self.metrics.set(name, value, **labels)

    def learned_noise(self) -> dict[str, Any]:
        """Per route: legacy pairs compared and the fields learned as noise (last sync)."""
        return dict(self._stats.get("noise", {}))

    def counts(self) -> tuple[int, int]:
        """(mirrors dropped so far, mirrors in flight), from one stats exchange."""
        self.sync()
        return int(self._stats["dropped"]) + sum(self._lost.values()), int(self._stats["in_flight"])

    # -- shutdown -----------------------------------------------------------------------

    def close(self) -> None:
        """Let the child finish what it has (bounded by the timeout), then reap it."""
        self._closed = True
        if self._hand is not None:
            with contextlib.suppress(OSError):
                self._hand.setblocking(True)
                self._hand.settimeout(1.0)
                if self._backlog:
                    self._hand.sendall(self._backlog)
            self._hand.close()
        if self.proc is not None:
            try:
                self.proc.wait(self.timeout + 5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._back is not None:
            self._back.close()


def _read_frame(sock: socket.socket) -> Any:
    head = _recv_exactly(sock, _LEN.size)
    if head is None:
        return None
    body = _recv_exactly(sock, _LEN.unpack(head)[0])
    return None if body is None else pickle.loads(body)


def _recv_exactly(sock: socket.socket, n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = sock.recv(n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


# -- the child ------------------------------------------------------------------------


async def _serve(hand_fd: int, back_fd: int, settings: dict[str, Any]) -> None:
    from router.comparisons import ComparisonStore
    from router.shadow import Mirror

    metrics = Metrics()
    store = ComparisonStore(settings["store"])
    mirror = Mirror(
        metrics, store, settings["concurrency"], settings["timeout"], shadow_rules(settings)
    )
    back = socket.socket(fileno=back_fd)
    reader, writer = await asyncio.open_connection(sock=socket.socket(fileno=hand_fd))
    # SIGTERM: finish the frames already read, as if the router had closed the socket
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, reader.feed_eof)
    try:
        while True:
            try:
                head = await reader.readexactly(_LEN.size)
                item = pickle.loads(await reader.readexactly(_LEN.unpack(head)[0]))
            except asyncio.IncompleteReadError:
                break  # the router closed the socket (stop) or died
            if item[0] == "m":
                primary = Reply(item[7], item[8], item[9])
                url, method, target, headers, body, route = item[1:7]
                job = Job(url, method, target, headers, body, route, primary, *item[10:12])
                mirror.launch(job)
            elif item[0] == "s":
                stats = {
                    "seq": item[1],
                    "dropped": mirror.dropped,
                    "in_flight": mirror.in_flight,
                    "metrics": metrics.snapshot(SHADOW_METRICS),
                    "noise": mirror.noise.stats(),
                }
                data = pickle.dumps(stats, protocol=5)
                with contextlib.suppress(OSError):
                    back.sendall(_LEN.pack(len(data)) + data)
    finally:
        await mirror.drain()
        mirror.close()
        store.close()
        writer.close()
        back.close()


def shadow_rules(settings: dict[str, Any]) -> Rules:
    """The rules file (if any) with `shadow_ignore` and `shadow_headers` added to its defaults."""
    rules = load_rules(settings["rules"]) if settings.get("rules") else Rules()
    return rules.extend(ignore=tuple(settings["ignore"]), headers=tuple(settings["headers"]))


def main(argv: list[str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the router decides when we stop
    os.nice(MIRROR_NICE)
    hand_fd, back_fd, settings = int(argv[0]), int(argv[1]), json.loads(argv[2])
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_serve(hand_fd, back_fd, settings))
    os._exit(0)  # no interpreter teardown work: everything is flushed and closed


if __name__ == "__main__":
    main(sys.argv[1:])
