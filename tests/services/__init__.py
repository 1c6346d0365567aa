"""Throwaway real services: PostgreSQL and Apache Kafka, for the test suite and bench/.

Two kinds of callers import this package, by design:

* the test suite, through the lazy session fixtures ``postgres`` and ``kafka``
  (registered in tests/conftest.py). Missing services skip locally and fail under
  ``CI=true``; a test that reaches a service without its marker fails (require_marker).
* the scripts in bench/, which put the repository root on ``sys.path`` and start the
  same servers outside pytest with ``kafka_and_postgres()`` (or ``start_cluster()`` /
  ``start_broker()``), and use ``free_port``/``wait_port``. Outside a test a missing or
  broken service raises ``ServiceError`` with the same one-line message.

Everything a caller needs is exported here; the modules below are the implementation.
See docs/testing.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ._common import (
    HOW_TO_INSTALL,
    ServiceError,
    free_port,
    port_open,
    require_marker,
    running,
    unavailable,
    wait_port,
)
from .kafka import KafkaBroker, start_broker
from .postgres import PostgresServer, start_cluster

__all__ = [
    "HOW_TO_INSTALL",
    "KafkaBroker",
    "PostgresServer",
    "ServiceError",
    "free_port",
    "kafka_and_postgres",
    "port_open",
    "require_marker",
    "running",
    "start_broker",
    "start_cluster",
    "unavailable",
    "wait_port",
]


@contextlib.contextmanager
def kafka_and_postgres() -> Iterator[tuple[KafkaBroker, PostgresServer]]:
    """A throwaway KRaft broker and PostgreSQL cluster for a script (bench/), as the
    fixtures start them; both are stopped on the way out, even if one fails to start."""
    node = start_broker()
    try:
        cluster = start_cluster()
        try:
            yield node.broker, cluster.server
        finally:
            cluster.stop()
    finally:
        node.stop()
