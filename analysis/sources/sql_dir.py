"""A folder of `.sql` files, each file one code unit (its path is the endpoint name)."""

from __future__ import annotations

from pathlib import Path

from analysis.errors import AnalysisError
from analysis.sqltext import split_statements
from analysis.workload import WorkloadBuilder


def read_sql_dir(root: Path, builder: WorkloadBuilder, dialect: str | None) -> int:
    """Add each statement of each `.sql` file under `root`; return how many were read."""
    if not root.is_dir():
        raise AnalysisError(f"--sql-dir {root}: no such folder")
    files = sorted(root.rglob("*.sql"))
    if not files:
        raise AnalysisError(f"--sql-dir {root}: the folder holds no .sql files")
    count = 0
    for file in files:
        unit = file.relative_to(root).with_suffix("").as_posix()
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise AnalysisError(f"--sql-dir {file}: cannot read: {exc.strerror}") from None
        for chunk in split_statements(text, dialect):
            builder.add(unit, chunk.sql, source=f"{file}:{chunk.line}")
            count += 1
    if count == 0:
        raise AnalysisError(f"--sql-dir {root}: its .sql files hold no statements (empty input)")
    return count
