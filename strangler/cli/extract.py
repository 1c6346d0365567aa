"""`strangler extract`: migrate, serve and sync the services extracted from the monolith.

The group object `extract` is importable so that other verbs (the scaffold generator)
can add themselves: `extract.add_command(...)`.
"""

from __future__ import annotations

import contextlib
import importlib
import signal
import threading
from types import ModuleType
from typing import Any

import click

from strangler.cli._common import print_json, user_errors
from strangler.cli._wsgi import serve_app, workers_opt
from strangler.settings import ConfigError

# Sub-commands living in other modules, added when present (module:attribute).
PLUGGED = (
    "strangler.cli.extract_scaffold:scaffold",
    "strangler.cli.extract_handover:handover",
)


def _errors() -> contextlib.AbstractContextManager[None]:
    from cdc.errors import CdcError
    from extracted._service.errors import ServiceError

    return user_errors(ServiceError, CdcError, ConfigError, ValueError)


def _service(name: str) -> ModuleType:
    from extracted._service.registry import service_module

    with _errors():
        return service_module(name)


def _config(name: str, **overrides: Any) -> Any:
    from extracted._service.config import load_config

    with _errors():
        return load_config(name, overrides=overrides)


name_arg = click.argument("name", metavar="NAME")


@click.group("extract")
def extract() -> None:
    """Run the services extracted from ShopCo: catalog, reviews.

    Each service has its own database (STRANGLER_<NAME>_DATABASE_URL, default
    var/NAME.db), its own alembic section, and a CDC mapping that fills it from the
    monolith. Typical start: `migrate NAME`, `sync NAME`, `serve NAME`. See docs/extract.md.
    """


@extract.command(short_help="Upgrade a service's database to its newest schema (alembic).")
@name_arg
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def migrate(name: str, as_json: bool) -> None:
    """Create or upgrade service NAME's tables (migrations/alembic.ini, section [NAME])."""
    module = _service(name)
    config = _config(name)
    with _errors():
        revision = module.SPEC.migrations.upgrade(config.database_url)
    if as_json:
        print_json({"service": name, "revision": revision})
    else:
        click.echo(f"{name} database at revision {revision}")


@extract.command(short_help="Serve a service over HTTP (werkzeug, or gunicorn with --workers).")
@name_arg
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default [NAME] port; 0 = free).")
@workers_opt
def serve(name: str, host: str | None, port: int | None, workers: int) -> None:
    """Serve service NAME; its database must be migrated (`strangler extract migrate NAME`).

    `/health` answers once the process runs; `/ready` once the database is migrated and
    `strangler extract sync NAME` has applied the initial snapshot. Stop with Ctrl-C.
    """
    module = _service(name)
    config = _config(name, host=host, port=port)
    with _errors():
        module.SPEC.migrations.require_migrated(config.database_url)
        first = module.create_app(config)  # fails now, in one line, on a bad mapping file
    banner = f"{name} listening on {{url}} ({{workers}} worker(s))"
    # One process serves the app built above; gunicorn's workers each build their own.
    factory = (lambda: first) if workers == 1 else (lambda: module.create_app(config))
    serve_app(factory, config.host, config.port, workers, banner)


@extract.command(short_help="Fill a service's database from the monolith by CDC, then stream.")
@name_arg
@click.option("--source", help="The monolith's database URL (default [NAME] cdc_source).")
@click.option(
    "--transport", help="embedded:PATH or kafka:HOST:PORT (default [NAME] cdc_transport)."
)
@click.option("--once", is_flag=True, help="Stop once the initial snapshot is applied.")
@click.option(
    "--directed",
    is_flag=True,
    help="Run CDC in the direction `extract handover` stores (forward, or reverse for the "
    "owned tables once handed over); state in $STRANGLER_HANDOVER_STATE.",
)
def sync(name: str, source: str | None, transport: str | None, once: bool, directed: bool) -> None:
    """Capture the monolith's tables named in NAME's mapping and apply them to its database.

    The first run takes the initial snapshot; once it is applied, `/ready` of the service
    says so. Then changes stream until Ctrl-C / SIGTERM. Each service has its own topics
    (prefix NAME) and, on PostgreSQL, its own replication slot (strangler_NAME).
    """
    from extracted._service.sync import SyncPlan, run_sync

    if directed:
        import os

        from strangler.cli.extract_handover import run_directed_sync

        state = os.environ.get("STRANGLER_HANDOVER_STATE", "sqlite:///var/handover.db")
        with _errors():
            run_directed_sync(name, source, transport, state)
        return
    module = _service(name)
    config = _config(name, cdc_source=source, cdc_transport=transport)
    if not config.cdc_source:
        raise click.UsageError(f"--source is required (or set [{name}] cdc_source)")
    spec = module.SPEC
    plan = SyncPlan(
        service=name,
        source_url=config.cdc_source,
        target_url=config.database_url,
        mapping_path=str(spec.mapping_path(config)),
        transport=config.cdc_transport,
        prefix=name,
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with _errors():
        spec.migrations.require_migrated(config.database_url)
        run_sync(
            plan,
            spec.metadata,
            stop,
            once=once,
            on_snapshot=lambda: click.echo(f"{name}: initial snapshot applied; streaming"),
        )
    click.echo("stopped")


def _plug_in() -> None:
    for target in PLUGGED:
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        extract.add_command(getattr(module, attr))


_plug_in()
