"""JSON field paths: parse rule patterns (dotted or JSON Pointer, with wildcards), match
concrete paths against them, and print paths in the one canonical dotted form."""

from __future__ import annotations

import json
import re
from functools import lru_cache

from parity.errors import RulesError

Key = str | int  # an object key or an array index
Path = tuple[Key, ...]
ANY, DEEP = "\x00*", "\x00**"  # pattern segments: one step, any number of steps
Pattern = tuple[str, ...]

_PLAIN = re.compile(r"^[A-Za-z0-9_\-]+$")
_TOKEN = re.compile(r'\.?(\*\*|\*|[^.\[\]]+)|\[(\*|\d+|"(?:[^"\\]|\\.)*")\]')


def format_path(path: Path, star: bool = False) -> str:
    """`$.items[2].price` (`$.items[*].price` with `star`); odd keys quoted: `$["a.b"]`."""
    out = ["$"]
    for key in path:
        if isinstance(key, int):
            out.append("[*]" if star else f"[{key}]")
        elif _PLAIN.match(key):
            out.append(f".{key}")
        else:
            out.append(f"[{json.dumps(key)}]")
    return "".join(out)


def general(path: Path) -> str:
    """The path with array indices as `[*]`: the field that noise and counts are kept by."""
    return format_path(path, star=True)


@lru_cache(maxsize=4096)
def parse(pattern: str) -> Pattern:
    """Parse a rule path: `a.b`, `$.a[*].b`, `**.ts`, `/a/*/b`; a bare key means any depth."""
    text = pattern.strip()
    if not text:
        raise RulesError("empty field path")
    if text.startswith("/"):
        parts = [p.replace("~1", "/").replace("~0", "~") for p in text[1:].split("/")]
        return tuple(_wild(p) for p in parts)
    bare = not text.startswith("$") and not any(c in text for c in ".[")
    if bare:
        return (DEEP, _wild(text))
    body = text[1:] if text.startswith("$") else text
    segs: list[str] = []
    pos = 0
    while pos < len(body):
        m = _TOKEN.match(body, pos)
        if not m or m.end() == pos:
            raise RulesError(f"bad field path {pattern!r} at character {pos + 1}")
        if m.group(1) is not None:
            segs.append(_wild(m.group(1)))
        else:
            inner = m.group(2)
            segs.append(ANY if inner == "*" else json.loads(inner) if inner[0] == '"' else inner)
        pos = m.end()
    return tuple(segs)


def _wild(seg: str) -> str:
    return DEEP if seg == "**" else ANY if seg == "*" else seg


def matches(pattern: Pattern, path: Path) -> bool:
    """True when the concrete `path` is matched by `pattern`."""
    return _match(pattern, 0, path, 0)


def _match(pat: Pattern, i: int, path: Path, j: int) -> bool:
    while i < len(pat):
        seg = pat[i]
        if seg == DEEP:
            return any(_match(pat, i + 1, path, k) for k in range(j, len(path) + 1))
        if j >= len(path):
            return False
        key = path[j]
        if seg != ANY and seg != (str(key) if isinstance(key, int) else key):
            return False
        i, j = i + 1, j + 1
    return j == len(path)


def any_match(patterns: tuple[Pattern, ...], path: Path) -> bool:
    return any(_match(p, 0, path, 0) for p in patterns)
