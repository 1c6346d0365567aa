"""A keep-alive threaded WSGI upstream for the router benches.

It answers a small JSON response, or at /page/1k, /page/50k and /page/500k a
server-rendered HTML page of about that size (a forum's topic list).

Run as `python bench/router_upstream.py PORT`; serves until killed. The server side is
http.server's keep-alive loop (HTTP/1.1, and HTTP/1.0 with `Connection: keep-alive`, as
ApacheBench sends) calling a WSGI app; wsgiref and werkzeug's dev server close the
connection after each HTTP/1.0 request, which would measure connection setup instead.
"""

from __future__ import annotations

import io
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BODY = json.dumps({"id": 7, "name": "Widget", "price": 9.99, "tags": ["a", "b"]}).encode()


def html_page(size: int) -> bytes:
    """A topic-list page of `size` bytes: rows of links, user names and dates."""
    head = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Forum</title>'
        '<link rel="stylesheet" href="/static/style.css"></head><body><main><table>'
    )
    tail = "</table></main></body></html>"
    rows, used, n = [], len(head) + len(tail), 0
    while True:
        n += 1
        row = (
            f'<tr class="topic"><td><a href="/topic/{n}">Topic number {n} about widgets</a>'
            f'</td><td class="author"><a href="/user/u{n % 97}">user{n % 97}</a></td>'
            f'<td class="date">2026-11-{n % 28 + 1:02d} 12:{n % 60:02d}</td></tr>\n'
        )
        if used + len(row) > size:
            break
        rows.append(row)
        used += len(row)
    return (head + "".join(rows) + tail).encode().ljust(size)


PAGES = {f"/page/{k}k": html_page(k * 1000) for k in (1, 50, 500)}


def app(environ: dict[str, Any], start: Any) -> list[bytes]:
    page = PAGES.get(environ["PATH_INFO"])
    body, kind = (BODY, "application/json") if page is None else (page, "text/html; charset=utf-8")
    start("200 OK", [("Content-Type", kind), ("Content-Length", str(len(body)))])
    return [body]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes

    def log_message(self, *args: Any) -> None:
        pass

    def _wsgi(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        environ = {
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "wsgi.input": io.BytesIO(body),
            **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in self.headers.items()},
        }
        status_headers: list[Any] = []
        chunks = app(environ, lambda s, h: status_headers.extend([s, h]))
        status, headers = status_headers
        self.send_response(int(status.split()[0]))
        for k, v in headers:
            self.send_header(k, v)
        if self.request_version == "HTTP/1.0" and not self.close_connection:
            self.send_header("Connection", "keep-alive")  # HTTP/1.0 clients need to be told
        self.end_headers()
        if self.command != "HEAD":
            for chunk in chunks:
                self.wfile.write(chunk)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _wsgi


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()
