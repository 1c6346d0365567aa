"""Compare a legacy answer with a candidate answer: status, allowed headers, body.

The body is compared by kind: JSON canonically (parity.jsondiff), HTML structurally
(parity.html), other text as a unified diff and anything else by digest and size
(parity.text). Differences in fields learned as noise for the route are set apart.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from parity import html, jsondiff, text
from parity.model import MAX_DIFFERENCES, Comparison, Difference, Response, digest
from parity.noise import NoiseModel
from parity.rules import RouteRules, Rules

_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html)", re.IGNORECASE)
_ORIGIN = re.compile(r"^[a-z][a-z0-9+.-]*://[^/?#]*", re.IGNORECASE)
_TEXTUAL = ("text/", "application/xml", "application/javascript")


def route_rules(rules: Rules | RouteRules | None, route: str, method: str, path: str) -> RouteRules:
    """The rules in force for one request."""
    if rules is None:
        return RouteRules()
    if isinstance(rules, RouteRules):
        return rules
    return rules.for_route(route, method, path)


def compare(
    legacy: Response,
    candidate: Response,
    rules: Rules | RouteRules | None = None,
    *,
    route: str = "",
    method: str = "",
    path: str = "",
    noise: NoiseModel | None = None,
    legacy_again: Response | None = None,
) -> Comparison:
    """Compare two answers under `rules`; with `noise`, fields learned as noise for the
    route (key: `route`, else `path`) are set apart; `legacy_again` (a second legacy
    answer to the same request) teaches the noise model first."""
    rr = route_rules(rules, route, method, path)
    key = route or path
    if legacy_again is not None and rr.learn_noise:
        noise = noise if noise is not None else NoiseModel()
        noise.learn(key, legacy, legacy_again, rr)
    found = differences(legacy, candidate, rr)
    known = noise.fields(key) if noise is not None and rr.learn_noise else frozenset()
    real = [d for d in found if d.field not in known]
    noisy = [d for d in found if d.field in known]
    return Comparison(
        match=not real,
        kind=body_kind(legacy),
        differences=tuple(real[:MAX_DIFFERENCES]),
        noise=tuple(noisy[:MAX_DIFFERENCES]),
        legacy_digest=digest(legacy.body),
        candidate_digest=digest(candidate.body),
        truncated=max(0, len(real) - MAX_DIFFERENCES),
        route=route,
    )


def differences(legacy: Response, candidate: Response, rules: RouteRules) -> list[Difference]:
    """Every difference between two answers under `rules` (no noise removal)."""
    out: list[Difference] = []
    if rules.status and legacy.status != candidate.status:
        out.append(
            Difference(
                "$status", "$status", "status", legacy.status, candidate.status, "status = false"
            )
        )
    for name in rules.header_names:
        a, b = legacy.header(name), candidate.header(name)
        if _header_value(name, a) != _header_value(name, b):
            rest = [h for h in rules.header_names if h != name]
            out.append(
                Difference(
                    f"$headers.{name}",
                    f"$headers.{name}",
                    "header",
                    a,
                    b,
                    f"headers = {json.dumps(rest)}",
                )
            )
    if rules.body:
        out.extend(body_differences(legacy, candidate, rules))
    return out


def body_differences(legacy: Response, candidate: Response, rules: RouteRules) -> list[Difference]:
    if legacy.body == candidate.body:
        return []  # the same bytes normalise the same way
    kind_a, value_a = _decode(legacy)
    kind_b, value_b = _decode(candidate)
    if kind_a != kind_b:
        return [
            Difference(
                "$body",
                "$body",
                "type",
                f"{kind_a}: {_excerpt(legacy.body)}",
                f"{kind_b}: {_excerpt(candidate.body)}",
                "body = false",
            )
        ]
    if kind_a == "json":
        a, b = jsondiff.normalise(value_a, rules), jsondiff.normalise(value_b, rules)
        return jsondiff.diff(a, b, rules)
    if kind_a == "html":
        return html.diff(value_a, value_b, rules)
    if kind_a == "text":
        return text.diff_text(value_a, value_b, rules)
    if kind_a == "binary":
        return text.diff_binary(legacy.body, candidate.body)
    return []


def body_kind(response: Response) -> str:
    """json, html, text, binary or empty: how this body is compared."""
    return _decode(response)[0]


def _decode(response: Response) -> tuple[str, Any]:
    return _decoded(response.body, response.header("content-type") or "")


@lru_cache(maxsize=4)  # compare() asks for the legacy body's kind after diffing it
def _decoded(body: bytes, content_type: str) -> tuple[str, Any]:
    """(kind, parsed value); callers never change the value, so it can be shared."""
    if not body.strip():
        return "empty", None
    ctype = content_type.split(";")[0].strip().lower()
    is_json = ctype == "application/json" or ctype.endswith("+json")
    if is_json or not ctype:
        try:
            return "json", json.loads(body)
        except (ValueError, UnicodeDecodeError):
            pass
    if ctype in ("text/html", "application/xhtml+xml") or (not ctype and _HTML_START.match(body)):
        doc = html.parse(body)
        if doc is not None:
            return "html", doc
    if ctype.startswith(_TEXTUAL) or ctype.endswith(("+xml", "/json")) or not ctype:
        charset = re.search(r"charset=([\w.\-]+)", content_type, re.IGNORECASE)
        try:
            return "text", body.decode(charset.group(1) if charset else "utf-8")
        except (UnicodeDecodeError, LookupError):
            pass
    return "binary", body


def _header_value(name: str, value: str | None) -> str | None:
    if not value:
        return value
    if name in ("location", "content-location"):  # the two sides live at different hosts
        return _ORIGIN.sub("", value.strip()) or "/"
    return value.split(";")[0].strip().lower()


def _excerpt(body: bytes, limit: int = 80) -> str:
    text_ = body[:limit].decode("utf-8", "replace")
    return text_ + ("..." if len(body) > limit else "")
