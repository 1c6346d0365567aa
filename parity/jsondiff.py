"""Canonical JSON comparison: normalise both values by the rules, then list differences.

Normalising drops ignored fields, masks strings by regex and sorts order-insensitive
arrays (by their canonical JSON). Diffing walks both values once: numbers compare
numerically within the tolerance for their path; an array whose elements only differ in
order is one "order" difference; with `subset` the candidate may add object fields.
"""

from __future__ import annotations

import json
from typing import Any

from parity import paths
from parity.model import MASK, Difference
from parity.rules import RouteRules

_EPSILON = 1e-12  # relative float noise: 10.0 - 9.99 is 0.0100000000000016


def normalise(value: Any, rules: RouteRules, path: paths.Path = ()) -> Any:
    """`value` with ignored fields dropped, strings masked and unordered arrays sorted."""
    if not (rules.ignore or rules.unordered or rules.regex_masks):
        return value
    return _normalise(value, rules, path)


def _normalise(value: Any, rules: RouteRules, path: paths.Path) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            sub = (*path, key)
            if not paths.any_match(rules.ignore_patterns, sub):
                out[key] = _normalise(item, rules, sub)
        return out
    if isinstance(value, list):
        items = [
            _normalise(item, rules, (*path, i))
            for i, item in enumerate(value)
            if not paths.any_match(rules.ignore_patterns, (*path, i))
        ]
        if paths.any_match(rules.unordered_patterns, path):
            items.sort(key=canonical)
        return items
    if isinstance(value, str) and rules.regexes:
        for regex in rules.regexes:
            value = regex.sub(MASK, value)
    return value


def canonical(value: Any) -> str:
    """One text per JSON value: sorted keys, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def diff(legacy: Any, candidate: Any, rules: RouteRules) -> list[Difference]:
    """The differences between two normalised JSON values, in path order."""
    out: list[Difference] = []
    _diff(legacy, candidate, (), rules, out)
    return out


def _diff(a: Any, b: Any, path: paths.Path, rules: RouteRules, out: list[Difference]) -> None:
    kind = type(a)
    if kind is type(b) and kind is not dict and kind is not list and kind is not float and a == b:
        return  # the common case: an equal scalar
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(a.keys() | b.keys(), key=str):
            sub = (*path, key)
            if key not in b:
                out.append(_difference(sub, "missing", a[key], None))
            elif key not in a:
                if not rules.subset:
                    out.append(_difference(sub, "added", None, b[key]))
            else:
                _diff(a[key], b[key], sub, rules, out)
    elif isinstance(a, list) and isinstance(b, list):
        found: list[Difference] = []
        moved: set[int] = set()  # positions that differ; a reorder moves at least two
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            before = len(found)
            _diff(x, y, (*path, i), rules, found)
            if len(found) > before:
                moved.add(i)
        if len(a) == len(b) and len(moved) > 1 and _same_elements(a, b):
            out.append(_difference(path, "order", a, b))
            return
        out.extend(found)
        for i in range(len(b), len(a)):
            out.append(_difference((*path, i), "missing", a[i], None))
        for i in range(len(a), len(b)):
            out.append(_difference((*path, i), "added", None, b[i]))
    elif _is_number(a) and _is_number(b):
        if a != b and abs(a - b) > rules.tolerance_at(path) + _float_noise(a, b):
            out.append(_difference(path, "changed", a, b))
    elif type(a) is not type(b) and not (a is None or b is None):
        out.append(_difference(path, "type", a, b))
    elif a != b:
        out.append(_difference(path, "changed", a, b))


def _same_elements(a: list[Any], b: list[Any]) -> bool:
    return sorted(map(canonical, a)) == sorted(map(canonical, b))


def _float_noise(a: float, b: float) -> float:
    """Slack for binary floating point (none between two integers)."""
    if isinstance(a, int) and isinstance(b, int):
        return 0.0
    return _EPSILON * max(1.0, abs(a), abs(b))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _difference(path: paths.Path, kind: str, a: Any, b: Any) -> Difference:
    field = paths.general(path)
    return Difference(paths.format_path(path), field, kind, a, b, suggest(field, kind, a, b))


def suggest(field: str, kind: str, a: Any, b: Any) -> str:
    """The rules-file line that would silence this difference."""
    if kind == "added":
        return "subset = true"
    if kind == "order":
        return f"unordered = [{json.dumps(field)}]"
    if kind == "changed" and _is_number(a) and _is_number(b):
        return f"tolerances.{json.dumps(field)} = {_round_up(abs(a - b))}"
    return f"ignore = [{json.dumps(field)}]"


def _round_up(delta: float) -> float:
    """A tidy tolerance at or just above `delta` (0.0100000001 -> 0.01, 0.0049 -> 0.0049)."""
    delta = round(delta, 9)
    tidy = float(f"{delta:.2g}")
    return tidy if tidy >= delta else float(f"{delta * 1.05:.2g}")
