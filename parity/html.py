"""Structural HTML comparison: both pages as trees, differences by CSS path.

Each element is compared by its own text (whitespace collapsed) and its attributes; the
children of two matched elements are lined up as sequences (difflib over a signature of
each child's masked subtree), so an inserted row is one `added` difference, not a shift
of every row after it, and identical subtrees are skipped without a walk. An element's
CSS path uses `#id`, or `[name=...]` for named elements (inputs, meta), or
`:nth-of-type(k)`, so every reported path is a selector that `html_masks` accepts. A mask
`selector@attr` hides an attribute; a mask without `@` hides an element's whole content
(text and children). Regex masks apply to every text and attribute value. Comments,
doctype and whitespace are ignored.
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
    from cssselect import HTMLTranslator, SelectorError

    selector, _, attr = mask.partition("@")
    try:
        HTMLTranslator().css_to_xpath(selector)
    except SelectorError as exc:
        raise RulesError(f"{where}: bad CSS selector {selector!r}: {exc}") from None
    if "@" in mask and not _PLAIN.match(attr):
        raise RulesError(f"{where}: bad attribute name after @ in {mask!r}")


def parse(body: bytes) -> Any:
    """The lxml document for `body`, or None when it is not HTML."""
    from lxml import etree

    try:
        root = etree.fromstring(body, etree.HTMLParser(remove_comments=True, remove_pis=True))
    except (etree.ParserError, ValueError):
        return None
    return root


class _Page:
    """One parsed page with the rules' masks applied, every element's masked attributes,
    own text, children and subtree signature worked out once, children before parents."""

    def __init__(self, doc: Any, rules: RouteRules) -> None:
        from cssselect import HTMLTranslator
        from lxml import etree

        self.rules = rules
        hidden: set[Any] = set()
        hidden_attrs: dict[Any, set[str]] = {}
        for mask in rules.html_masks:
            selector, _, attr = mask.partition("@")
            for el in doc.xpath(HTMLTranslator().css_to_xpath(selector)):
                if attr:
                    hidden_attrs.setdefault(el, set()).add(attr)
                else:
                    hidden.add(el)
        self.attrs: dict[Any, dict[str, str]] = {}
        self.text: dict[Any, str] = {}
        self.children: dict[Any, list[Any]] = {}
        self.signature: dict[Any, int] = {}
        for el in reversed(list(doc.iter(etree.Element))):  # descendants before ancestors
            values = {name: self._mask(value) for name, value in el.attrib.items()}
            values.update(dict.fromkeys(hidden_attrs.get(el, ()), MASK))
            self.attrs[el] = values
            if el in hidden:
                self.text[el], kids = MASK, []
            else:
                raw = " ".join([el.text or "", *(c.tail or "" for c in el)])
                self.text[el] = self._mask(_SPACE.sub(" ", raw).strip())
                kids = list(el.iterchildren(etree.Element))
            self.children[el] = kids
            own = (el.tag, tuple(sorted(values.items())), self.text[el])
            self.signature[el] = hash((own, tuple(self.signature[c] for c in kids)))

    def _mask(self, text: str) -> str:
        for regex in self.rules.regexes:
            text = regex.sub(MASK, text)
        return text

    def content(self, el: Any) -> str:
        """The element's whole text (masked), for a missing or added element."""
        words = [self.text[el], *(self.content(c) for c in self.children[el])]
        return " ".join(w for w in words if w)


def diff(legacy_doc: Any, candidate_doc: Any, rules: RouteRules) -> list[Difference]:
    """Differences between two parsed pages, in the legacy page's order."""
    a, b = _Page(legacy_doc, rules), _Page(candidate_doc, rules)
    out: list[Difference] = []
    _diff(a, b, legacy_doc, candidate_doc, legacy_doc.tag, out)
    return out


def _diff(a: _Page, b: _Page, x: Any, y: Any, path: str, out: list[Difference]) -> None:
    if a.signature[x] == b.signature[y]:
        return
    ax, by = a.attrs[x], b.attrs[y]
    for name in sorted(ax.keys() | by.keys()):
        if ax.get(name) != by.get(name):
            kind = "changed" if name in ax and name in by else "missing" if name in ax else "added"
            if kind != "added" or not a.rules.subset:
                out.append(_difference(f"{path}@{name}", kind, ax.get(name), by.get(name)))
    if a.text[x] != b.text[y]:
        out.append(_difference(path, "changed", a.text[x], b.text[y]))
    xs, ys = a.children[x], b.children[y]
    px, py = _paths(xs, path), _paths(ys, path)
    keys_x, keys_y = [a.signature[c] for c in xs], [b.signature[c] for c in ys]
    matcher = difflib.SequenceMatcher(None, keys_x, keys_y, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        i, j = i1, j1
        while i < i2 and j < j2 and xs[i].tag == ys[j].tag:  # changed in place
            _diff(a, b, xs[i], ys[j], px[i], out)
            i, j = i + 1, j + 1
        for k in range(i, i2):
            out.append(_difference(px[k], "missing", a.content(xs[k]), None))
        if not a.rules.subset:
            for k in range(j, j2):
                out.append(_difference(py[k], "added", None, b.content(ys[k])))


def _paths(children: list[Any], parent: str) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for child in children:
        seen[child.tag] = seen.get(child.tag, 0) + 1
        out.append(f"{parent}>{_step(child, seen[child.tag])}")
    return out


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
