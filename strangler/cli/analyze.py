"""`strangler analyze`: table ownership, bounded contexts and context graphs from SQL."""

from __future__ import annotations

import atexit
import gc
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from strangler.cli._common import print_json, user_errors

_HELP = """Suggest bounded contexts, table owners and an extraction order from the SQL a
system runs.

Give a schema (--schema DDL files, or --db URL), a workload (--log attribution logs,
--sql-dir folders of .sql files, --pg-log server logs, --pg-stat-statements exports),
or both. With a workload, tables are grouped by which endpoints use them together,
write them together and join them; schema-only runs use foreign keys and table names
and say so. Results go to --out DIR: report.json, report.md, tables.dot/.svg,
contexts.dot/.svg and contexts.cml (Context Mapper).

\b
Examples:
  strangler analyze --log var/sql.jsonl --schema schema.sql --out var/analysis
  strangler analyze --db sqlite:///var/shop.db --out var/analysis --json
  strangler analyze --pg-log postgresql.log --pg-log-prefix '%m [%p] %a ' --out out
"""


@click.command("analyze", help=_HELP)
@click.option(
    "--schema",
    "schema",
    multiple=True,
    type=click.Path(path_type=Path),
    help="DDL file, or folder of .sql DDL files (repeatable).",
)
@click.option("--db", help="Database URL to introspect through SQLAlchemy, e.g. sqlite:///app.db.")
@click.option(
    "--log",
    "logs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="SQL attribution log: JSON Lines with 'sql' and 'endpoint' (repeatable).",
)
@click.option(
    "--sql-dir",
    "sql_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Folder of .sql files; each file is one code unit (repeatable).",
)
@click.option(
    "--pg-log",
    "pg_logs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="PostgreSQL log with log_statement=all: stderr format, or csvlog (*.csv).",
)
@click.option(
    "--pg-log-prefix",
    default=None,
    help="The server's log_line_prefix for stderr logs [default: '%m [%p] %a '].",
)
@click.option(
    "--pg-attribute-by",
    default=None,
    help="log_line_prefix escape naming the code unit: a (application, default), "
    "u (user), d (database), h (client host).",
)
@click.option(
    "--pg-stat-statements",
    "pg_stat",
    multiple=True,
    type=click.Path(path_type=Path),
    help="pg_stat_statements export (CSV with header, or JSON) with query and calls.",
)
@click.option(
    "--dialect",
    default=None,
    help="SQL dialect: postgres, mysql, sqlite, generic (default) or any sqlglot one.",
)
@click.option(
    "--overrides",
    type=click.Path(path_type=Path),
    help="TOML/JSON file: pin tables, name contexts, number of contexts, resolution, "
    "ignore tables or endpoints. See docs/analyze.md.",
)
@click.option(
    "--reference",
    type=click.Path(path_type=Path),
    help="Reference split (table -> context, JSON/TOML/CSV) to score with MoJoFM.",
)
@click.option("--seed", type=int, default=None, help="Clustering seed [default: 42].")
@click.option(
    "--resolution",
    type=float,
    default=None,
    help="Louvain resolution: higher gives more, smaller contexts "
    "[default: 1.5 with a workload, 0.25 schema only].",
)
@click.option(
    "--jobs",
    type=int,
    default=None,
    help="Processes reading a large --pg-log (0: one per CPU core) [default: 0].",
)
@click.option(
    "--one-context-share",
    type=float,
    default=None,
    help="Say 'one context' when this share of write transactions would span contexts "
    "under the best split [default: 0.67].",
)
@click.option(
    "--one-context-coverage",
    type=float,
    default=None,
    help="Say 'one context' when the commands (endpoints that write) touch this share of "
    "the tables on average [default: 0.5].",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder to write the report files into (created if missing).",
)
@click.option("--json", "as_json", is_flag=True, help="Print report.json to stdout.")
def analyze(as_json: bool, out: Path, **options: Any) -> None:
    from analysis.config import load_settings
    from analysis.errors import AnalysisError
    from analysis.outputs import write_outputs
    from analysis.pipeline import Inputs, run, start
    from analysis.report import build_report
    from strangler.settings import ConfigError

    with user_errors(AnalysisError, ConfigError):
        settings = load_settings(
            dialect=options["dialect"],
            seed=options["seed"],
            resolution=options["resolution"],
            one_context_share=options["one_context_share"],
            one_context_coverage=options["one_context_coverage"],
            jobs=options["jobs"],
            pg_log_prefix=options["pg_log_prefix"],
            pg_attribute_by=options["pg_attribute_by"],
        )
        inputs = Inputs(
            schema=tuple(options["schema"]),
            db=options["db"],
            logs=tuple(options["logs"]),
            sql_dirs=tuple(options["sql_dirs"]),
            pg_logs=tuple(options["pg_logs"]),
            pg_log_prefix=settings.pg_log_prefix,
            pg_attribute_by=settings.pg_attribute_by,
            pg_stat_statements=tuple(options["pg_stat"]),
            dialect=settings.dialect or None,
            overrides=options["overrides"],
            reference=options["reference"],
            seed=settings.seed,
            resolution=settings.resolution,
            one_context_share=settings.one_context_share,
            one_context_coverage=settings.one_context_coverage,
            jobs=settings.jobs,
            max_examples=settings.max_examples,
        )
        started = start(inputs)  # a --pg-log's reading processes first: imports meanwhile
        try:
            _load()
            with _progress() as progress:
                analysis = run(inputs, progress, started)
        finally:
            if started is not None:
                started.cancel()
        report = build_report(analysis)
        written = write_outputs(analysis, report, out)
    if as_json:
        print_json(report)
        if written.note:
            click.echo(written.note, err=True)
        return
    _summary(report, out, written.note)


