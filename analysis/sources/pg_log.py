"""PostgreSQL server logs written with log_statement=all: stderr format or csvlog.

Statements are attributed to a code unit by one field of each line: by default the
application name (`%a`, which a service sets with `application_name=` in its DSN),
or any other `log_line_prefix` escape such as `%u` (user) or `%d` (database).
"""

from __future__ import annotations

import csv
import multiprocessing
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from analysis.errors import AnalysisError
from analysis.fingerprint import fingerprint
from analysis.workload import CACHE_LIMIT, WorkloadBuilder

DEFAULT_PREFIX = "%m [%p] %a "
# below this many bytes per process, starting processes costs more than it saves
PARALLEL_MIN_BYTES = 16 * 1024 * 1024
# csvlog column positions (PostgreSQL 13+ adds columns at the end, never in between).
_CSV_COLUMNS = {"a": 22, "u": 1, "d": 2, "p": 3, "h": 4, "r": 4, "c": 5, "b": 23}
_CSV_MESSAGE = 13
_MESSAGE = re.compile(
    # "parse"/"bind" lines repeat an "execute" one: counting them would count it thrice
    r"^(?:duration: [\d.]+ ms\s+)?(?:statement|execute [^:]*): (.*)$",
    re.DOTALL,
)
_LEVEL = r"(?P<_level>[A-Z]+\d?):\s+(?P<_message>.*)$"


def read_pg_log(
    path: Path,
    builder: WorkloadBuilder,
    prefix: str = DEFAULT_PREFIX,
    attribute_by: str = "a",
    jobs: int = 1,
) -> int:
    """Add every logged statement to `builder`; return how many were read.

    A large stderr log is read by up to `jobs` processes, each fingerprinting and counting
    its own byte range (statements with inlined literals make fingerprinting the cost).
    """
    if not path.is_file():
        raise AnalysisError(f"--pg-log {path}: no such file")
    key = attribute_by.lstrip("%")
    if path.suffix.lower() == ".csv":
        return _read_csv(path, builder, key)
    return _read_stderr(path, builder, prefix, key, jobs)


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


