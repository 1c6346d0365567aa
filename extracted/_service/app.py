"""Build a service's Flask app: the kit around the service's own blueprint.

`build_app` wires what every service has (JSON logs with request ids, Prometheus
metrics, the monolith's error shape, `/health` and `/ready`, the mapping check) so a
service's `create_app` only names its blueprint, tables and migrations.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask
from sqlalchemy.exc import SQLAlchemyError

from extracted._service.config import ServiceConfig
from extracted._service.database import Database, Migrations, init_database
from extracted._service.errors import error_body, register_error_handlers
from extracted._service.mapping_check import load_checked
from extracted._service.observability import configure_logging, install_observability
from extracted._service.sync import snapshot_done


@dataclass(frozen=True)
class ServiceSpec:
    """What makes one service: its name, HTTP adapter, tables, migrations and CDC mapping."""

    name: str
    blueprint: Blueprint
    metadata: sa.MetaData
    default_mapping: Path

    @property
    def migrations(self) -> Migrations:
        return Migrations(self.name)

    def mapping_path(self, config: ServiceConfig) -> Path:
        return Path(config.mapping) if config.mapping else self.default_mapping


def build_app(spec: ServiceSpec, config: ServiceConfig) -> Flask:
    """Return the service's app; a bad mapping file fails here, naming the table or column."""
    load_checked(spec.mapping_path(config), spec.metadata)
    app = Flask(f"extracted.{spec.name}")
    app.config["SERVICE"] = config
    app.json.sort_keys = False  # type: ignore[attr-defined]
    configure_logging(config.log_level_number)
    database = init_database(app, config.database_url)
    install_observability(app, spec.name)
    register_error_handlers(app)
    app.register_blueprint(spec.blueprint)
    _add_probes(app, spec, config, database)
    return app


def _add_probes(app: Flask, spec: ServiceSpec, config: ServiceConfig, database: Database) -> None:
    @app.get("/health")
    def health() -> dict[str, Any]:
        """Liveness: the process answers; says nothing about the database."""
        return {"status": "ok", "service": spec.name}

    @app.get("/ready")
    def ready() -> Any:
        """Readiness: the database is migrated and, unless told otherwise, synced."""
        try:
            with database.engine.connect() as conn:
                problem = spec.migrations.problem(database.engine)
                synced = not config.require_snapshot or snapshot_done(conn, spec.name)
        except SQLAlchemyError as exc:
            return error_body(503, "not_ready", f"database unavailable: {type(exc).__name__}")
        if problem:
            return error_body(503, "not_ready", problem)
        if not synced:
            message = (
                "the initial CDC snapshot is not applied yet; "
                f"run `strangler extract sync {spec.name}`"
            )
            return error_body(503, "not_ready", message)
        return {"status": "ready", "service": spec.name, "database": database.engine.dialect.name}
