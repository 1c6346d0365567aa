"""Large responses are relayed to the client unbuffered, with bounded router memory."""

from __future__ import annotations

import hashlib
import http.client
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from router.client import BodyStream
from tests.router.conftest import Admin, Proxy

MIB = 1 << 20
PIECE = 64 * 1024


def pieces(total: int) -> Iterator[bytes]:
    """A deterministic body generated 64 KiB at a time (never whole in memory)."""
    sent = 0
    n = 0
    while sent < total:
        size = min(PIECE, total - sent)
        yield bytes([n % 251]) * size
        sent += size
        n += 1


def digest(total: int) -> str:
    h = hashlib.sha256()
    for p in pieces(total):
        h.update(p)
    return h.hexdigest()


class _BigHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        """GET .../KIND/SIZE; anything else (the health check) gets an empty body."""
        kind, size = ["", "", *self.path.strip("/").split("/")][-2:]
        total = int(size) if size.isdigit() else 0
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if kind == "sized":
            self.send_header("Content-Length", str(total))
        elif kind == "truncated":
            self.send_header("Content-Length", str(total * 4))
        elif kind == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        else:  # "close": the body ends when the connection does
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        for p in pieces(total):
            if kind == "chunked":
                self.wfile.write(b"%x\r\n%s\r\n" % (len(p), p))
            else:
                self.wfile.write(p)
        if kind == "chunked":
            self.wfile.write(b"0\r\n\r\n")
        if kind == "truncated":
            self.close_connection = True


@pytest.fixture
def big_upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BigHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def rss() -> int:
    with open("/proc/self/status") as f:
        line = next(x for x in f if x.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


class PeakRss:
    """Sample this process's RSS (router, upstream and client all live here)."""

    def __enter__(self) -> PeakRss:
        self.base = rss()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.base


def fetch(router_url: str, path: str) -> tuple[http.client.HTTPResponse, str, int]:
    host, port = router_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("GET", path)
    r = conn.getresponse()
    h = hashlib.sha256()
    n = 0
    while data := r.read(PIECE):
        h.update(data)
        n += len(data)
    conn.close()
    return r, h.hexdigest(), n


def route_to(router: Any, url: str) -> None:
    admin = Admin(router.admin_url)
    assert admin.call("PUT", "/upstreams/big", {"urls": [url]})[0] == 200
    body = {"id": "big", "path": "/big/**", "target": "big", "mode": "service"}
    status, reply = admin.call("POST", "/routes", body)
    assert status == 201, reply


@pytest.mark.parametrize("kind", ["sized", "chunked", "close"])
def test_a_20_mib_response_reaches_the_client_exactly_without_buffering(
    kind, upstream, start_router, big_upstream
) -> None:
    router = start_router(upstream("monolith").url)
    route_to(router, big_upstream + "/big")
    fetch(router.proxy_url, f"/big/{kind}/{2 * MIB}")  # warm up pools and the relay
    total = 20 * MIB
    with PeakRss() as mem:
        r, got, n = fetch(router.proxy_url, f"/big/{kind}/{total}")
    assert r.status == 200 and n == total and got == digest(total)
    assert r.getheader("X-Strangler-Target") == "big"
    if kind == "sized":
        assert r.getheader("Content-Length") == str(total)
    # loose bound: buffering would add at least the body (20 MiB), often twice
    assert mem.growth < 12 * MIB, f"RSS grew by {mem.growth / MIB:.1f} MiB"


def test_the_same_response_buffered_grows_memory_by_at_least_its_size(
    upstream, start_router, big_upstream
) -> None:
    # the counterpart of the bound above: with the threshold over the body, it is buffered
    router = start_router(upstream("monolith").url, response_stream_threshold=64 * MIB)
    route_to(router, big_upstream + "/big")
    fetch(router.proxy_url, f"/big/sized/{2 * MIB}")
    total = 20 * MIB
    with PeakRss() as mem:
        r, got, n = fetch(router.proxy_url, f"/big/sized/{total}")
    assert r.status == 200 and n == total and got == digest(total)
    assert mem.growth > total, f"RSS grew by {mem.growth / MIB:.1f} MiB only"


def test_small_responses_stay_buffered_and_the_connection_is_reused(
    upstream, start_router, big_upstream
) -> None:
    router = start_router(upstream("monolith").url, response_stream_threshold=MIB)
    route_to(router, big_upstream + "/big")
    proxy = Proxy(router.proxy_url)
    for size in (1000, 2 * MIB, 1000, 3 * MIB):
        status, headers, body = proxy.send("GET", f"/big/sized/{size}")
        assert status == 200 and len(body) == size
        assert headers["content-length"] == str(size)
    proxy.close()
    metrics = Admin(router.admin_url).call("GET", "/metrics")[1]
    assert 'strangler_streamed_responses_total{route="big"} 2' in metrics


def test_an_upstream_dying_mid_body_cuts_the_response_short_instead_of_hanging(
    upstream, start_router, big_upstream
) -> None:
    router = start_router(upstream("monolith").url)
    route_to(router, big_upstream + "/big")
    r, _, n = fetch(router.proxy_url, f"/big/truncated/{2 * MIB}")
    # the upstream announced 8 MiB and sent 2: the client sees the connection end early
    assert r.getheader("Content-Length") == str(8 * MIB) and n < 8 * MIB
    _, _, n = fetch(router.proxy_url, f"/big/sized/{2 * MIB}")
    assert n == 2 * MIB  # the router keeps serving


def test_shadow_route_streams_a_large_primary_and_counts_the_skipped_mirror(
    upstream, start_router, big_upstream
) -> None:
    router = start_router(big_upstream + "/big")  # the monolith sends the large bodies
    catalog = upstream("catalog")
    admin = Admin(router.admin_url)
    admin.call("PUT", "/upstreams/catalog", {"urls": [catalog.url]})
    body = {"id": "big", "path": "/sized/**", "target": "catalog", "mode": "shadow"}
    assert admin.call("POST", "/routes", body)[0] == 201
    _, got, n = fetch(router.proxy_url, f"/sized/{4 * MIB}")
    assert n == 4 * MIB and got == digest(4 * MIB)
    metrics = admin.call("GET", "/metrics")[1]
    assert 'strangler_shadow_skipped_total{reason="streamed",route="big"} 1' in metrics
    time.sleep(0.1)
    assert catalog.requests == []


def test_a_fault_handing_a_large_response_to_the_relay_answers_502_and_closes_it(
    upstream, start_router, big_upstream, monkeypatch
) -> None:
    mono = upstream("monolith")
    router = start_router(mono.url)
    route_to(router, big_upstream + "/big")
    addon = router._master.addons.get("strangleraddon")
    closed: list[bool] = []
    real_close = BodyStream.close

    def close(self: BodyStream) -> None:
        closed.append(True)
        real_close(self)

    def broken(*args: Any) -> str:
        raise RuntimeError("relay fault")

    monkeypatch.setattr(BodyStream, "close", close)
    monkeypatch.setattr(addon.relay, "register", broken)
    status, headers, body = Proxy(router.proxy_url).send("GET", "/big/sized/3000000")
    assert (status, body["error"]["code"]) == (502, "router_error")
    assert headers["x-strangler-target"] == "router" and mono.requests == []
    assert closed  # the upstream connection holding the body is not left open
