"""Dialect names and splitting SQL text into statements with sqlglot's tokenizer."""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from analysis.errors import AnalysisError

_ALIASES = {"generic": None, "": None, "ansi": None, "postgresql": "postgres", "pg": "postgres"}
COMMON_DIALECTS = ("generic", "postgres", "mysql", "sqlite")


def resolve_dialect(name: str | None) -> str | None:
    """Return the sqlglot dialect for a user-given name (None is sqlglot's generic SQL)."""
    if name is None:
        return None
    key = name.strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    try:
        Dialect.get_or_raise(key)
    except ValueError:
        others = {d.value for d in sqlglot.Dialects if d.value} - set(COMMON_DIALECTS)
        known = ", ".join(COMMON_DIALECTS + tuple(sorted(others)))
        raise AnalysisError(f"unknown dialect {name!r} (known: {known})") from None
    return key


@dataclass(frozen=True)
class Chunk:
    """One statement's text and the line it starts on."""

    sql: str
    line: int


def split_statements(text: str, dialect: str | None) -> list[Chunk]:
    """Split a script at top-level semicolons, so one bad statement does not lose the rest."""
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(text)
    except TokenError:
        return _split_lines(text, dialect)
    chunks: list[Chunk] = []
    start: int | None = None
    end = 0
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            if start is not None:
                chunks.append(_chunk(text, start, end))
            start = None
            continue
        if start is None:
            start = token.start
        end = token.end
    if start is not None:
        chunks.append(_chunk(text, start, end))
    return chunks


def _chunk(text: str, start: int, end: int) -> Chunk:
    return Chunk(text[start : end + 1], text.count("\n", 0, start) + 1)


def _split_lines(text: str, dialect: str | None) -> list[Chunk]:
    """Fallback for text the tokenizer rejects: cut after lines ending in `;`, retry each."""
    chunks: list[Chunk] = []
    buffer: list[str] = []
    first = 1
    for number, line in enumerate(text.splitlines(), 1):
        if not buffer:
            first = number
        buffer.append(line)
        if line.rstrip().endswith(";"):
            chunks.extend(_retokenize("\n".join(buffer), first, dialect))
            buffer = []
    if buffer and "".join(buffer).strip():
        chunks.extend(_retokenize("\n".join(buffer), first, dialect))
    return chunks


def _retokenize(piece: str, first_line: int, dialect: str | None) -> list[Chunk]:
    try:
        Dialect.get_or_raise(dialect).tokenize(piece)
    except TokenError:
        stripped = piece.strip().rstrip(";")
        return [Chunk(stripped, first_line)] if stripped else []
    return [Chunk(c.sql, c.line + first_line - 1) for c in split_statements(piece, dialect)]
