"""Shared pieces of `strangler cdc`: configuration, capture/transport/sink factories, options."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import click

from strangler.cli._common import user_errors
from strangler_settings import ConfigError

if TYPE_CHECKING:
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


def _capture(cfg: CdcConfig) -> Any:
    """The capture for --source: SQLite triggers, or PostgreSQL logical decoding."""
    source = _need(cfg.source, "--source", "to reach the captured database")
    if source.startswith("postgres"):
        from cdc.capture_pg import PgCapture

        return PgCapture(source, prefix=cfg.prefix, slot=cfg.slot)
    from cdc.capture_sqlite import SqliteCapture

    return SqliteCapture(source, prefix=cfg.prefix)


def _transport(cfg: CdcConfig) -> Transport:
    from cdc.transport import open_transport

    return open_transport(
        cfg.transport,
        partitions=cfg.partitions,
        retention_bytes=cfg.retention_bytes,
        retention_ms=cfg.retention_ms,
        kafka_outage_s=cfg.kafka_outage_s,
    )


def _sink(cfg: CdcConfig) -> Sink | None:
    if not cfg.sink:
        return None
    from cdc.mapping import load_mapping
    from cdc.sink import Sink

    return Sink(
        cfg.sink,
        mapping=load_mapping(cfg.mapping),
        pipeline=cfg.pipeline,
        source=cfg.source,
    )


def _options(cfg: CdcConfig) -> Any:
    from cdc.pipeline import Options

    return Options(
        tombstones=cfg.tombstones, schemas=cfg.schemas, batch=cfg.batch,
        chunk_rows=cfg.chunk_rows, group=cfg.group,
        atomic_transactions=cfg.atomic_transactions, txn_buffer=cfg.txn_buffer,
    )  # fmt: skip


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
