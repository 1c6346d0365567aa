"""Per-request side outputs: the JSON access log and the traffic capture file.

The capture file holds one JSON object per line: the request (method, target,
headers, body) and the response, bodies base64-encoded up to a limit and headers in
`redact` replaced by "[redacted]". `replay` sends the captured requests again, e.g.
to a staging monolith or to the extracted service for verification.
"""

from __future__ import annotations

import base64
import http.client
import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from router.dataplane import Incoming, Outgoing

Headers = list[tuple[bytes, bytes]]
REDACTED = "[redacted]"


class AccessLog:
    """Write one JSON line per request to stderr ("-") or a file."""

    def __init__(self, destination: str) -> None:
        self._lock = threading.Lock()
        self._out: IO[str] | None
        if destination == "-":
            self._out = sys.stderr
        elif destination:
            Path(destination).parent.mkdir(parents=True, exist_ok=True)
            self._out = open(destination, "a", buffering=1, encoding="utf-8")  # noqa: SIM115
        else:
            self._out = None

    def __call__(self, inc: Incoming, out: Outgoing, seconds: float) -> None:
        if self._out is None:
            return
        line = {
            "ts": round(time.time(), 3),
            "request_id": out.request_id,
            "client": inc.client,
            "method": inc.method,
            "target": inc.target,
            "status": out.status,
            "route": out.decision.route,
            "mode": out.decision.mode,
            "upstream": out.served_by,
            "fallback": out.fell_back,
            "ms": round(seconds * 1000, 3),
        }
        with self._lock:
            self._out.write(json.dumps(line) + "\n")

    def close(self) -> None:
        if self._out not in (None, sys.stderr) and self._out is not None:
            self._out.close()


class Capture:
    """Append requests and responses to a JSON-lines file, redacting secrets."""

    def __init__(self, path: str, body_limit: int, redact: tuple[str, ...]) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115
        self._lock = threading.Lock()
        self.body_limit = body_limit
        self.redact = {r.lower() for r in redact}

    def __call__(self, inc: Incoming, out: Outgoing, seconds: float) -> None:
        record = {
            "ts": round(time.time(), 3),
            "route": out.decision.route,
            "upstream": out.served_by,
            "request": {
                "method": inc.method,
                "target": inc.target,
                "headers": self._headers(inc.headers),
                **self._body(inc.body),
            },
            "response": {
                "status": out.status,
                "headers": self._headers(out.headers),
                **self._body(out.body),
            },
        }
        if out.stream is not None:  # relayed unbuffered: the body was never in memory
            record["response"]["streamed"] = True  # type: ignore[index]
        with self._lock:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()

    def close(self) -> None:
        self._file.close()

    def _headers(self, headers: Headers) -> list[list[str]]:
        out = []
        for k, v in headers:
            name = k.decode("latin-1")
            value = REDACTED if name.lower() in self.redact else v.decode("latin-1")
            out.append([name, value])
        return out

    def _body(self, body: bytes) -> dict[str, Any]:
        kept = body[: self.body_limit]
        return {
            "body_b64": base64.b64encode(kept).decode("ascii"),
            "body_truncated": len(body) > len(kept),
        }


def read_capture(path: str) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def replay(path: str, base_url: str, timeout: float = 10.0) -> list[tuple[str, int, int]]:
    """Send every captured request to base_url; return (target, recorded, new) statuses."""
    parts = urlsplit(base_url)
    results = []
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=timeout)
    try:
        for record in read_capture(path):
            req = record["request"]
            headers = {k: v for k, v in req["headers"] if v != REDACTED and k.lower() != "host"}
            body = base64.b64decode(req["body_b64"])
            conn.request(req["method"], req["target"], body=body or None, headers=headers)
            response = conn.getresponse()
            response.read()
            results.append((req["target"], record["response"]["status"], response.status))
    finally:
        conn.close()
    return results
