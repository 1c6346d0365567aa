"""A keep-alive threaded WSGI upstream with a small JSON response, for the router benches.

Run as `python bench/router_upstream.py PORT`; serves until killed.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

BODY = json.dumps({"id": 7, "name": "Widget", "price": 9.99, "tags": ["a", "b"]}).encode()


class KeepAlive(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def app(environ: dict[str, Any], start: Any) -> list[bytes]:
    start("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]


if __name__ == "__main__":
    server = make_server(
        "127.0.0.1", int(sys.argv[1]), app, threaded=True, request_handler=KeepAlive
    )
    server.serve_forever()
