"""Statement fingerprints: one text per statement shape, literals and placeholders as `?`.

This is the only place SQL text is matched with regular expressions, and only to normalise
literals, placeholders, comments and whitespace. The result is still valid SQL (every
literal and placeholder style becomes `?`, which every sqlglot dialect reads), so each
shape is parsed once, from its fingerprint, whatever placeholder style the driver used.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate
from operator import add, itemgetter

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
# The same two patterns for many statements joined by newlines (none may cross one); the
# numbers led by [0-9] instead of \d, which lets the engine skip ahead faster (ASCII only).
_STRING_LINE = re.compile(r"'[^'\n]*'(?:'[^'\n]*')*")
NUMBER_ASCII = re.compile(r"[0-9](?<![\w.][0-9])[0-9]*(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?(?!\w)")
# what sends a statement to the tokenizer (a one-character search first: much faster)
MARKERS = ("?", "$", "%", ":", "#", "--", "/*")
_PREFIXED_QUOTE = re.compile(r"'(?<=[EeNnXxBb]')")  # led by the quote: a fast scan
_SPACE = re.compile(r"\s+")
# `IN (?, ?, ?)` and multi-row VALUES differ only in how many values a request carried.
_IN_LIST = re.compile(r"\b(IN) ?\(\?(?:, \?)+\)", re.IGNORECASE)
_ROWS = re.compile(r"(\((?:\?, )*\?\))(?:, \1)+")


def _plain(sql: str) -> bool:
    """No comment, placeholder, dollar quote or prefixed string (`E'...'`) in `sql`."""
    for marker in MARKERS:
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


def fingerprint_many(statements: list[str], cache: dict[str, str] | None = None) -> list[str]:
    """`[fingerprint(s) for s in statements]`, with the literals of all of them replaced in
    two passes over their text joined by newlines, instead of two passes per statement.

    Statements that need the tokenizer (see `_plain`) or hold a newline are fingerprinted
    one by one, through `cache` (raw text -> fingerprint) when one is given.
    """
    count = len(statements)
    if count == 0:
        return []
    joined = "\n".join(statements)
    alone = _not_plain(joined, statements)
    if joined.count("\n") != count - 1:  # a statement with a newline in it
        alone.update(i for i, sql in enumerate(statements) if "\n" in sql)
        joined = "\n".join("" if i in alone else sql for i, sql in enumerate(statements))
    if "'" in joined:
        joined = _STRING_LINE.sub("?", joined)
    if joined.isascii():
        result = _numbers_by_skeleton(joined)
    else:
        result = list(map(_normalise, _NUMBER.sub("?", joined).split("\n")))
    for i in alone:
        sql = statements[i]
        found = cache.get(sql) if cache is not None else None
        if found is None:
            found = fingerprint(sql)
            if cache is not None:
                cache[sql] = found
        result[i] = found
    return result


# Numbers by skeleton: a text's skeleton is the text with every digit made "0". Where a
# number is replaced depends only on which characters are digits, word characters, dots,
# signs or `e` (NUMBER_ASCII's classes), which the skeleton keeps: texts with one skeleton
# have their numbers at the same places, and differ elsewhere only in the digits of names
# (`col_17`, `t2`). So the literal-free text is known from the skeleton and those digits,
# and the number pattern runs once per (skeleton, digits of names), not once per text.
DIGITS_TO_ZERO = str.maketrans("0123456789", "0" * 10)
_SKELETONS: dict[str, tuple[Callable[[str], object] | None, dict[object, str]]] = {}
_SKELETON_LIMIT = 20_000
_NEW_SKELETONS_SHARE = 20  # more than 1 in 20 texts with a new skeleton: not worth it


def _numbers_by_skeleton(texts: str) -> list[str]:
    """Normalised texts, numbers `?`, of ASCII texts joined by newlines (strings done)."""
    skeletons = texts.translate(DIGITS_TO_ZERO).split("\n")
    raw = texts.split("\n")
    known = _SKELETONS
    new = set(skeletons).difference(known)
    if len(new) * _NEW_SKELETONS_SHARE > len(skeletons):  # too varied: plainly, then
        return list(map(_normalise, NUMBER_ASCII.sub("?", texts).split("\n")))
    if len(known) + len(new) > _SKELETON_LIMIT:
        known.clear()
        new = set(skeletons)
    for skeleton in new:
        known[skeleton] = (_name_digits(skeleton), {})
    result: list[str] = []
    append = result.append
    for skeleton, text in zip(skeletons, raw, strict=True):
        digits_of, done = known[skeleton]
        key = digits_of(text) if digits_of is not None else None
        found = done.get(key)
        if found is None:
            found = done[key] = _normalise(NUMBER_ASCII.sub("?", text))
        append(found)
    return result


def _name_digits(skeleton: str) -> Callable[[str], object] | None:
    """What picks the digits outside numbers (those of names) from a text of `skeleton`."""
    places: list[int] = []
    end = 0
    for number in [*NUMBER_ASCII.finditer(skeleton), None]:
        stop = number.start() if number is not None else len(skeleton)
        at = skeleton.find("0", end, stop)
        while at >= 0:
            places.append(at)
            at = skeleton.find("0", at + 1, stop)
        if number is not None:
            end = number.end()
    return itemgetter(*places) if places else None


def _not_plain(joined: str, statements: list[str]) -> set[int]:
    """The indexes of the statements `_plain` rejects, found by searching `joined` (the
    statements joined by newlines) for each marker rather than each statement for all."""
    markers = [marker for marker in MARKERS if marker[0] in joined and marker in joined]
    quote = _PREFIXED_QUOTE.search(joined) if "'" in joined else None
    if not markers and quote is None:
        return set()
    # ends[i]: where statement i+1 starts in `joined` (just after statement i's newline)
    ends = list(map(add, accumulate(map(len, statements)), range(1, len(statements) + 1)))
    found: set[int] = set()
    for marker in markers:
        at = joined.find(marker)
        while at >= 0:
            i = bisect_right(ends, at)
            found.add(i)
            at = joined.find(marker, ends[i]) if i + 1 < len(ends) else -1
    while quote is not None:
        i = bisect_right(ends, quote.start())
        found.add(i)
        quote = _PREFIXED_QUOTE.search(joined, ends[i]) if i + 1 < len(ends) else None
    return found


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


__all__ = ["DIGITS_TO_ZERO", "MARKERS", "NUMBER_ASCII", "fingerprint", "fingerprint_many"]
