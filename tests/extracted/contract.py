"""Compare a monolith answer with a service answer: status, headers that matter, JSON."""

from __future__ import annotations

from typing import Any

# Values that differ by nature between two databases written a moment apart.
VOLATILE = ("created_at", "request_id")


def normalised(value: Any) -> Any:
    """The JSON body with volatile values replaced by their type, recursively."""
    if isinstance(value, dict):
        return {
            k: (type(v).__name__ if k in VOLATILE and v is not None else normalised(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [normalised(v) for v in value]
    return value


def answer(response: Any) -> tuple[int, str | None, Any, str | None]:
    body = response.get_json(silent=True) if response.data else None
    kind = response.headers.get("Content-Type") if response.data else None
    return response.status_code, kind, normalised(body), response.headers.get("Location")


def assert_same(pair: Any, method: str, path: str, **kwargs: Any) -> Any:
    """Send the request to both; assert the answers agree; return the service's JSON."""
    legacy, service = pair.both(method, path, **kwargs)
    mine, theirs = answer(service), answer(legacy)
    assert mine == theirs, f"{method} {path}: {first_difference(mine, theirs)}"
    return service.get_json(silent=True)


def first_difference(mine: Any, theirs: Any, where: str = "") -> str:
    """Name the first place two JSON values differ (assertion messages stay readable)."""
    if isinstance(mine, dict) and isinstance(theirs, dict):
        for key in dict.fromkeys([*theirs, *mine]):
            if mine.get(key) != theirs.get(key):
                return first_difference(mine.get(key), theirs.get(key), f"{where}.{key}")
    if (
        isinstance(mine, list | tuple)
        and isinstance(theirs, list | tuple)
        and len(mine) == len(theirs)
    ):
        for i, (a, b) in enumerate(zip(mine, theirs, strict=True)):
            if a != b:
                return first_difference(a, b, f"{where}[{i}]")
    return f"at {where or 'top'}: service {mine!r:.200} != monolith {theirs!r:.200}"
