"""The values that cross the engine's boundary: a response, a difference, a comparison."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_DIFFERENCES = 50
MASK = "<masked>"  # what masks put in place of a value


@dataclass(frozen=True)
class Response:
    """One HTTP answer: status, headers (names lowercased, in order) and body bytes."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        body: bytes | str = b"",
    ) -> None:
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        object.__setattr__(self, "status", int(status))
        object.__setattr__(self, "headers", tuple((str(k).lower(), str(v)) for k, v in pairs))
        object.__setattr__(self, "body", body.encode() if isinstance(body, str) else bytes(body))

    def header(self, name: str) -> str | None:
        """Return the first value of header `name` (case-insensitive), or None."""
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)


@dataclass(frozen=True)
class Difference:
    """One field that differs, and the rules-file line that would silence it."""

    path: str  # where: $.items[2].price, $status, $headers.etag, html>body>p@title
    field: str  # the path generalised (indices -> *), for aggregation and noise
    kind: str  # status header changed missing added type length text binary structure
    legacy: Any = None
    candidate: Any = None
    rule: str = ""
    detail: str = ""  # a unified diff for text

    def to_dict(self) -> dict[str, Any]:
        data = {
            "path": self.path,
            "field": self.field,
            "kind": self.kind,
            "legacy": self.legacy,
            "candidate": self.candidate,
            "rule": self.rule,
        }
        if self.detail:
            data["detail"] = self.detail
        return data

    def line(self) -> str:
        """One readable line: path, both values, and how to silence it."""
        if self.kind == "missing":
            what = f"missing in candidate (legacy {_short(self.legacy)})"
        elif self.kind == "added":
            what = f"only in candidate ({_short(self.candidate)})"
        else:
            what = f"legacy {_short(self.legacy)} != candidate {_short(self.candidate)}"
        hint = f"    [silence: {self.rule}]" if self.rule else ""
        return f"{self.path}: {what}{hint}"


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing a legacy answer with a candidate answer."""

    match: bool
    kind: str = "empty"  # body kind: json html text binary empty
    differences: tuple[Difference, ...] = ()
    noise: tuple[Difference, ...] = ()
    legacy_digest: str = ""
    candidate_digest: str = ""
    truncated: int = 0  # differences beyond MAX_DIFFERENCES, counted not kept
    route: str = field(default="")

    def render(self) -> str:
        """A readable, minimal diff (empty string when the answers match)."""
        if self.match:
            return ""
        n = len(self.differences) + self.truncated
        head = f"{n} difference{'s' * (n != 1)}" + (f" on route {self.route}" if self.route else "")
        lines = [head + ":"]
        for d in self.differences:
            lines.append("  " + d.line())
            lines.extend("      " + x for x in d.detail.splitlines())
        if self.truncated:
            lines.append(f"  ... and {self.truncated} more")
        if self.noise:
            lines.append(
                f"  (ignored as learned noise: {', '.join(sorted({d.field for d in self.noise}))})"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "match": self.match,
            "kind": self.kind,
            "route": self.route,
            "differences": [d.to_dict() for d in self.differences],
            "noise": [d.to_dict() for d in self.noise],
            "truncated": self.truncated,
            "legacy_digest": self.legacy_digest,
            "candidate_digest": self.candidate_digest,
        }


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:16]


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) and value.startswith("sha256:") else None
    text = text or json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
