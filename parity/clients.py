"""Send one request to an app in-process (WSGI) or to a base URL; get a parity.Response.

Redirects are not followed: a redirect is an answer to compare like any other.
Only the standard library and werkzeug, so the pytest plugin installs into any app.
"""

from __future__ import annotations

import http.client
import importlib
from collections.abc import Iterable
from typing import Any, Protocol
from urllib.parse import urlsplit

from parity.errors import ParityError
from parity.model import Response

Headers = Iterable[tuple[str, str]]


class Client(Protocol):
    name: str

    def request(
        self, method: str, target: str, headers: Headers = (), body: bytes = b""
    ) -> Response: ...


class WsgiClient:
    """An app called in-process through werkzeug's test client."""

    def __init__(self, app: Any, name: str = "app") -> None:
        from werkzeug.test import Client as TestClient

        self.name = name
        self._client = TestClient(app)

    def request(
        self, method: str, target: str, headers: Headers = (), body: bytes = b""
    ) -> Response:
        path, _, query = target.partition("?")
        reply = self._client.open(
            path, method=method, headers=list(headers), data=body, query_string=query
        )
        try:
            return Response(reply.status_code, list(reply.headers.items()), reply.get_data())
        finally:
            reply.close()


class UrlClient:
    """A running server at a base URL (http or https), one connection per request."""

    def __init__(self, base_url: str, timeout: float = 10.0, name: str = "") -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ParityError(f"not an http(s) base URL: {base_url!r}")
        self.name = name or base_url
        self._parts = parts
        self._timeout = timeout

    def request(
        self, method: str, target: str, headers: Headers = (), body: bytes = b""
    ) -> Response:
        p = self._parts
        conn_cls = (
            http.client.HTTPSConnection if p.scheme == "https" else http.client.HTTPConnection
        )
        conn = conn_cls(p.hostname or "", p.port, timeout=self._timeout)
        try:
            conn.request(
                method, p.path.rstrip("/") + target, body=body or None, headers=dict(headers)
            )
            reply = conn.getresponse()
            return Response(reply.status, reply.getheaders(), reply.read())
        except OSError as exc:
            raise ParityError(f"{self.name}: {method} {target} failed: {exc}") from None
        finally:
            conn.close()


def load_app(spec: str) -> Any:
    """Import `module:factory` (called with no arguments) or `module:app`."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ParityError(f"app must be 'module:create_app' or 'module:app', got {spec!r}")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ParityError(f"cannot load app {spec!r}: {exc}") from None
    is_factory = callable(obj) and not hasattr(obj, "wsgi_app") and not _is_wsgi(obj)
    return obj() if is_factory else obj


def _is_wsgi(obj: Any) -> bool:
    code = getattr(obj, "__code__", None)
    return code is not None and code.co_argcount == 2
