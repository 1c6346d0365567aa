"""The monolith's SQL attribution log: JSON Lines with `sql` and `endpoint` per statement."""

from __future__ import annotations

import json
from pathlib import Path

from analysis.errors import AnalysisError
from analysis.workload import Progress, WorkloadBuilder

_PROGRESS_EVERY = 1 << 20  # bytes between progress callbacks


def read_attribution_log(
    path: Path, builder: WorkloadBuilder, progress: Progress | None = None
) -> int:
    """Add every statement of the log to `builder`; return the number of statements read.

    Lines that are not JSON objects with string `sql` and `endpoint` are counted and
    skipped (the first few are kept as examples); the run continues.
    """
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise AnalysisError(f"--log {path}: no such file") from None
    except OSError as exc:
        raise AnalysisError(f"--log {path}: cannot read: {exc.strerror}") from None
    counts = builder.counts
    cache = builder.cache
    dialects = builder.dialects
    source = str(path)
    good = lines = 0
    pending = 0
    loads = json.loads
    with handle:
        for lines, line in enumerate(handle, 1):
            pending += len(line)
            if pending >= _PROGRESS_EVERY and progress is not None:
                progress(pending)
                pending = 0
            try:
                record = loads(line)
                endpoint = record["endpoint"]
                sql = record["sql"]
                if type(endpoint) is not str or type(sql) is not str:
                    raise TypeError
            except (ValueError, KeyError, TypeError, IndexError):
                if line.strip():
                    builder.reject(f"{path}:{lines}", _why(line))
                continue
            if "dialect" in record:
                dialects[record["dialect"]] += 1
            fp = cache.get(sql)
            if fp is None:
                fp = builder.fingerprint_of(sql, f"{source}:{lines}")
            counts[endpoint, fp] += 1
            good += 1
    if progress is not None and pending:
        progress(pending)
    if lines == 0:
        raise AnalysisError(f"--log {path}: the file is empty")
    if good == 0:
        first = builder.malformed_examples[0] if builder.malformed_examples else "blank lines"
        raise AnalysisError(f"--log {path}: no statement records in {lines} lines ({first})")
    builder.total += good
    return good


def _why(line: bytes) -> str:
    """Say what is wrong with a line that is not a statement record."""
    try:
        record = json.loads(line)
    except ValueError as exc:
        return f"not JSON ({exc.msg})" if hasattr(exc, "msg") else "not UTF-8 JSON"
    if not isinstance(record, dict):
        return "not a JSON object"
    for key in ("sql", "endpoint"):
        if key not in record:
            return f"missing {key!r}"
        if not isinstance(record[key], str):
            return f"{key!r} is not a string"
    return "unreadable record"
