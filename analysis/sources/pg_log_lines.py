"""PostgreSQL stderr logs, line by line: the log_line_prefix and its attribution field,
the forms a logged statement takes, and the line reader every other reader falls back to
(continuations, other messages, malformed lines).

What a byte range of a log holds once read (`Part`) is also here: the line reader makes it,
the block readers (pg_log_blocks) add to it, the reading processes (pg_log) send it back.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from analysis.errors import AnalysisError
from analysis.fingerprint import fingerprint
from analysis.workload import CACHE_LIMIT

# a statement in the message of a LOG line, in any of its forms
STATEMENT_MESSAGE = re.compile(
    # "parse"/"bind" lines repeat an "execute" one: counting them would count it thrice
    r"^(?:duration: [\d.]+ ms\s+)?(?:statement|execute [^:]*): (.*)$",
    re.DOTALL,
)
_LEVEL = r"(?P<_level>[A-Z]+\d?):\s+(?P<_message>.*)$"
_CACHE_PROBE = 5_000
NO_UNIT = "[no application name]"
# what reads the attribution field of a line whose ` LOG:  ` is at a given place
UnitOf = Callable[[str, int], str | None]


def prefix_pattern(prefix: str, key: str) -> re.Pattern[str]:
    """Compile a log_line_prefix into a line pattern with the attribution field named."""
    if f"%{key}" not in prefix:
        raise AnalysisError(
            f"--pg-log: the log_line_prefix {prefix!r} has no %{key} to attribute statements "
            "by; pass the server's prefix with --pg-log-prefix, or another escape it has "
            "with --pg-attribute-by"
        )
    parts: list[str] = []
    seen: set[str] = set()
    i = 0
    while i < len(prefix):
        if prefix[i] == "%" and i + 1 < len(prefix):
            letter = prefix[i + 1]
            if letter == "%":
                parts.append("%")
            elif letter == "q":
                pass
            elif letter == key and letter not in seen:
                parts.append("(?P<unit>.*?)")
            else:
                parts.append(".*?")
            seen.add(letter)
            i += 2
        else:
            parts.append(re.escape(prefix[i]))
            i += 1
    return re.compile("^" + "".join(parts) + _LEVEL)


def field_literal(prefix: str, key: str) -> str:
    """The text between the last escape before the attribution field and the field, when
    the prefix ends with the field and a space (`%m [%p] %a ` -> `] `); else ""."""
    head = prefix[: -len(f"%{key} ")] if prefix.endswith(f"%{key} ") else ""
    literal = head[head.rfind("%") + 2 :] if "%" in head else head
    return "" if "%" in literal else literal


def unit_reader(prefix: str, key: str, pattern: re.Pattern[str]) -> UnitOf:
    """How to read the attribution field of a line whose ` LOG:  ` is at `at`.

    When the prefix ends with the field and a space (`... %a `), the field is what lies
    between the literal before it and ` LOG:`, found with two string searches; any other
    prefix is matched with its regular expression.
    """
    literal = field_literal(prefix, key)
    if literal:

        def fast(line: str, at: int) -> str | None:
            begin = line.rfind(literal, 0, at)
            return None if begin < 0 else line[begin + len(literal) : at].strip()

        return fast

    def slow(line: str, at: int) -> str | None:
        match = pattern.match(line)
        return None if match is None else match["unit"].strip()

    return slow


def statement_of(message: str) -> str | None:
    """The SQL of a LOG message: `statement: ...`, `execute ...: ...`, `duration: ...`."""
    if message.startswith("statement: "):
        return message[11:]
    if message.startswith(("execute ", "duration: ")):
        found = STATEMENT_MESSAGE.match(message)
        return found.group(1) if found else None
    return None


@dataclass
class Part:
    """What one process found in its byte range of a log."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    statements: int = 0
    malformed: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)


def where(path: str, start: int, number: int) -> str:
    """Where line `number` of a range starting at byte `start` is (a sample's source)."""
    return f"{path}:{number}" if start == 0 else f"{path}:line {number} after byte {start}"


def _malformed(part: Part, place: str) -> None:
    part.malformed += 1
    if len(part.rejected) < 5:
        part.rejected.append((place, "does not start with the log_line_prefix"))


class LineReader:
    """The statements of one byte range, block by block (each block holds whole lines and
    ends where a statement does: its next line is not a tab-indented continuation), here
    line by line; BlockReader (pg_log_blocks) reads most blocks faster, and exactly alike.
    """

    def __init__(self, path: str, start: int, pattern: re.Pattern[str], unit_of: UnitOf) -> None:
        self.path, self.start, self.pattern, self.unit_of = path, start, pattern, unit_of
        self.part = Part()
        self.number = 0  # lines read before the current block
        self.cache: dict[str, str] = {}
        self.use_cache, self.hits = True, 0

    def lines(self, lines: list[str]) -> None:
        """Read a block line by line (continuations, other messages, malformed lines)."""
        part, path, start, cache = self.part, self.path, self.start, self.cache
        counts, samples, sources = part.counts, part.samples, part.sources
        buffer: list[str] = []
        unit, first = "", ""

        def flush() -> None:
            sql = buffer[0] if len(buffer) == 1 else "\n".join(buffer)
            fp = cache.get(sql) if self.use_cache else None
            if fp is None:
                fp = fingerprint(sql)
                if self.use_cache:
                    if len(cache) >= CACHE_LIMIT:
                        cache.clear()
                    cache[sql] = fp
                if fp not in samples:
                    samples[fp] = sql
                    sources[fp] = first
            else:
                self.hits += 1
            part.statements += 1
            counts[unit or NO_UNIT, fp] += 1
            if part.statements == _CACHE_PROBE and self.hits < _CACHE_PROBE // 10:
                self.use_cache = False  # literals inlined: every text is new, the cache only costs
                cache.clear()

        number = self.number
        for line in lines:
            number += 1
            if line.startswith("\t"):
                if buffer:
                    buffer.append(line[1:])
                continue
            if buffer:
                flush()
                buffer = []
            at = line.find(" LOG:  ")
            statement = statement_of(line[at + 7 :]) if at >= 0 else None
            if statement is None:
                # other LOG lines (durations, connections) and other levels are skipped;
                # a line that does not start with the prefix is counted as malformed
                if at < 0 and line.strip() and self.pattern.match(line) is None:
                    _malformed(part, where(path, start, number))
                continue
            found = self.unit_of(line, at)
            if found is None:
                _malformed(part, where(path, start, number))
                continue
            unit, buffer, first = found, [statement], where(path, start, number)
        if buffer:
            flush()
        self.number = number