@contextmanager
def _progress() -> Iterator[Callable[[str, int], Callable[[int], None]] | None]:
    """A rich progress bar on stderr for large inputs; nothing when not on a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
        console=console, transient=True,
    ) as bar:  # fmt: skip

        def start(label: str, total: int) -> Callable[[int], None]:
            task = bar.add_task(label, total=total or None)
            return lambda n: bar.advance(task, n)

        yield start


def _load() -> None:
    """Import what the run needs (the analysis' libraries, rich) with the cyclic garbage
    collector off, then set it all aside for its later passes and the one at exit
    (gc.freeze): a run's modules stay loaded to its end, and walking them again and again
    cost a tenth of its CPU time."""
    from analysis.pipeline import preload

    enabled = gc.isenabled()
    gc.disable()
    try:
        preload()
        import rich.console
        import rich.progress  # noqa: F401
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
        if not _FROZEN_AT_EXIT:
            _FROZEN_AT_EXIT.append(atexit.register(gc.freeze))


_FROZEN_AT_EXIT: list[object] = []


def _summary(report: dict[str, Any], out: Path, note: str | None) -> None:
    from rich.console import Console

    console = Console()
    stats = report["statements"]
    console.print(
        f"[bold]{report['mode']}[/] analysis: {stats['total']} statements, "
        f"{stats['unique_shapes']} shapes, {stats['unparsed']} unparsed, "
        f"{stats['malformed_lines']} malformed lines skipped"
    )
    if report.get("note"):
        console.print(f"[yellow]{report['note']}[/]")
    verdict = report["verdict"]
    label = "one context" if verdict["kind"] == "one-context" else "split"
    console.print(f"verdict: [bold]{label}[/]: {verdict['reason']}", soft_wrap=True)
    # one line per context, soft-wrapped by the terminal: a table column would break
    # single words onto lines of their own in a narrow terminal
    order = {name: i for i, name in enumerate(report["extraction_order"], 1)}
    for c in sorted(report["contexts"], key=lambda c: order.get(c["name"], 0)):
        console.print(
            f"{order.get(c['name'], '')}. [bold]{c['name']}[/] ({len(c['endpoints'])} "
            f"endpoints): {', '.join(c['tables'])}",
            soft_wrap=True,
        )
    severities = Counter(f["severity"] for f in report["findings"])
    console.print(
        "findings: " + (", ".join(f"{n} {s}" for s, n in sorted(severities.items())) or "none")
    )
    metrics = report["metrics"]
    shown = ("modularity", "icp", "cross_context_write_pct", "mojofm")
    console.print("metrics: " + ", ".join(f"{k} {metrics[k]}" for k in shown if k in metrics))
    console.print(f"report: {out / 'report.md'} (also report.json, *.dot, contexts.cml)")
    if note:
        click.echo(note)  # one unwrapped line, whatever the terminal width
