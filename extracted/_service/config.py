"""A service's configuration: `[NAME]` in strangler.toml, STRANGLER_<NAME>_<FIELD> in the env.

Every service reads the same fields, so the same variables work for each one (for the
catalog: STRANGLER_CATALOG_DATABASE_URL, STRANGLER_CATALOG_PORT, ...).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import strangler_settings as settings

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class ServiceConfig:
    """Settings of one service process; an empty database_url means var/NAME.db."""

    name: str
    database_url: str = ""  # the service's own database; empty: sqlite:///var/NAME.db
    host: str = "127.0.0.1"  # address `extract serve` listens on
    port: int = 5001  # port (catalog 5001, reviews 5002 by default)
    log_level: str = "INFO"  # DEBUG, INFO, WARNING, ERROR or CRITICAL
    # /ready waits for `strangler extract sync` to have applied the initial snapshot;
    # false once the service owns its data (or for a service that starts empty).
    require_snapshot: bool = True
    # The CDC mapping file (monolith tables -> this service's tables); "" = the bundled one.
    mapping: str = ""
    # Where `strangler extract sync NAME` captures from (the monolith's database), and the
    # CDC transport it goes through (embedded:PATH or kafka:HOST:PORT).
    cdc_source: str = ""
    cdc_transport: str = "embedded:var/cdc/log.db"  # embedded:PATH or kafka:HOST:PORT

    def __post_init__(self) -> None:
        if self.log_level.upper() not in LOG_LEVELS:
            raise ValueError(
                f"[{self.name}] log_level must be one of {', '.join(LOG_LEVELS)}, "
                f"got {self.log_level!r}"
            )
        if not 0 <= self.port <= 65535:
            raise ValueError(f"[{self.name}] port must be between 0 and 65535, got {self.port}")

    @property
    def log_level_number(self) -> int:
        return logging.getLevelName(self.log_level.upper())

    @property
    def env_prefix(self) -> str:
        return env_prefix(self.name)


def env_prefix(name: str) -> str:
    return f"STRANGLER_{name.upper()}_"


def load_config(
    name: str,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    make_dirs: bool = True,
) -> ServiceConfig:
    """Build the config of service `name` from strangler.toml and the environment.

    A bundled service listens on its own default port (catalog 5001, reviews 5002), so
    they run side by side without flags.
    """
    from extracted._service.registry import PORTS

    environ = os.environ if environ is None else environ
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    if "name" in given or environ.get(env_prefix(name) + "NAME"):
        raise settings.ConfigError(f"[{name}] name is fixed by the service and cannot be set")
    port_set = "port" in given or env_prefix(name) + "PORT" in environ
    if not port_set and "port" not in settings.read_section(name) and name in PORTS:
        given["port"] = PORTS[name]
    config = settings.load(
        ServiceConfig,
        section=name,
        env_prefix=env_prefix(name),
        environ=environ,
        overrides={**given, "name": name},
    )
    if not config.database_url:
        path = Path("var") / f"{name}.db"
        if make_dirs:  # `strangler config show` only reports the path
            path.parent.mkdir(parents=True, exist_ok=True)
        config = dataclasses.replace(config, database_url=f"sqlite:///{path.resolve()}")
    return config
