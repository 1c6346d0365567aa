"""Shared pieces of `strangler cdc`: configuration, options, and the cdc.bootstrap calls."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import click

from strangler.cli._common import user_errors
from strangler_settings import ConfigError

if TYPE_CHECKING:
    from cdc.bootstrap import AnyCapture
    from cdc.config import CdcConfig
    from cdc.sink import Sink
    from cdc.transport import Transport


def _errors() -> contextlib.AbstractContextManager[None]:
    from cdc.errors import CdcError

    return user_errors(CdcError, ConfigError, ValueError)


def _split(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(t.strip() for t in value.split(",") if t.strip())


def _config(**overrides: Any) -> CdcConfig:
    from cdc.config import load_config

    if "tables" in overrides:
        overrides["tables"] = _split(overrides["tables"])
    return load_config(**overrides)


def _need(value: str | None, option: str, why: str) -> str:
    if not value:
        raise click.UsageError(f"{option} is required {why} (or set it in strangler.toml [cdc])")
    return value


def _capture(cfg: CdcConfig) -> AnyCapture:
    """The capture for --source: SQLite triggers, or PostgreSQL logical decoding."""
    from cdc.bootstrap import capture_from

    _need(cfg.source, "--source", "to reach the captured database")
    return capture_from(cfg)


def _transport(cfg: CdcConfig) -> Transport:
    from cdc.bootstrap import transport_from

    return transport_from(cfg)


def _sink(cfg: CdcConfig) -> Sink | None:
    from cdc.bootstrap import sink_from

    return sink_from(cfg)


source_opt = click.option(
    "--source", help="SQLAlchemy URL of the captured database (sqlite:/// or postgresql://)."
)
tables_opt = click.option("--tables", help="Comma-separated table names.")
transport_opt = click.option(
    "--transport", help="embedded:PATH (default embedded:var/cdc/log.db) or kafka:HOST:PORT."
)
sink_opt = click.option("--sink", help="SQLAlchemy URL of the database the changes go to.")
mapping_opt = click.option(
    "--mapping", type=click.Path(dir_okay=False), help="TOML mapping file (see docs/cdc.md)."
)
prefix_opt = click.option("--prefix", help="Topic prefix: topics are PREFIX.main.TABLE.")
pipeline_opt = click.option(
    "--pipeline", help="Name of this sink's bookkeeping in the target (default 'default')."
)
