"""The analysis run: read every input, then model, cluster, judge and measure."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.config import AnalyzeSettings
from analysis.errors import AnalysisError
from analysis.model import ExtractionStep, Finding, Schema, Shape, Workload
from analysis.overrides import Overrides
from analysis.sources.pg_log import PgLogReading

if TYPE_CHECKING:
    import networkx as nx

    from analysis.access import AccessModel
    from analysis.contexts import Assignment
    from analysis.verdict import Verdict
    from analysis.workload import WorkloadBuilder

_LOG_DIALECTS = {"sqlite": "sqlite", "postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql"}
# progress(label, total) returns a function to call with each step's size
ProgressFactory = Callable[[str, int], Callable[[int], None]]


_DEFAULTS = AnalyzeSettings()


@dataclass(frozen=True)
class Inputs:
    """Everything `strangler analyze` was given (defaults: analysis.config)."""

    schema: tuple[Path, ...] = ()
    db: str | None = None
    logs: tuple[Path, ...] = ()
    sql_dirs: tuple[Path, ...] = ()
    pg_logs: tuple[Path, ...] = ()
    pg_log_prefix: str = _DEFAULTS.pg_log_prefix
    pg_attribute_by: str = _DEFAULTS.pg_attribute_by
    pg_stat_statements: tuple[Path, ...] = ()
    dialect: str | None = None
    overrides: Path | None = None
    reference: Path | None = None
    seed: int = _DEFAULTS.seed
    resolution: float | None = _DEFAULTS.resolution  # None: the mode's default
    one_context_share: float = _DEFAULTS.one_context_share
    one_context_coverage: float = _DEFAULTS.one_context_coverage
    max_examples: int = _DEFAULTS.max_examples
    jobs: int = _DEFAULTS.jobs  # 0: one per CPU core

    def has_workload(self) -> bool:
        return bool(self.logs or self.sql_dirs or self.pg_logs or self.pg_stat_statements)


@dataclass(frozen=True)
class Analysis:
    """Everything the renderers need."""

    mode: str
    schema: Schema
    workload: Workload
    model: AccessModel
    graph: nx.Graph
    split: Assignment
    findings: tuple[Finding, ...]
    plan: tuple[ExtractionStep, ...]
    metrics: dict[str, float | int | None]
    verdict: Verdict
    overrides: Overrides = field(default_factory=Overrides)
    inputs: dict[str, object] = field(default_factory=dict)


def start(inputs: Inputs) -> PgLogReading | None:
    """Start reading the first --pg-log in other processes, as `run` does when not given
    this: a caller can do its own start-up work (the CLI, its progress display) meanwhile.
    """
    return _start_pg_log(inputs, inputs.pg_logs[0]) if inputs.pg_logs else None


def run(
    inputs: Inputs,
    progress: ProgressFactory | None = None,
    started: PgLogReading | None = None,
) -> Analysis:
    """Analyze the inputs; raises AnalysisError naming the first unusable one. `started`:
    what `start(inputs)` returned, if called (run stops its processes in any case)."""
    try:
        if not inputs.schema and not inputs.db and not inputs.has_workload():
            raise AnalysisError(
                "nothing to analyze: give at least one of --schema, --db, --log, --sql-dir, "
                "--pg-log or --pg-stat-statements"
            )
        # The first PostgreSQL log is read by other processes started first: they read
        # while this one imports the parser and the graph library (a third of a second),
        # reads the other inputs, then parses the shapes they announce (their first
        # block's) while they read on. Further logs start in turn (not all at once: memory).
        if started is None:
            started = start(inputs)
        return _run(inputs, started, progress)
    finally:
        if started is not None:
            started.cancel()


def _start_pg_log(inputs: Inputs, path: Path) -> PgLogReading:
    jobs = inputs.jobs or os.cpu_count() or 1
    return PgLogReading(path, inputs.pg_log_prefix, inputs.pg_attribute_by, jobs)


def preload() -> None:
    """Import what `run` needs (the parser, the graph library: a third of a second) with
    the cyclic garbage collector off: imports make no garbage worth a collection, and its
    collections meanwhile cost a fifth of that time (they walk every new module)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        import analysis.access
        import analysis.decompose
        import analysis.findings
        import analysis.metrics
        import analysis.plan
        import analysis.sqltext
        import analysis.statements  # noqa: F401
    finally:
        if enabled:
            gc.enable()


