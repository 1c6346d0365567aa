"""The ShopCo application factory."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from monolith.api import BLUEPRINTS
from monolith.config import MonolithConfig, load_config
from monolith.db import Database, init_database
from monolith.errors import error_body, register_error_handlers
from monolith.requestlog import configure_logging, install_request_log
from monolith.sqllog import install_for_shopco


def create_app(config: MonolithConfig | None = None) -> Flask:
    """Build a ShopCo app on `config` (default: strangler.toml + environment).

    The app never creates tables: run `strangler monolith migrate` first.
    """
    config = config or load_config()
    app = Flask(__name__)
    app.config["SHOPCO"] = config
    app.json.sort_keys = False  # type: ignore[attr-defined]
    configure_logging(config.log_level_number)
    database = init_database(app, config.database_url)
    install_request_log(app)
    register_error_handlers(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    _add_probes(app, database)
    install_for_shopco(app, database.engine, config)
    return app


def _add_probes(app: Flask, database: Database) -> None:
    @app.get("/health")
    def health():
        """Liveness: the process answers; says nothing about the database."""
        return {"status": "ok"}

    @app.get("/ready")
    def ready():
        """Readiness: the database answers a query."""
        try:
            with database.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            return error_body(503, "not_ready", f"database unavailable: {type(exc).__name__}")
        return {"status": "ready", "database": database.engine.dialect.name}
