"""Fixtures for the router tests: tiny real JSON upstreams and a running router."""

from __future__ import annotations

import http.client
import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from router.config import RouterConfig
from router.server import RouterServer

TOKEN = "test-admin-token"


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _Quiet(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real app server

    def log_message(self, *args: Any) -> None:
        pass


def _read_chunked(stream: Any) -> bytes:
    parts = []
    while True:
        size = int(stream.readline().split(b";")[0], 16)
        if size == 0:
            while stream.readline() not in (b"\r\n", b""):
                pass
            return b"".join(parts)
        parts.append(stream.read(size))
        stream.readline()


class JsonUpstream:
    """A threaded WSGI server on 127.0.0.1 answering JSON that names itself."""

    def __init__(self, name: str, port: int = 0) -> None:
        self.name = name
        self.status = 200
        self.delay = 0.0
        self.healthy = True
        self.extra: dict[str, Any] = {}
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._port = port
        self.start()

    def app(self, environ: dict[str, Any], start: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", ""):
            body = _read_chunked(environ["wsgi.input"])  # wsgiref leaves this to the app
        path = environ["PATH_INFO"]
        query = environ.get("QUERY_STRING", "")
        headers = {
            k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")
        }
        if path == "/health":
            status = 200 if self.healthy else 503
            return self._send(start, status, {"status": "ok" if self.healthy else "down"})
        with self._lock:
            self.requests.append(
                {"method": environ["REQUEST_METHOD"], "path": path, "headers": headers}
            )
        if self.delay:
            time.sleep(self.delay)
        payload = {
            "served_by": self.name,
            "method": environ["REQUEST_METHOD"],
            "path": path,
            "query": query,
            "body": body.decode("utf-8", "replace"),
            "headers": headers,
            **self.extra,
        }
        return self._send(start, self.status, payload)

    def _send(self, start: Callable[..., Any], status: int, payload: Any) -> list[bytes]:
        data = json.dumps(payload).encode()
        start(
            f"{status} X",
            [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
        )
        return [data]

    def start(self) -> None:
        self.server = make_server("127.0.0.1", self._port, self.app, _Server, _Quiet)
        self._port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop answering (connections are refused) until start() again."""
        if not self.thread.is_alive():
            return
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"


@pytest.fixture
def upstream() -> Iterator[Callable[[str], JsonUpstream]]:
    made: list[JsonUpstream] = []

    def make(name: str) -> JsonUpstream:
        made.append(JsonUpstream(name))
        return made[-1]

    yield make
    for u in made:
        u.stop()


class Admin:
    """A minimal admin API client for tests (the CLI has its own)."""

    def __init__(self, url: str, token: str = TOKEN) -> None:
        self.url, self.token = url, token

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        host, port = self.url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        headers = {"X-Strangler-Actor": "pytest"}
        tok = self.token if token is None else token
        if tok:
            headers["Authorization"] = f"Bearer {tok}"
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        conn.close()
        kind = response.getheader("Content-Type", "")
        return response.status, json.loads(raw) if "json" in kind else raw.decode()


class Proxy:
    """Send requests through the router on one keep-alive connection."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=20)

    def send(
        self, method: str, path: str, body: bytes | None = None, **headers: str
    ) -> tuple[int, dict[str, str], Any]:
        hdrs = {k.replace("_", "-"): v for k, v in headers.items()}
        self.conn.request(method, path, body=body, headers=hdrs)
        r = self.conn.getresponse()
        raw = r.read()
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw
        return r.status, {k.lower(): v for k, v in r.getheaders()}, payload

    def close(self) -> None:
        self.conn.close()


def serve_routes(upstream: Any, start_router: Any, routes: list[dict[str, Any]]) -> tuple[Any, ...]:
    """Start a router in front of a `monolith` upstream with a `catalog` upstream and
    `routes` added through the admin API; return (monolith, catalog, router)."""
    mono, catalog = upstream("monolith"), upstream("catalog")
    router = start_router(mono.url)
    admin = Admin(router.admin_url)
    admin.call("PUT", "/upstreams/catalog", {"urls": [catalog.url]})
    for route in routes:
        assert admin.call("POST", "/routes", route)[0] == 201
    return mono, catalog, router


def routing_mismatches(
    via_router: Proxy, via_export: Proxy, corpus: list[tuple[str, str, dict[str, str]]]
) -> tuple[list[Any], list[Any]]:
    """Send each corpus request through the router and through an exported proxy; return
    the requests whose (served_by, route) differ, and the exported proxy's responses."""
    mismatches, responses = [], []
    for method, path, headers in corpus:
        body = b"{}" if method == "POST" else None
        a = via_router.send(method, path, body, **headers)
        b = via_export.send(method, path, body, **headers)
        got = (
            (a[2]["served_by"], a[1]["x-strangler-route"]),
            (b[2]["served_by"], b[1]["x-strangler-route"]),
        )
        if got[0] != got[1]:
            mismatches.append((method, path, headers, got))
        responses.append(b)
    return mismatches, responses


class Spawned:
    """A server process of ours (nginx, Envoy) listening on 127.0.0.1:`port`."""

    port: int
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def per_table(tmp_path: Any, name: str, make: Callable[[Any, Any], Any]) -> Iterator[Any]:
    """Yield a starter of servers built from a route table, each in its own folder; stop all."""
    made: list[Any] = []

    def start(table: Any) -> Any:
        workdir = tmp_path / f"{name}{len(made)}"
        workdir.mkdir()
        made.append(make(workdir, table))
        return made[-1]

    yield start
    for server in made:
        server.stop()


@pytest.fixture
def start_router(tmp_path) -> Iterator[Callable[..., RouterServer]]:
    started: list[RouterServer] = []

    def start(monolith: str, **overrides: Any) -> RouterServer:
        values = {
            "listen": "127.0.0.1:0",
            "admin": "127.0.0.1:0",
            "monolith": monolith,
            "store": f"sqlite:///{tmp_path}/routes.db",
            "access_log": str(tmp_path / "access.log"),
            "poll_interval": 0.01,
            **overrides,
        }
        server = RouterServer(RouterConfig(**values), token=TOKEN).start()
        started.append(server)
        return server

    yield start
    for s in started:
        s.stop()
