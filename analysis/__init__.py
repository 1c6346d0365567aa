"""SQL analyzer: table ownership, bounded contexts and context graphs from SQL."""

from __future__ import annotations

import logging


def quiet_sqlglot() -> None:
    """Silence sqlglot's own warnings: unparsed statements are counted and reported instead."""
    logging.getLogger("sqlglot").setLevel(logging.ERROR)


quiet_sqlglot()
