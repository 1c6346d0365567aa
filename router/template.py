"""Path templates: `/api/products/{id}` (one segment per parameter) and `/api/**` (a prefix).

Specificity rule (most specific wins, deterministically): templates that match a
request are compared segment by segment from the left, where a literal segment beats a
`{param}` segment, which beats `**`; an exact end (the template has no `**`) beats any
further segment. So `/api/products/{id}` beats `/api/products/**`, which beats `/api/**`.
Two routes whose templates have the same shape and the same literals are ranked next by
whether they restrict methods (a method list beats "any method") and then by whether they
require a header. Routes still equal after that and matching the same requests are
rejected at validation time as ambiguous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PARAM = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_LITERAL = re.compile(r"^[A-Za-z0-9._~!$&'()+,;=:@%-]+$")

LITERAL, PARAM, REST = "literal", "param", "rest"
_WEIGHT = {LITERAL: 3, PARAM: 2, REST: 1}
_EXACT_END = 4


@dataclass(frozen=True)
class Segment:
    kind: str
    text: str  # the literal, or the parameter name, or "**"


@dataclass(frozen=True)
class Template:
    """A parsed path template."""

    source: str
    segments: tuple[Segment, ...]

    @property
    def is_prefix(self) -> bool:
        return bool(self.segments) and self.segments[-1].kind == REST

    def rank(self) -> tuple[int, ...]:
        """Return the specificity key; a larger key is more specific."""
        weights = [_WEIGHT[s.kind] for s in self.segments]
        if not self.is_prefix:
            weights.append(_EXACT_END)
        return tuple(weights)

    def match(self, parts: tuple[str, ...]) -> dict[str, str] | None:
        """Return the parameters when the split request path matches, else None."""
        params: dict[str, str] = {}
        for i, seg in enumerate(self.segments):
            if seg.kind == REST:
                return params
            if i >= len(parts):
                return None
            if seg.kind == LITERAL and parts[i] != seg.text:
                return None
            if seg.kind == PARAM:
                params[seg.text] = parts[i]
        return params if len(parts) == len(self.segments) else None

    def overlaps(self, other: Template) -> bool:
        """Tell whether some path matches both templates (used for ambiguity checks)."""
        for a, b in zip(self.segments, other.segments, strict=False):
            if REST in (a.kind, b.kind):
                return True
            if a.kind == LITERAL and b.kind == LITERAL and a.text != b.text:
                return False
        if len(self.segments) == len(other.segments):
            return True
        longer, shorter = sorted((self, other), key=lambda t: len(t.segments), reverse=True)
        # the shorter has no **; the longer's extra segments may be a lone trailing ** only
        extra = longer.segments[len(shorter.segments) :]
        return len(extra) == 1 and extra[0].kind == REST


def parse(source: str) -> Template:
    """Parse a template or raise ValueError naming what is wrong with it."""
    if not isinstance(source, str) or not source.startswith("/"):
        raise ValueError(f"path template {source!r} must start with '/'")
    body = source[1:]
    if body.endswith("/"):
        body = body[:-1]
    raw = body.split("/") if body else []
    segments: list[Segment] = []
    seen: set[str] = set()
    for i, text in enumerate(raw):
        if text == "**":
            if i != len(raw) - 1:
                raise ValueError(f"path template {source!r}: '**' must be the last segment")
            segments.append(Segment(REST, "**"))
            continue
        match = _PARAM.match(text)
        if match:
            name = match.group(1)
            if name in seen:
                raise ValueError(f"path template {source!r}: parameter {{{name}}} repeated")
            seen.add(name)
            segments.append(Segment(PARAM, name))
            continue
        if not text:
            raise ValueError(f"path template {source!r} has an empty segment")
        if not _LITERAL.match(text) or text in (".", ".."):
            raise ValueError(
                f"path template {source!r}: segment {text!r} is malformed "
                "(use a literal, {name} or a final **)"
            )
        segments.append(Segment(LITERAL, text))
    return Template(source, tuple(segments))


def split_path(path: str) -> tuple[str, ...]:
    """Split a request path (query removed) into segments, resolving '.' and '..'."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out:
                out.pop()
            continue
        out.append(part)
    return tuple(out)