def _run(inputs: Inputs, first: PgLogReading | None, progress: ProgressFactory | None) -> Analysis:
    preload()
    from analysis.access import build_access
    from analysis.decompose import decompose
    from analysis.findings import find_all
    from analysis.metrics import compute
    from analysis.overrides import check_tables, read_overrides, read_reference
    from analysis.plan import extraction_plan
    from analysis.sqltext import resolve_dialect
    from analysis.workload import WorkloadBuilder

    dialect = resolve_dialect(inputs.dialect)
    overrides = read_overrides(inputs.overrides) if inputs.overrides else Overrides()
    reference = read_reference(inputs.reference) if inputs.reference else None
    schema = _read_schema(inputs, dialect)
    builder = WorkloadBuilder(max_examples=inputs.max_examples)
    early = _read_workload_sources(inputs, dialect, builder, first, progress)
    dialect = _workload_dialect(inputs, dialect, builder)
    shapes = len(builder.samples)
    tick = progress("parsing statement shapes", shapes) if progress and shapes > 2000 else None
    workload = builder.build(dialect, tick, early.shapes if early.dialect == dialect else None)
    if inputs.has_workload() and not workload.observations and not schema.tables:
        raise AnalysisError(
            f"no statement could be parsed ({workload.unparsed_count} unparsed; first: "
            f"{workload.unparsed[0].reason if workload.unparsed else 'none'})"
        )
    probe = build_access(schema, workload)
    check_tables(overrides, probe.tables)
    model = build_access(
        schema,
        workload,
        overrides.ignore,
        overrides.ignore_endpoints,
        overrides.ignore_statements,
        overrides.reassign_statements,
    )
    if not model.tables:
        raise AnalysisError("no tables found in the inputs (empty input)")
    found = decompose(
        model,
        overrides,
        resolution=inputs.resolution,
        seed=inputs.seed,
        one_context_share=inputs.one_context_share,
        one_context_coverage=inputs.one_context_coverage,
    )
    graph, split, verdict = found.graph, found.split, found.verdict
    metrics = compute(model, graph, split.table_context, split.endpoint_context, reference)
    return Analysis(
        mode="workload" if model.has_workload else "schema-only",
        schema=schema,
        workload=workload,
        model=model,
        graph=graph,
        split=split,
        findings=tuple(find_all(model, split)),
        plan=tuple(extraction_plan(model, split)),
        metrics=metrics,
        verdict=verdict,
        overrides=overrides,
        inputs=_summary(inputs, dialect),
    )


def _read_schema(inputs: Inputs, dialect: str | None) -> Schema:
    from analysis.sources.ddl import read_schema_path

    parts = [read_schema_path(p, dialect) for p in inputs.schema]
    if inputs.db:
        from analysis.sources.database import read_database  # SQLAlchemy: 0.15 s to import

        parts.append(read_database(inputs.db))
    if not parts:
        return Schema()
    columns = {k: v for s in parts for k, v in s.columns.items()}
    return Schema(
        tables=tuple(sorted(columns)),
        columns=columns,
        primary_keys={k: v for s in parts for k, v in s.primary_keys.items()},
        foreign_keys=tuple(fk for s in parts for fk in s.foreign_keys),
        statements=sum(s.statements for s in parts),
        unparsed=tuple(u for s in parts for u in s.unparsed),
    )


def _workload_dialect(inputs: Inputs, dialect: str | None, builder: WorkloadBuilder) -> str | None:
    """The dialect to parse the shapes in: the attribution logs' own, if they say it."""
    if inputs.dialect is None and builder.dialects:
        # The attribution log says which database produced it: parse in that dialect.
        declared = builder.dialects.most_common(1)[0][0]
        return _LOG_DIALECTS.get(str(declared).lower(), dialect)
    return dialect


class _EarlyShapes:
    """Shapes parsed while a PostgreSQL log's reading processes still read (from the
    fingerprints they announce), instead of after: WorkloadBuilder.build takes them."""

    def __init__(self, dialect: str | None) -> None:
        from analysis.statements import ShapeError, describe

        self.dialect, self.describe, self.error = dialect, describe, ShapeError
        self.shapes: dict[str, Shape] = {}

    def __call__(self, fp: str) -> None:
        # one that fails is parsed again by build, which then tries the statement as sent
        with suppress(self.error):
            self.shapes[fp] = self.describe(fp, self.dialect, fingerprint=fp)


def _read_workload_sources(
    inputs: Inputs,
    dialect: str | None,
    builder: WorkloadBuilder,
    first_pg_log: PgLogReading | None,
    progress: ProgressFactory | None,
) -> _EarlyShapes:
    """Read every workload input into `builder`; return the shapes parsed meanwhile."""
    from analysis.sources.attribution_log import read_attribution_log
    from analysis.sources.pg_stat import read_pg_stat_statements
    from analysis.sources.sql_dir import read_sql_dir

    for log in inputs.logs:
        size = log.stat().st_size if log.is_file() else 0
        tick = progress(f"reading {log.name}", size) if progress else None
        read_attribution_log(log, builder, tick)
    for folder in inputs.sql_dirs:
        read_sql_dir(folder, builder, dialect)
    early = _EarlyShapes(_workload_dialect(inputs, dialect, builder))
    for number, pg_log in enumerate(inputs.pg_logs):
        reading = first_pg_log if number == 0 and first_pg_log else _start_pg_log(inputs, pg_log)
        reading.finish(builder, early)
    for export in inputs.pg_stat_statements:
        read_pg_stat_statements(export, builder)
    return early


def _summary(inputs: Inputs, dialect: str | None) -> dict[str, object]:
    return {
        "schema": [str(p) for p in inputs.schema],
        "db": bool(inputs.db),
        "logs": [str(p) for p in inputs.logs],
        "sql_dirs": [str(p) for p in inputs.sql_dirs],
        "pg_logs": [str(p) for p in inputs.pg_logs],
        "pg_stat_statements": [str(p) for p in inputs.pg_stat_statements],
        "dialect": dialect or "generic",
        "overrides": str(inputs.overrides) if inputs.overrides else None,
        "reference": str(inputs.reference) if inputs.reference else None,
    }
