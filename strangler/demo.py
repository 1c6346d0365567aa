"""Step 1 of the demo: ShopCo on SQLite, its SQL attribution log, traffic, an analysis.

Create, migrate and seed a fresh database; serve ShopCo with the log on; drive a
repeatable traffic mix at every endpoint; analyze the log with the live schema
(suggested contexts, owners, findings, context graphs). The other steps are in
strangler/demo_sync.py and strangler/demo_route.py; strangler/demo_run.py runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.outputs import write_outputs
from analysis.pipeline import Inputs
from analysis.pipeline import run as run_analysis
from analysis.report import build_report
from monolith.app import create_app
from monolith.config import MonolithConfig
from monolith.db import make_engine
from monolith.migrate import upgrade
from monolith.seed import seed
from monolith.traffic import TrafficSummary, run_traffic
from strangler.demo_stack import DemoError, Stack

Say = Callable[[str], None]
Progress = Callable[[int, float], None] | None


@dataclass(frozen=True)
class Analyzed:
    """What step 1 leaves: ShopCo serving, its log, and the analysis."""

    base_url: str
    database_url: str
    sql_log: Path
    analysis_dir: Path
    traffic: TrafficSummary
    report: dict[str, Any]
    graphs: tuple[Path, ...]
    note: str | None


def prepare_database(folder: Path, scale: int, say: Say) -> str:
    """Create, migrate and seed a fresh demo database; return its URL.

    Fresh on every run, so the same traffic meets the same data and the demo's analysis
    comes out the same each time.
    """
    path = folder / "shopco.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    try:
        report = seed(engine, scale=scale)
    finally:
        engine.dispose()
    say(f"seeded {report.total_rows} rows (scale {scale}) into {path}")
    return url


def start_monolith(stack: Stack, url: str, host: str, port: int, sql_log: Path) -> Any:
    """Serve ShopCo with a fresh SQL log in the background; return the app and its URL."""
    config = MonolithConfig(
        database_url=url, host=host, port=port, log_level="WARNING", sql_log=str(sql_log)
    )
    app = create_app(config)
    stack.callback(app.extensions["shopco"].engine.dispose)
    stack.callback(app.extensions["sql_log"].close)
    _, base_url = stack.serve(app, host, port, "ShopCo")
    return app, base_url


def drive(base_url: str, requests: int, seed_: int, on_progress: Progress) -> TrafficSummary:
    """Drive the repeatable traffic mix at `base_url`; fail on server or transport errors."""
    summary = run_traffic(base_url, requests=requests, seed=seed_, on_progress=on_progress)
    if not summary.ok:
        raise DemoError(f"traffic failed: {', '.join(summary.error_samples[:3])}")
    return summary


def analyze_step(
    stack: Stack,
    folder: Path,
    *,
    host: str,
    port: int,
    scale: int,
    requests: int,
    say: Say,
    on_progress: Progress = None,
) -> Analyzed:
    """Step 1: seed, serve with the attribution log, drive traffic, analyze, draw graphs."""
    url = prepare_database(folder, scale, say)
    sql_log = folder / "sql.jsonl"
    app, base_url = start_monolith(stack, url, host, port, sql_log)
    say(f"ShopCo listening on {base_url} (SQL attribution log: {sql_log})")
    summary = drive(base_url, requests, 1, on_progress)
    say(
        f"drove {summary.requests} requests at {len(summary.per_endpoint)} endpoints "
        f"({summary.requests_per_second} req/s)"
    )
    app.extensions["sql_log"].flush()
    out = folder / "analysis"
    # the live schema adds foreign keys and never-accessed tables to what the log shows
    analysis = run_analysis(Inputs(logs=(sql_log,), db=url))
    report = build_report(analysis)
    written = write_outputs(analysis, report, out)
    if written.note:
        say(written.note)
    graphs = tuple(p for p in written.files if p.suffix in (".svg", ".dot"))
    order = report["extraction_order"]
    say(f"suggested contexts, in extraction order: {', '.join(order)}")
    say(f"analysis written to {out} (report.md, report.json, context graphs)")
    return Analyzed(base_url, url, sql_log, out, summary, report, graphs, written.note)
