"""Plain-text bodies get a unified diff; binary bodies a digest and size."""

from __future__ import annotations

import difflib

from parity.model import MASK, Difference, digest
from parity.rules import RouteRules

MAX_DIFF_LINES = 40


def diff_text(legacy: str, candidate: str, rules: RouteRules) -> list[Difference]:
    for regex in rules.regexes:
        legacy, candidate = regex.sub(MASK, legacy), regex.sub(MASK, candidate)
    if legacy == candidate:
        return []
    lines = list(
        difflib.unified_diff(
            legacy.splitlines(), candidate.splitlines(), "legacy", "candidate", n=1, lineterm=""
        )
    )
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... {len(lines) - MAX_DIFF_LINES} more diff lines"]
    first = next((x[1:] for x in lines[2:] if x.startswith(("-", "+"))), "")
    return [
        Difference(
            "$body",
            "$body",
            "text",
            _excerpt(legacy),
            _excerpt(candidate),
            "regex_masks = ['...'] or body = false",
            "\n".join(lines) or first,
        )
    ]


def diff_binary(legacy: bytes, candidate: bytes) -> list[Difference]:
    if legacy == candidate:
        return []
    return [
        Difference(
            "$body", "$body", "binary", describe(legacy), describe(candidate), "body = false"
        )
    ]


def describe(body: bytes) -> str:
    return f"sha256:{digest(body)} ({len(body)} bytes)"


def _excerpt(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
