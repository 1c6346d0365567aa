"""Statement fingerprints: one text per statement shape, literals and placeholders as `?`.

This is the only place SQL text is matched with regular expressions, and only to normalise
literals, placeholders, comments and whitespace. The result is still valid SQL (every
literal and placeholder style becomes `?`, which every sqlglot dialect reads), so each
shape is parsed once, from its fingerprint, whatever placeholder style the driver used.
"""

from __future__ import annotations

import re

_TOKENS = re.compile(
    r"""
      (?P<comment>--[^\n]*|/\*.*?\*/)
    | (?P<string>[EeNnXxBb]?'(?:[^']|'')*')
    | (?P<dollar>\$(?P<tag>[A-Za-z_]*)\$.*?\$(?P=tag)\$)
    | (?P<param>\#\{[^}]*\}|\$\{[^}]*\}|%\([^)]*\)s|%s|\$\d+|(?<![:\w]):[A-Za-z_]\w*|\?)
    | (?P<number>(?<![\w.])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w]))
    """,
    re.VERBOSE | re.DOTALL,
)
_SPACE = re.compile(r"\s+")
# `IN (?, ?, ?)` and multi-row VALUES differ only in how many values a request carried.
_IN_LIST = re.compile(r"\b(IN) ?\(\?(?:, \?)+\)", re.IGNORECASE)
_ROWS = re.compile(r"(\((?:\?, )*\?\))(?:, \1)+")
_PUNCT_SPACE = re.compile(r"\s*([(),])\s*")


def _replace(match: re.Match[str]) -> str:
    return " " if match.lastgroup == "comment" else "?"


def fingerprint(sql: str) -> str:
    """Return the normalised text of `sql`: comments gone, literals and placeholders `?`."""
    text = _TOKENS.sub(_replace, sql)
    text = _PUNCT_SPACE.sub(_punct, text)
    text = _SPACE.sub(" ", text).replace(" ,", ",").strip().rstrip(";").rstrip()
    text = _IN_LIST.sub(r"\1(?)", text)
    return _ROWS.sub(r"\1", text)


def _punct(match: re.Match[str]) -> str:
    char = match.group(1)
    return {",": ", ", ")": ") ", "(": "("}[char]


__all__ = ["fingerprint"]
