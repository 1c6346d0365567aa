"""Structural HTML comparison: flatten each page into fields by CSS path, then diff.

A page becomes an ordered map: one entry per element (its own text, whitespace
collapsed) and one per attribute (`path@name`). An element's CSS path uses `#id`, or
`[name=...]` for named elements (inputs, meta), or `:nth-of-type(k)`, so every path is
also a selector that `html_masks` accepts. A mask `selector@attr` hides an attribute; a
mask without `@` hides an element's whole content (text and children). Regex masks
apply to every text and attribute value. Comments, doctype and whitespace are ignored.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from parity.errors import RulesError
from parity.model import MASK, Difference
from parity.rules import RouteRules

_SPACE = re.compile(r"\s+")
_NTH = re.compile(r":nth-of-type\(\d+\)")
_PLAIN = re.compile(r"^[A-Za-z0-9_\-]+$")
_ROOTS = ("html", "head", "body")


def check_mask(mask: str, where: str) -> None:
    """Raise RulesError unless `mask` is `CSS-SELECTOR` or `CSS-SELECTOR@attr`."""
    from cssselect import GenericTranslator, SelectorError

    selector, _, attr = mask.partition("@")
    try:
        GenericTranslator().css_to_xpath(selector)
    except SelectorError as exc:
        raise RulesError(f"{where}: bad CSS selector {selector!r}: {exc}") from None
    if "@" in mask and not _PLAIN.match(attr):
        raise RulesError(f"{where}: bad attribute name after @ in {mask!r}")


def parse(body: bytes) -> Any:
    """The lxml document for `body`, or None when it is not HTML."""
    import lxml.html
    from lxml import etree

    try:
        return lxml.html.document_fromstring(body)
    except (etree.ParserError, ValueError):
        return None


def flatten(doc: Any, rules: RouteRules) -> dict[str, str]:
    """Every element's text and every attribute, by CSS path, masks applied."""
    hidden: set[Any] = set()
    hidden_attrs: set[tuple[Any, str]] = set()
    for mask in rules.html_masks:
        selector, _, attr = mask.partition("@")
        for el in doc.cssselect(selector):
            if attr:
                hidden_attrs.add((el, attr))
            else:
                hidden.add(el)
    out: dict[str, str] = {}
    _walk(doc, doc.tag, rules, hidden, hidden_attrs, out)
    return out


def _walk(
    el: Any, path: str, rules: RouteRules, hidden: set[Any], attrs: set[Any], out: dict[str, str]
) -> None:
    for name, value in sorted(el.attrib.items()):
        out[f"{path}@{name}"] = MASK if (el, name) in attrs else _mask(value, rules)
    if el in hidden:
        out[path] = MASK
        return
    children = [c for c in el if isinstance(c.tag, str)]
    text = " ".join([el.text or "", *(c.tail or "" for c in el)])
    out[path] = _mask(_SPACE.sub(" ", text).strip(), rules)
    seen: dict[str, int] = {}
    totals: dict[str, int] = {}
    for child in children:
        totals[child.tag] = totals.get(child.tag, 0) + 1
    for child in children:
        seen[child.tag] = seen.get(child.tag, 0) + 1
        _walk(child, f"{path}>{_step(child, seen[child.tag])}", rules, hidden, attrs, out)


def _step(el: Any, nth: int) -> str:
    tag = el.tag
    if tag in _ROOTS:
        return tag
    ident = el.get("id")
    if ident and _PLAIN.match(ident):
        return f"{tag}#{ident}"
    name = el.get("name")
    if name:
        return f'{tag}[name="{name}"]' if not _PLAIN.match(name) else f"{tag}[name={name}]"
    return f"{tag}:nth-of-type({nth})"


def _mask(text: str, rules: RouteRules) -> str:
    for regex in rules.regexes:
        text = regex.sub(MASK, text)
    return text


def diff(legacy: dict[str, str], candidate: dict[str, str], rules: RouteRules) -> list[Difference]:
    """Differences between two flattened pages, in the legacy page's order."""
    out: list[Difference] = []
    for path, value in legacy.items():
        if path not in candidate:
            if not _inside_missing(path, candidate, legacy):
                out.append(_difference(path, "missing", value, None))
        elif candidate[path] != value:
            out.append(_difference(path, "changed", value, candidate[path]))
    if not rules.subset:
        for path, value in candidate.items():
            if path not in legacy and not _inside_missing(path, legacy, candidate):
                out.append(_difference(path, "added", None, value))
    return out


def _inside_missing(path: str, other: dict[str, str], mine: dict[str, str]) -> bool:
    """True when an ancestor element of `path` is already reported missing/added."""
    element = path.split("@")[0]
    if element != path:  # an attribute: its element is reported (if missing)
        return element not in other and element in mine
    parent = element.rpartition(">")[0]
    return bool(parent) and parent not in other and parent in mine


def general(path: str) -> str:
    return _NTH.sub(":nth-of-type(*)", path)


def _difference(path: str, kind: str, a: str | None, b: str | None) -> Difference:
    element, at, _ = path.partition("@")
    if kind in ("missing", "added") and not at:
        mask = element.rpartition(">")[0] or element
    else:
        mask = path
    detail = _word_diff(a, b) if kind == "changed" and len(a or "") + len(b or "") > 80 else ""
    return Difference(path, general(path), kind, a, b, f'html_masks = ["{mask}"]', detail)


def _word_diff(a: str | None, b: str | None) -> str:
    """A compact inline diff: unchanged words, [-removed-] and {+added+}."""
    x, y = (a or "").split(), (b or "").split()
    parts: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, x, y, autojunk=False).get_opcodes():
        if op == "equal":
            words = x[i1:i2]
            parts.append(
                " ".join(words)
                if len(words) <= 6
                else f"{' '.join(words[:3])} ... {' '.join(words[-3:])}"
            )
        else:
            if i2 > i1:
                parts.append("[-" + " ".join(x[i1:i2]) + "-]")
            if j2 > j1:
                parts.append("{+" + " ".join(y[j1:j2]) + "+}")
    return " ".join(parts)
