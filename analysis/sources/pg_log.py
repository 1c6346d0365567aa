"""PostgreSQL server logs written with log_statement=all: stderr format or csvlog.

Statements are attributed to a code unit by one field of each line: by default the
application name (`%a`, which a service sets with `application_name=` in its DSN),
or any other `log_line_prefix` escape such as `%u` (user) or `%d` (database).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from analysis.errors import AnalysisError
from analysis.workload import WorkloadBuilder

DEFAULT_PREFIX = "%m [%p] %a "
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
) -> int:
    """Add every logged statement to `builder`; return how many were read."""
    if not path.is_file():
        raise AnalysisError(f"--pg-log {path}: no such file")
    key = attribute_by.lstrip("%")
    if path.suffix.lower() == ".csv":
        return _read_csv(path, builder, key)
    return _read_stderr(path, builder, prefix, key)


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


def _read_stderr(path: Path, builder: WorkloadBuilder, prefix: str, key: str) -> int:
    pattern = prefix_pattern(prefix, key)
    count = 0
    current: tuple[str, list[str], int] | None = None

    def flush() -> None:
        nonlocal count, current
        if current is not None:
            unit, parts, line_no = current
            builder.add(
                unit or "[no application name]", "\n".join(parts), source=f"{path}:{line_no}"
            )
            count += 1
        current = None

    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\n")
            if line.startswith("\t") and current is not None:
                current[1].append(line[1:])
                continue
            flush()
            match = pattern.match(line)
            if match is None:
                if line.strip():
                    builder.reject(f"{path}:{number}", "does not start with the log_line_prefix")
                continue
            if match["_level"] != "LOG":
                continue
            statement = _MESSAGE.match(match["_message"])
            if statement is not None:
                current = (match["unit"].strip(), [statement.group(1)], number)
        flush()
    if count == 0:
        raise AnalysisError(f"--pg-log {path}: no logged statements (is log_statement=all set?)")
    return count


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