def _read_stderr(path: Path, builder: WorkloadBuilder, prefix: str, key: str, jobs: int) -> int:
    prefix_pattern(prefix, key)  # fails early, in this process, on a prefix without the key
    size = path.stat().st_size
    jobs = max(1, min(jobs, size // PARALLEL_MIN_BYTES))
    ranges = _chunks(path, size, jobs)
    if len(ranges) == 1:
        parts = [_scan(str(path), prefix, key, *ranges[0])]
    else:
        # each process reads its own byte range of the file; only the counts come back
        with multiprocessing.get_context("fork").Pool(len(ranges)) as pool:
            parts = pool.starmap(_scan, [(str(path), prefix, key, a, b) for a, b in ranges])
    count = 0
    for part in parts:
        count += part.statements
        builder.merge(part.counts, part.samples, part.sources)
        for where, reason in part.rejected:
            builder.reject(where, reason)
        builder.malformed += part.malformed - len(part.rejected)
    if count == 0:
        raise AnalysisError(f"--pg-log {path}: no logged statements (is log_statement=all set?)")
    return count


@dataclass
class _Part:
    """What one process found in its byte range of a log."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    statements: int = 0
    malformed: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)


def _chunks(path: Path, size: int, jobs: int) -> list[tuple[int, int]]:
    """Split the file into `jobs` byte ranges, each starting at a line that is not a
    continuation (a tab-indented line belongs to the statement before it)."""
    starts = [0]
    with path.open("rb") as handle:
        for i in range(1, jobs):
            handle.seek(size * i // jobs)
            handle.readline()  # the rest of a line cut in two
            while True:
                offset = handle.tell()
                line = handle.readline()
                if not line or not line.startswith(b"\t"):
                    break
            if starts[-1] < offset < size:
                starts.append(offset)
    return list(zip(starts, [*starts[1:], size], strict=True))


def _scan(path: str, prefix: str, key: str, start: int, end: int) -> _Part:
    """Fingerprint and count every statement in bytes [start, end) of a stderr log."""
    pattern = prefix_pattern(prefix, key)
    unit_of = _unit_reader(prefix, key, pattern)
    part = _Part()
    counts, samples, sources = part.counts, part.samples, part.sources
    cache: dict[str, str] = {}
    use_cache, hits = True, 0
    lines: list[str] = []
    unit, first = "", ""

    def flush() -> None:
        nonlocal use_cache, hits
        sql = lines[0] if len(lines) == 1 else "\n".join(lines)
        fp = cache.get(sql) if use_cache else None
        if fp is None:
            fp = fingerprint(sql)
            if use_cache:
                if len(cache) >= CACHE_LIMIT:
                    cache.clear()
                cache[sql] = fp
            if fp not in samples:
                samples[fp] = sql
                sources[fp] = first
        else:
            hits += 1
        part.statements += 1
        counts[unit or "[no application name]", fp] += 1
        if part.statements == _CACHE_PROBE and hits < _CACHE_PROBE // 10:
            use_cache = False  # literals inlined: every text is new, the cache only costs
            cache.clear()

    number = 0
    for line in _lines(path, start, end):
        number += 1
        if line.startswith("\t"):
            if lines:
                lines.append(line[1:])
            continue
        if lines:
            flush()
            lines = []
        at = line.find(" LOG:  ")
        statement = _statement_of(line[at + 7 :]) if at >= 0 else None
        if statement is None:
            # other LOG lines (durations, connections) and other levels are skipped;
            # a line that does not start with the prefix is counted as malformed
            if at < 0 and line.strip() and pattern.match(line) is None:
                _malformed(part, _where(path, start, number))
            continue
        found = unit_of(line, at)
        if found is None:
            _malformed(part, _where(path, start, number))
            continue
        unit, lines, first = found, [statement], _where(path, start, number)
    if lines:
        flush()
    return part


_BLOCK = 4 * 1024 * 1024
_CACHE_PROBE = 5_000


def _lines(path: str, start: int, end: int) -> Iterator[str]:
    """The lines starting in bytes [start, end), read in large blocks."""
    with open(path, "rb") as handle:
        handle.seek(start)
        left, carry = end - start, b""
        while left > 0:
            block = handle.read(min(_BLOCK, left))
            if not block:
                break
            left -= len(block)
            block = carry + block
            cut = block.rfind(b"\n") + 1 if left > 0 else len(block)
            carry = block[cut:]
            yield from block[:cut].decode("utf-8", "replace").splitlines()
        if carry:  # the range's last line runs past `end`: it started inside it
            rest = carry + handle.readline()
            yield from rest.decode("utf-8", "replace").splitlines()


def _where(path: str, start: int, number: int) -> str:
    return f"{path}:{number}" if start == 0 else f"{path}:line {number} after byte {start}"


def _unit_reader(
    prefix: str, key: str, pattern: re.Pattern[str]
) -> Callable[[str, int], str | None]:
    """How to read the attribution field of a line whose ` LOG:  ` is at `at`.

    When the prefix ends with the field and a space (`... %a `), the field is what lies
    between the literal before it and ` LOG:`, found with two string searches; any other
    prefix is matched with its regular expression.
    """
    head = prefix[: -len(f"%{key} ")] if prefix.endswith(f"%{key} ") else ""
    literal = head[head.rfind("%") + 2 :] if "%" in head else head
    if literal and "%" not in literal:

        def fast(line: str, at: int) -> str | None:
            begin = line.rfind(literal, 0, at)
            return None if begin < 0 else line[begin + len(literal) : at].strip()

        return fast

    def slow(line: str, at: int) -> str | None:
        match = pattern.match(line)
        return None if match is None else match["unit"].strip()

    return slow


def _statement_of(message: str) -> str | None:
    """The SQL of a LOG message: `statement: ...`, `execute ...: ...`, `duration: ...`."""
    if message.startswith("statement: "):
        return message[11:]
    if message.startswith(("execute ", "duration: ")):
        found = _MESSAGE.match(message)
        return found.group(1) if found else None
    return None


def _malformed(part: _Part, where: str) -> None:
    part.malformed += 1
    if len(part.rejected) < 5:
        part.rejected.append((where, "does not start with the log_line_prefix"))


def _read_csv(path: Path, builder: WorkloadBuilder, key: str) -> int:
    if key not in _CSV_COLUMNS:
        known = ", ".join(f"%{k}" for k in _CSV_COLUMNS)
        raise AnalysisError(f"--pg-attribute-by %{key}: csvlog has no such field ({known})")
    column = _CSV_COLUMNS[key]
    count = 0
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        for number, row in enumerate(csv.reader(handle), 1):
            if len(row) <= max(column, _CSV_MESSAGE):
                builder.reject(f"{path}:row {number}", f"{len(row)} columns, not a csvlog row")
                continue
            if row[11] != "LOG":
                continue
            statement = _MESSAGE.match(row[_CSV_MESSAGE])
            if statement is not None:
                unit = row[column].strip() or "[no application name]"
                builder.add(unit, statement.group(1), source=f"{path}:row {number}")
                count += 1
    if count == 0:
        raise AnalysisError(f"--pg-log {path}: no logged statements (is log_statement=all set?)")
    return count
