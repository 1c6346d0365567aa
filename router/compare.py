"""Normalise and compare a monolith response with a shadow response (pure).

Both sides are reduced to (status, selected headers, body). JSON bodies are parsed and
fields named in `ignore` are removed wherever they appear (a plain key such as
`updated_at`, or a dotted path from the root such as `meta.request_id`); other bodies
are compared byte for byte by digest. The result lists each difference by JSON path.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Side:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Comparison:
    match: bool
    differences: tuple[dict[str, Any], ...] = field(default=())
    primary_digest: str = ""
    shadow_digest: str = ""


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:16]


def compare(
    primary: Side,
    shadow: Side,
    headers: tuple[str, ...] = ("content-type",),
    ignore: tuple[str, ...] = (),
) -> Comparison:
    diffs: list[dict[str, Any]] = []
    if primary.status != shadow.status:
        diffs.append({"path": "$status", "primary": primary.status, "shadow": shadow.status})
    for name in headers:
        a, b = primary.headers.get(name.lower()), shadow.headers.get(name.lower())
        if _header_value(a) != _header_value(b):
            diffs.append({"path": f"$headers.{name.lower()}", "primary": a, "shadow": b})
    a_json, b_json = _json(primary.body), _json(shadow.body)
    if a_json is not _NOT_JSON and b_json is not _NOT_JSON:
        _diff(_drop(a_json, ignore, ""), _drop(b_json, ignore, ""), "$", diffs)
    elif primary.body != shadow.body:
        diffs.append(
            {"path": "$body", "primary": digest(primary.body), "shadow": digest(shadow.body)}
        )
    return Comparison(not diffs, tuple(diffs[:50]), digest(primary.body), digest(shadow.body))


_NOT_JSON = object()


def _header_value(value: str | None) -> str | None:
    return value.split(";")[0].strip().lower() if value else value


def _json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON


def _drop(value: Any, ignore: tuple[str, ...], path: str) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            sub = f"{path}.{k}" if path else str(k)
            if k in ignore or sub in ignore:
                continue
            out[k] = _drop(v, ignore, sub)
        return out
    if isinstance(value, list):
        return [_drop(v, ignore, path) for v in value]
    return value


def _diff(a: Any, b: Any, path: str, out: list[dict[str, Any]]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                out.append({"path": f"{path}.{key}", "primary": a.get(key), "shadow": b.get(key)})
            else:
                _diff(a[key], b[key], f"{path}.{key}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff(x, y, f"{path}[{i}]", out)
    elif a != b or type(a) is not type(b):
        out.append({"path": path, "primary": a, "shadow": b})
