"""Statement fingerprints: one text per statement shape, literals and placeholders as `?`.

This is the only place SQL text is matched with regular expressions, and only to normalise
literals, placeholders, comments and whitespace. The result is still valid SQL (every
literal and placeholder style becomes `?`, which every sqlglot dialect reads), so each
shape is parsed once, from its fingerprint, whatever placeholder style the driver used.
"""

from __future__ import annotations

import functools
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
# Text free of comments, placeholders, dollar quotes and prefixed strings (most logged
# statements) needs only strings and numbers replaced: two cheap scans, not the tokenizer.
# (Each pattern starts with a character class, so the engine skips ahead to candidates.)
_PREFIXED = re.compile(r"[EeNnXxBb]'")
_STRING = re.compile(r"'[^']*'(?:'[^']*')*")  # '' inside a string is an escaped quote
# a digit not preceded by a word character or a dot (checked after the first digit)
_NUMBER = re.compile(r"\d(?<![\w.]\d)\d*(?:\.\d+)?(?:[eE][-+]?\d+)?(?!\w)")
_SPACE = re.compile(r"\s+")
# `IN (?, ?, ?)` and multi-row VALUES differ only in how many values a request carried.
_IN_LIST = re.compile(r"\b(IN) ?\(\?(?:, \?)+\)", re.IGNORECASE)
_ROWS = re.compile(r"(\((?:\?, )*\?\))(?:, \1)+")


def _plain(sql: str) -> bool:
    """No comment, placeholder, dollar quote or prefixed string (`E'...'`) in `sql`."""
    for marker in ("?", "$", "%", ":", "#", "--", "/*"):
        if marker in sql:
            return False
    return "'" not in sql or _PREFIXED.search(sql) is None


def _replace(match: re.Match[str]) -> str:
    return " " if match.lastgroup == "comment" else "?"


def fingerprint(sql: str) -> str:
    """Return the normalised text of `sql`: comments gone, literals and placeholders `?`."""
    if _plain(sql):
        text = _STRING.sub("?", sql) if "'" in sql else sql
        return _normalise(_NUMBER.sub("?", text))
    return _normalise(_TOKENS.sub(_replace, sql))


@functools.lru_cache(maxsize=65_536)
def _normalise(text: str) -> str:
    """Spacing, `IN` lists and VALUES rows of a text whose literals are already `?`.

    Cached: with literals gone, logged statements repeat a few hundred texts, so this runs
    once per text however many lines carry it.
    """
    if "  " in text or "\n" in text or "\t" in text or "\r" in text:
        text = _SPACE.sub(" ", text)
    # no space around "(", none before ")" or ",", one after them (str.replace: C speed)
    text = text.replace(" (", "(").replace("( ", "(").replace(" )", ")").replace(" ,", ",")
    text = text.replace(", ", ",").replace(",", ", ").replace(")", ") ").replace("  ", " ")
    text = text.replace(" ,", ",").strip().rstrip(";").rstrip()
    if "?, ?" in text:
        text = _IN_LIST.sub(r"\1(?)", text)
        text = _ROWS.sub(r"\1", text)
    return text


__all__ = ["fingerprint"]
