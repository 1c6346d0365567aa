"""The rules file: TOML with `[defaults]` and one `[routes."KEY"]` section per route.

A route section is merged over the defaults (lists concatenated, scalars and
tolerances replaced). A section KEY matches a route by its name or template (exact
string), or a request path by pattern (`/api/products/{id}`, `/api/*/x`, `/api/**`),
optionally after a method (`GET /api/**`). See docs/verify.md, "Rules file".
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from parity import paths
from parity.errors import RulesError

_LISTS = ("headers", "ignore", "unordered", "html_masks", "regex_masks")
_BOOLS = ("status", "body", "subset", "learn_noise")
_METHOD = re.compile(r"^([A-Za-z]+)\s+(/.*)$")


@dataclass(frozen=True)
class RouteRules:
    """The rules in force for one route: what to compare and what to ignore."""

    status: bool = True
    body: bool = True
    headers: tuple[str, ...] = ("content-type",)
    ignore: tuple[str, ...] = ()
    unordered: tuple[str, ...] = ()
    tolerance: float = 0.0
    tolerances: tuple[tuple[str, float], ...] = ()
    subset: bool = False
    learn_noise: bool = True
    html_masks: tuple[str, ...] = ()
    regex_masks: tuple[str, ...] = ()

    @cached_property
    def ignore_patterns(self) -> tuple[paths.Pattern, ...]:
        return tuple(paths.parse(p) for p in self.ignore)

    @cached_property
    def unordered_patterns(self) -> tuple[paths.Pattern, ...]:
        return tuple(paths.parse(p) for p in self.unordered)

    @cached_property
    def tolerance_patterns(self) -> tuple[tuple[paths.Pattern, float], ...]:
        return tuple((paths.parse(p), t) for p, t in self.tolerances)

    @cached_property
    def regexes(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(r) for r in self.regex_masks)

    @cached_property
    def header_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(h.lower() for h in self.headers))

    def tolerance_at(self, path: paths.Path) -> float:
        for pattern, tol in self.tolerance_patterns:
            if paths.matches(pattern, path):
                return tol
        return self.tolerance


Patch = tuple[tuple[str, Any], ...]  # the keys one section sets, hashable


@dataclass(frozen=True)
class Rules:
    """A whole rules file: defaults plus route sections, in file order."""

    defaults: RouteRules = field(default_factory=RouteRules)
    sections: tuple[tuple[str, Patch], ...] = ()
    source: str = ""

    @classmethod
    def from_ignore(
        cls, ignore: tuple[str, ...] = (), headers: tuple[str, ...] | None = None
    ) -> Rules:
        """Rules equivalent to the router's old `shadow_ignore` / `shadow_headers`."""
        base = RouteRules(ignore=tuple(ignore))
        return cls(base if headers is None else replace(base, headers=tuple(headers)))

    def for_route(self, route: str = "", method: str = "", path: str = "") -> RouteRules:
        """Merge the defaults with every section matching the route or request."""
        hits = tuple(
            i
            for i, (key, _) in enumerate(self.sections)
            if _key_matches(key, route, method.upper(), path)
        )
        return _merged(self, hits) if hits else self.defaults

    def extend(self, **lists: tuple[str, ...]) -> Rules:
        """These rules with more entries in the defaults' lists (e.g. ignore=...)."""
        changes: dict[str, Any] = {k: (*getattr(self.defaults, k), *v) for k, v in lists.items()}
        return replace(self, defaults=replace(self.defaults, **changes))


def load_rules(path: str | Path) -> Rules:
    """Read and validate a rules file; RulesError names the file, section and key."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"cannot read rules file {path}: {exc.strerror or exc}") from None
    return parse_rules(text, source=str(path))


def parse_rules(text: str, source: str = "<rules>") -> Rules:
    """Parse rules from TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{source}: not valid TOML: {exc}") from None
    unknown = set(data) - {"defaults", "routes"}
    if unknown:
        raise RulesError(f"{source}: unknown top-level key {sorted(unknown)[0]!r}")
    defaults = _apply(RouteRules(), _patch(data.get("defaults", {}), f"{source} [defaults]"))
    routes = data.get("routes", {})
    if not isinstance(routes, dict):
        raise RulesError(f"{source}: 'routes' must be a table of sections")
    sections = tuple(
        (key, _patch(body, f"{source} [routes.{key!r}]")) for key, body in routes.items()
    )
    return Rules(defaults, sections, source)


def _patch(body: Any, where: str) -> Patch:
    if not isinstance(body, dict):
        raise RulesError(f"{where}: must be a table")
    known = {f.name for f in fields(RouteRules)}
    out: list[tuple[str, Any]] = []
    for key, value in body.items():
        if key not in known:
            raise RulesError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(known))})")
        out.append((key, _check(key, value, f"{where} {key}")))
    return tuple(out)


def _check(key: str, value: Any, where: str) -> Any:
    if key in _BOOLS:
        if not isinstance(value, bool):
            raise RulesError(f"{where}: must be true or false")
        return value
    if key == "tolerance":
        return _number(value, where)
    if key == "tolerances":
        if not isinstance(value, dict):
            raise RulesError(f"{where}: must be a table of path = number")
        for p in value:
            _valid_path(p, where)
        return tuple((p, _number(t, f"{where}.{p}")) for p, t in value.items())
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RulesError(f"{where}: must be a list of strings")
    for item in value:
        if key in ("ignore", "unordered"):
            _valid_path(item, where)
        elif key == "regex_masks":
            try:
                re.compile(item)
            except re.error as exc:
                raise RulesError(f"{where}: bad regular expression {item!r}: {exc}") from None
        elif key == "html_masks":
            from parity.html import check_mask

            check_mask(item, where)
    return tuple(value)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise RulesError(f"{where}: must be a non-negative number")
    return float(value)


def _valid_path(text: str, where: str) -> None:
    try:
        paths.parse(text)
    except RulesError as exc:
        raise RulesError(f"{where}: {exc}") from None


def _apply(base: RouteRules, patch: Patch) -> RouteRules:
    changes: dict[str, Any] = {}
    for key, value in patch:
        if key in _LISTS and key != "headers":
            changes[key] = (*changes.get(key, getattr(base, key)), *value)
        elif key == "tolerances":
            merged = dict(changes.get(key, getattr(base, key)))
            merged.update(value)
            changes[key] = tuple(merged.items())
        else:
            changes[key] = value
    return replace(base, **changes) if changes else base


@lru_cache(maxsize=1024)
def _merged(rules: Rules, hits: tuple[int, ...]) -> RouteRules:
    out = rules.defaults
    for i in hits:
        out = _apply(out, rules.sections[i][1])
    return out


def _key_matches(key: str, route: str, method: str, path: str) -> bool:
    if key == route:
        return True
    m = _METHOD.match(key)
    want_method, pattern = (m.group(1).upper(), m.group(2)) if m else ("", key)
    if want_method and method and want_method != method:
        return False
    if want_method and pattern == route:
        return True
    return pattern.startswith("/") and bool(path) and _path_matches(pattern, path)


def _path_matches(pattern: str, path: str) -> bool:
    want = [s for s in pattern.split("?")[0].split("/") if s]
    have = [s for s in path.split("?")[0].split("/") if s]
    for i, seg in enumerate(want):
        if seg == "**":
            return True
        if i >= len(have):
            return False
        if not (seg == "*" or (seg.startswith("{") and seg.endswith("}")) or seg == have[i]):
            return False
    return len(want) == len(have)
