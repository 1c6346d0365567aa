"""ShopCo's SQL attribution log: the generic hook of `strangler.attribution`, wired in.

The hook itself is not ShopCo's: any Flask + SQLAlchemy application installs it from
`strangler.attribution` (the part of strangler that runs inside a user's app). ShopCo turns
it on with its `sql_log` setting (`--sql-log` or `STRANGLER_MONOLITH_SQL_LOG`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask
from sqlalchemy.engine import Engine

from strangler.attribution import SqlLogWriter, install_sql_log

if TYPE_CHECKING:
    from monolith.config import MonolithConfig

__all__ = ["SqlLogWriter", "install_for_shopco", "install_sql_log"]


def install_for_shopco(app: Flask, engine: Engine, config: MonolithConfig) -> SqlLogWriter | None:
    """Attribute ShopCo's statements to their endpoints when its `sql_log` setting names a file."""
    if not config.sql_log:
        return None
    return install_sql_log(app, engine, config.sql_log)
