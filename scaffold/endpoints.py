"""Endpoints of a report as HTTP routes: Flask rules, router templates, handler names (pure).

Reports name endpoints `METHOD /path` with the web framework's parameter syntax: Flask's
`<int:id>` or `<id>`, Spring's `{id}`, Rails' `:id`. Anything else (a job, a controller
action without a path) is a code unit that cannot be routed and is skipped, with a reason.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_FLASK_CONVERTERS = {"int", "float", "string", "path", "uuid"}
_SAMPLES = {"int": "1", "float": "1.0", "uuid": "00000000-0000-0000-0000-000000000001"}
_PARAM = re.compile(
    r"^(?:<(?:(?P<conv>[a-z]+)(?:\([^)]*\))?:)?(?P<flask>\w+)>"
    r"|\{(?P<brace>\w+)(?::[^}]*)?\}|:(?P<colon>\w+))$"
)
_LITERAL = re.compile(r"^[A-Za-z0-9._~!$&'()+,;=@%-]+$")
PROBES = ("/health", "/ready")  # every generated service answers these itself


@dataclass(frozen=True)
class Param:
    """One path parameter: its name and Flask converter (`int`, `string`, ...)."""

    name: str
    converter: str = "string"


@dataclass(frozen=True)
class Endpoint:
    """An HTTP endpoint of the context, in every form the generated files need."""

    key: str  # as the report names it, e.g. "GET /api/products/<int:product_id>"
    method: str
    rule: str  # Flask rule
    template: str  # router path template, e.g. /api/products/{product_id}
    sample: str  # a concrete path for tests, e.g. /api/products/1
    handler: str  # Python function name, e.g. get_api_products_product_id
    params: tuple[Param, ...] = ()


@dataclass(frozen=True)
class Skipped:
    """A report endpoint that is not an HTTP route, and why."""

    key: str
    reason: str


def parse_endpoints(keys: list[str]) -> tuple[tuple[Endpoint, ...], tuple[Skipped, ...]]:
    """Turn report endpoint names into endpoints (unique handler names) and skipped ones."""
    endpoints: list[Endpoint] = []
    skipped: list[Skipped] = []
    used: set[str] = set()
    for key in sorted(keys, key=_order):
        parsed = parse_endpoint(key)
        if isinstance(parsed, Skipped):
            skipped.append(parsed)
            continue
        if parsed.rule in PROBES:
            skipped.append(Skipped(key, "the service's own probe answers this path"))
            continue
        name, n = parsed.handler, 2
        while name in used:
            name, n = f"{parsed.handler}_{n}", n + 1
        used.add(name)
        endpoints.append(Endpoint(**{**parsed.__dict__, "handler": name}))
    return tuple(endpoints), tuple(skipped)


def _order(key: str) -> tuple[str, str]:
    method, _, path = key.partition(" ")
    return path, method


def parse_endpoint(key: str) -> Endpoint | Skipped:
    """Parse one `METHOD /path` name (pure)."""
    method, _, path = key.strip().partition(" ")
    path = path.strip().split("?")[0]
    if method.upper() not in METHODS or not path.startswith("/"):
        return Skipped(key, "not an HTTP endpoint (expected 'METHOD /path')")
    rule, template, sample, words, params = [], [], [], [method.lower()], []
    for segment in [s for s in path.split("/") if s]:
        match = _PARAM.match(segment)
        if match:
            conv = match["conv"] or "string"
            name = match["flask"] or match["brace"] or match["colon"]
            conv = conv if conv in _FLASK_CONVERTERS else "string"
            params.append(Param(name, conv))
            rule.append(f"<{conv}:{name}>" if conv != "string" else f"<{name}>")
            template.append("**" if conv == "path" else f"{{{name}}}")
            sample.append(_SAMPLES.get(conv, "1"))
            words.append(name)
        elif _LITERAL.match(segment):
            rule.append(segment)
            template.append(segment)
            sample.append(segment)
            words.append(segment)
        else:
            return Skipped(key, f"path segment {segment!r} is neither a literal nor a parameter")
    if "**" in template[:-1]:
        return Skipped(key, "a multi-segment parameter is only routable at the end of a path")
    return Endpoint(
        key=key,
        method=method.upper(),
        rule="/" + "/".join(rule),
        template="/" + "/".join(template),
        sample="/" + "/".join(sample),
        handler=identifier("_".join(words)) if len(words) > 1 else f"{method.lower()}_root",
        params=tuple(params),
    )


def identifier(text: str) -> str:
    """A valid, lower-case Python identifier made from `text`."""
    name = re.sub(r"\W+", "_", text.lower()).strip("_") or "x"
    if name[0].isdigit():
        name = f"_{name}"
    return f"{name}_" if keyword.iskeyword(name) else name
