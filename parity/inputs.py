"""Recorded requests for `strangler verify`: JSON Lines, HAR, router capture, shadow rows.

Every reader is a generator of `Recorded` values, so a 100,000-line file is never held
in memory (a HAR file is one JSON document and is parsed whole). A malformed entry
raises `InputError` naming the file and the line (or HAR entry) at fault.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from parity.errors import ParityError

Headers = tuple[tuple[str, str], ...]

# Never replayed: the replaying client sets its own, and a recorded Host names the wrong
# server; HTTP/2 pseudo-headers (":authority") come from HAR files written by browsers.
_DROP = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "accept-encoding",
        "upgrade",
        "te",
        "trailer",
        "proxy-connection",
    }
)
REDACTED = "[redacted]"  # the router capture's placeholder (router/traffic.py)


class InputError(ParityError, ValueError):
    """A recorded-requests file cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class Recorded:
    """One request to replay: method, target (path and query), headers, body."""

    method: str
    target: str
    headers: Headers = ()
    body: bytes = b""
    line: int = 0  # where it came from: file line, HAR entry number or shadow row id
    skip: str = ""  # why it cannot be replayed faithfully (e.g. a truncated body)

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


def read_jsonl(lines: Iterable[str], name: str = "requests") -> Iterator[Recorded]:
    """Read `{"method", "path", "headers"?, "body"?}` objects, one per line."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise InputError(f"{name} line {number}: not valid JSON ({exc})") from None
        yield _from_object(item, f"{name} line {number}", number)


def _from_object(item: Any, where: str, number: int) -> Recorded:
    if not isinstance(item, dict):
        raise InputError(f"{where}: expected a JSON object with method and path")
    unknown = set(item) - {"method", "path", "headers", "body"}
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    method, path = item.get("method"), item.get("path")
    if not isinstance(method, str) or not method.isalpha():
        raise InputError(f"{where}: 'method' must be an HTTP method such as \"GET\"")
    if not isinstance(path, str) or not path.startswith("/"):
        raise InputError(f"{where}: 'path' must be a string starting with /")
    headers = _headers(item.get("headers", {}), where)
    body: bytes = b""
    if "body" in item and item["body"] is not None:
        raw = item["body"]
        if isinstance(raw, str):
            body = raw.encode("utf-8")
        else:
            body = json.dumps(raw, separators=(",", ":")).encode()
            if not any(k.lower() == "content-type" for k, _ in headers):
                headers = (*headers, ("Content-Type", "application/json"))
    return Recorded(method.upper(), path, headers, body, number)


def _headers(raw: Any, where: str) -> Headers:
    if isinstance(raw, dict):
        pairs = list(raw.items())
    elif isinstance(raw, list) and all(isinstance(p, list | tuple) and len(p) == 2 for p in raw):
        pairs = [(p[0], p[1]) for p in raw]
    else:
        raise InputError(f"{where}: 'headers' must be an object or a list of [name, value]")
    for k, v in pairs:
        if not isinstance(k, str) or not isinstance(v, str):
            raise InputError(f"{where}: header names and values must be strings")
    return _keep(pairs)


def _keep(pairs: Iterable[tuple[str, str]]) -> Headers:
    return tuple(
        (k, v)
        for k, v in pairs
        if k.lower() not in _DROP and not k.startswith(":") and v != REDACTED
    )


def read_har(text: str, name: str = "HAR") -> Iterator[Recorded]:
    """Read the requests of a HAR 1.2 file (as browsers and proxies export it)."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", "?")
        raise InputError(f"{name} line {line}: not valid JSON ({exc})") from None
    entries = doc.get("log", {}).get("entries") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise InputError(f"{name}: not a HAR file (no log.entries list)")
    for number, entry in enumerate(entries, 1):
        where = f"{name} entry {number}"
        request = entry.get("request") if isinstance(entry, dict) else None
        if not isinstance(request, dict):
            raise InputError(f"{where}: no request object")
        method, url = request.get("method"), request.get("url")
        if not isinstance(method, str) or not isinstance(url, str):
            raise InputError(f"{where}: request needs a method and a url")
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        raw_headers = request.get("headers", [])
        if not isinstance(raw_headers, list):
            raise InputError(f"{where}: request.headers must be a list")
        pairs = [(str(h.get("name", "")), str(h.get("value", ""))) for h in raw_headers]
        post = request.get("postData") or {}
        body = str(post.get("text", "")).encode("utf-8") if isinstance(post, dict) else b""
        headers = _keep(pairs)
        if (
            body
            and post.get("mimeType")
            and not any(k.lower() == "content-type" for k, _ in headers)
        ):
            headers = (*headers, ("Content-Type", str(post["mimeType"])))
        yield Recorded(method.upper(), target, headers, body, number)


def read_capture(lines: Iterable[str], name: str = "capture") -> Iterator[Recorded]:
    """Read the router's capture file (`router serve --capture`, see router/traffic.py)."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{name} line {number}"
        try:
            record = json.loads(line)
            request = record["request"]
            method, target = request["method"], request["target"]
            pairs = [(str(k), str(v)) for k, v in request.get("headers", [])]
            body = base64.b64decode(request.get("body_b64", ""), validate=True)
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{where}: not a router capture record ({exc})") from None
        skip = "request body truncated in the capture" if request.get("body_truncated") else ""
        yield Recorded(str(method).upper(), str(target), _keep(pairs), body, number, skip)


def from_shadow(rows: Iterable[dict[str, Any]]) -> Iterator[Recorded]:
    """Turn the router's stored shadow comparisons (admin API rows) into requests.

    The store keeps method and target but no headers or bodies, so these are replayed
    as recorded: the router mirrors only GET and HEAD by default.
    """
    for row in rows:
        try:
            yield Recorded(str(row["method"]).upper(), str(row["target"]), line=int(row["id"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"shadow comparison row without method/target/id ({exc})") from None
