"""A pg_stat_statements export (CSV with a header, or JSON): each query weighted by calls.

The view has no caller, so every query is its own code unit (`pgss:<queryid>`): the
graph then rests on what statements join and write together, not on endpoints.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from analysis.errors import AnalysisError
from analysis.workload import WorkloadBuilder


def read_pg_stat_statements(path: Path, builder: WorkloadBuilder) -> int:
    """Add every exported query with its call count; return how many rows were used."""
    if not path.is_file():
        raise AnalysisError(f"--pg-stat-statements {path}: no such file")
    text = path.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        raise AnalysisError(f"--pg-stat-statements {path}: the file is empty")
    rows = _json_rows(text, path) if text.lstrip()[:1] in "[{" else _csv_rows(text, path)
    used = 0
    for number, row in enumerate(rows, 1):
        query, calls = row.get("query"), row.get("calls", 1)
        try:
            calls = int(calls)
        except (TypeError, ValueError):
            builder.reject(f"{path}:row {number}", f"calls {calls!r} is not a number")
            continue
        if not isinstance(query, str) or not query.strip():
            builder.reject(f"{path}:row {number}", "no query text")
            continue
        unit = f"pgss:{row.get('queryid') or number}"
        builder.add(unit, query, count=max(calls, 1), source=f"{path}:row {number}")
        used += 1
    if used == 0:
        raise AnalysisError(f"--pg-stat-statements {path}: no usable rows with query and calls")
    return used


def _csv_rows(text: str, path: Path) -> list[dict[str, Any]]:
    reader = csv.DictReader(text.splitlines())
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "query" not in fields or "calls" not in fields:
        raise AnalysisError(
            f"--pg-stat-statements {path}: the CSV header needs 'query' and 'calls' columns "
            f"(found: {', '.join(fields) or 'none'})"
        )
    return [{(k or "").strip().lower(): v for k, v in row.items()} for row in reader]


def _json_rows(text: str, path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnalysisError(f"--pg-stat-statements {path}: not valid JSON ({exc.msg})") from None
    if isinstance(data, dict):
        data = data.get("rows", data.get("statements"))
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise AnalysisError(
            f"--pg-stat-statements {path}: expected a JSON list of objects with query and calls"
        )
    return [{str(k).lower(): v for k, v in row.items()} for row in data]
