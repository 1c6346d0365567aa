"""ShopCo's configuration: one frozen dataclass, 12-factor style.

Sources in rising precedence: defaults, `[monolith]` in strangler.toml, STRANGLER_MONOLITH_*
variables, the plain 12-factor variables DATABASE_URL, PORT and LOG_LEVEL (what a platform
such as Heroku or Kubernetes sets), and finally explicit overrides such as CLI options.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strangler_settings import ConfigError, load

DEFAULT_SQLITE_FILE = Path("var") / "shopco.db"

# Plain 12-factor names, read on top of the prefixed ones because platforms set these.
PLAIN_ENV = {"database_url": "DATABASE_URL", "port": "PORT", "log_level": "LOG_LEVEL"}

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class MonolithConfig:
    """Settings of one ShopCo process; an empty database_url means the default SQLite file."""

    database_url: str = ""  # SQLAlchemy URL; empty: sqlite:///var/shopco.db
    host: str = "127.0.0.1"  # address `monolith serve` listens on
    port: int = 5000  # port `monolith serve` listens on
    log_level: str = "INFO"  # DEBUG, INFO, WARNING, ERROR or CRITICAL
    # write the SQL attribution log (JSON Lines) to this file; unset: off
    sql_log: str | None = None
    # branch by abstraction (monolith/seams.py): reviews are deleted through this service
    reviews_service_url: str = ""

    def __post_init__(self) -> None:
        if self.log_level.upper() not in LOG_LEVELS:
            raise ValueError(
                f"log_level must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}"
            )
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {self.port}")

    @property
    def log_level_number(self) -> int:
        return logging.getLevelName(self.log_level.upper())


def default_database_url(cwd: Path | None = None, make_dirs: bool = True) -> str:
    """Return the SQLite URL of var/shopco.db under `cwd`, creating var/ when needed."""
    path = (cwd or Path.cwd()) / DEFAULT_SQLITE_FILE
    if make_dirs:
        path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def load_config(
    *,
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    make_dirs: bool = True,
) -> MonolithConfig:
    """Build the config from file and environment; fail naming the key on bad values."""
    environ = os.environ if environ is None else environ
    plain = {field: environ[name] for field, name in PLAIN_ENV.items() if environ.get(name)}
    merged = {**plain, **{k: v for k, v in (overrides or {}).items() if v is not None}}
    try:
        config = load(
            MonolithConfig,
            section="monolith",
            env_prefix="STRANGLER_MONOLITH_",
            path=path,
            environ=environ,
            overrides=merged,
        )
    except ConfigError as exc:
        raise ConfigError(_name_plain_variable(str(exc))) from exc
    if not config.database_url:
        config = dataclasses.replace(config, database_url=default_database_url(None, make_dirs))
    return config


def _name_plain_variable(message: str) -> str:
    # load() names an override by its field; users set it as DATABASE_URL/PORT/LOG_LEVEL.
    for field, name in PLAIN_ENV.items():
        if message.startswith(f"{field} must"):
            return f"{name} (or [monolith] {field})" + message[len(field) :]
    return message
