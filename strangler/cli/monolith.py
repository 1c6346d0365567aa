"""`strangler monolith`: serve, seed, migrate and drive traffic at the ShopCo monolith."""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Any

import click

from strangler.cli._common import print_json, user_errors
from strangler.cli._wsgi import serve_app, workers_opt
from strangler.settings import ConfigError

if TYPE_CHECKING:
    from monolith.config import MonolithConfig


def _errors() -> contextlib.AbstractContextManager[None]:
    from monolith.errors import MonolithError

    return user_errors(MonolithError, ConfigError, ValueError)


def _config(**overrides: Any) -> MonolithConfig:
    from monolith.config import load_config

    return load_config(overrides=overrides)


@click.group("monolith")
def monolith() -> None:
    """Run the legacy ShopCo monolith that the workbench migrates.

    ShopCo is a Flask + SQLAlchemy shop over ONE shared database (17 tables, 40 JSON
    endpoints under /api). Typical start: `migrate`, `seed`, `serve`, then `traffic`.
    Configuration comes from strangler.toml [monolith] and the environment: DATABASE_URL,
    PORT, LOG_LEVEL (plain 12-factor names) or STRANGLER_MONOLITH_<FIELD>.
    """


@monolith.command(short_help="Serve ShopCo over HTTP (werkzeug, or gunicorn with --workers).")
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option(
    "--port", type=int, default=None, help="Port (default $PORT or 5000; 0 picks a free one)."
)
@click.option(
    "--sql-log",
    type=click.Path(dir_okay=False),
    default=None,
    help="Append every SQL statement, tagged with its endpoint, to this JSON Lines file.",
)
@workers_opt
def serve(host: str | None, port: int | None, sql_log: str | None, workers: int) -> None:
    """Serve ShopCo with werkzeug's threaded WSGI server, or gunicorn with --workers N.

    The database must be migrated first (`strangler monolith migrate`). Stop with Ctrl-C.
    """
    from sqlalchemy.engine import make_url

    from monolith.app import create_app
    from monolith.migrate import require_migrated

    with _errors():
        config = _config(host=host, port=port, sql_log=sql_log)
        require_migrated(config.database_url)
        first = create_app(config)  # configuration mistakes fail here, in one line
    database = make_url(config.database_url).render_as_string(hide_password=True)
    banner = f"ShopCo listening on {{url}} (database {database}, {{workers}} worker(s))"
    if config.sql_log:
        banner += f"\nSQL attribution log: {config.sql_log}"
    # One process serves the app built above; gunicorn's workers each build their own.
    factory = (lambda: first) if workers == 1 else (lambda: create_app(config))
    serve_app(factory, config.host, config.port, workers, banner)


@monolith.command(short_help="Upgrade the database to the newest schema (alembic).")
def migrate() -> None:
    """Create or upgrade the monolith's tables to the newest alembic revision.

    Uses migrations/alembic.ini, section [monolith]. The database is DATABASE_URL
    (default: the SQLite file var/shopco.db under the current directory).
    """
    from monolith.migrate import upgrade

    with _errors():
        config = _config()
        revision = upgrade(config.database_url)
    click.echo(f"monolith database at revision {revision}")


@monolith.command(short_help="Fill a fresh database with deterministic demo data.")
@click.option(
    "--scale",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Size factor: 1 = 300 customers, 200 products, 400 orders; 100 = a hundred times that.",
)
@click.option(
    "--seed",
    "seed_value",
    type=int,
    default=42,
    show_default=True,
    help="Random seed; same seed, same data.",
)
def seed(scale: int, seed_value: int) -> None:
    """Fill a freshly migrated database with deterministic demo data (bulk inserts).

    Refuses a database that already holds customers. The database is DATABASE_URL
    (default: the SQLite file var/shopco.db under the current directory).
    """
    from monolith.db import make_engine
    from monolith.seed import seed as run_seed

    with _errors():
        engine = make_engine(_config().database_url)
        try:
            report = run_seed(engine, scale=scale, seed=seed_value)
        finally:
            engine.dispose()
    click.echo(
        f"seeded {report.total_rows} rows in {report.seconds:.2f}s "
        f"(scale {scale}, seed {seed_value}): "
        + ", ".join(f"{n} {t}" for t, n in sorted(report.rows.items()))
    )


@monolith.command(short_help="Drive a repeatable request mix at every endpoint.")
@click.option(
    "--base-url",
    required=True,
    help="Where ShopCo (or the router in front of it) listens, e.g. http://127.0.0.1:5000.",
)
@click.option(
    "--requests",
    "count",
    type=click.IntRange(min=1),
    default=None,
    help="Stop after this many requests (default 300).",
)
@click.option(
    "--duration",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Stop after this many seconds.",
)
@click.option(
    "--seed",
    "seed_value",
    type=int,
    default=1,
    show_default=True,
    help="Seed of the request mix: same seed and data, same requests.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the summary as JSON instead of tables."
)
def traffic(
    base_url: str, count: int | None, duration: float | None, seed_value: int, as_json: bool
) -> None:
    """Drive a realistic, repeatable mix of reads and writes at every endpoint.

    The first ~60 requests tour every endpoint once (so even a short run covers all of
    them); then visits are drawn by weight: browsing, carts and checkouts, fulfilment,
    cancellations, refunds, stock adjustments, reviews, back office. 4xx answers are
    part of the mix; any 5xx or connection failure makes the exit status 1.
    """
    from monolith.traffic import run_traffic
    from monolith.traffic_view import progress_reporter, render_summary

    if count is not None and duration is not None:
        raise click.UsageError("give --requests or --duration, not both")
    if count is None and duration is None:
        count = 300
    with _errors(), progress_reporter(count, duration, enabled=not as_json) as on_progress:
        summary = run_traffic(
            base_url, requests=count, duration=duration, seed=seed_value, on_progress=on_progress
        )
    if as_json:
        print_json(summary.as_dict())
    else:
        render_summary(summary)
    if not summary.ok:
        sys.exit(1)
