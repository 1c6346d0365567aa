"""A keep-alive threaded WSGI upstream with a small JSON response, for the router benches.

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


def app(environ: dict[str, Any], start: Any) -> list[bytes]:
    start("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]


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
