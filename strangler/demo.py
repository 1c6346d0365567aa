"""The bundled demo on embedded defaults: ShopCo on SQLite, its SQL log, and an analysis.

Steps, each reported as it runs:
1. create, migrate and seed a fresh SQLite database under the demo folder;
2. serve ShopCo with the SQL attribution log on;
3. drive a repeatable traffic mix at it, so every endpoint shows up in the log;
4. analyze the log with the live schema: suggested contexts, owners, findings, context graphs;
then keep serving until interrupted (or stop at once with `serve=False`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from analysis.outputs import write_outputs
from analysis.pipeline import Inputs
from analysis.pipeline import run as run_analysis
from analysis.report import build_report
from monolith.app import create_app
from monolith.config import MonolithConfig
from monolith.db import make_engine
from monolith.errors import MonolithError
from monolith.migrate import upgrade
from monolith.seed import seed
from monolith.traffic import run_traffic

Say = Callable[[str], None]


@dataclass(frozen=True)
class DemoResult:
    """Where the demo left things."""

    base_url: str
    database_url: str
    sql_log: Path
    analysis_dir: Path
    requests: int
    report: dict[str, Any]


def prepare_database(folder: Path, scale: int, say: Say) -> str:
    """Create, migrate and seed a fresh demo database; return its URL.

    Fresh on every run, so the same traffic meets the same data and the demo's analysis
    comes out the same each time.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "shopco.db"
    for stale in (path, path.with_name("shopco.db-wal"), path.with_name("shopco.db-shm")):
        stale.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    try:
        report = seed(engine, scale=scale)
    finally:
        engine.dispose()
    say(f"seeded {report.total_rows} rows (scale {scale}) into {path}")
    return url


def start_monolith(url: str, host: str, port: int, sql_log: Path) -> tuple[Flask, BaseWSGIServer]:
    """Serve ShopCo with a fresh SQL log, in a background thread."""
    sql_log.unlink(missing_ok=True)
    config = MonolithConfig(
        database_url=url, host=host, port=port, log_level="WARNING", sql_log=str(sql_log)
    )
    app = create_app(config)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        server = make_server(host, port, app, threaded=True)
    except (OSError, SystemExit) as exc:  # werkzeug exits on a port in use
        raise MonolithError(
            f"cannot listen on {host}:{port}: address in use or not available "
            "(choose another with --port, or 0 for any free port)"
        ) from exc
    threading.Thread(target=server.serve_forever, name="shopco", daemon=True).start()
    return app, server


def run_demo(
    folder: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 5000,
    scale: int = 1,
    requests: int = 300,
    say: Say = print,
    on_progress: Callable[[int, float], None] | None = None,
) -> tuple[DemoResult, BaseWSGIServer]:
    """Run the demo's steps; return the result and the still running server."""
    url = prepare_database(folder, scale, say)
    sql_log = folder / "sql.jsonl"
    app, server = start_monolith(url, host, port, sql_log)
    base_url = f"http://{host}:{server.server_port}"
    say(f"ShopCo listening on {base_url} (SQL attribution log: {sql_log})")
    summary = run_traffic(base_url, requests=requests, seed=1, on_progress=on_progress)
    if not summary.ok:
        server.shutdown()
        raise MonolithError(f"traffic failed: {', '.join(summary.error_samples[:3])}")
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
    say(f"analysis written to {out} (report.md, report.json, tables.svg, contexts.svg)")
    result = DemoResult(base_url, url, sql_log, out, requests, report)
    return result, server
