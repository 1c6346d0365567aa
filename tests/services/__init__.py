"""Throwaway real services for the test suite: PostgreSQL and Apache Kafka fixtures.

Fixtures start lazily, once per session, only when a test asks for them; see
docs/testing.md for how they are installed and how to point them at your own servers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .kafka import KafkaBroker
    from .postgres import PostgresServer


@contextlib.contextmanager
def kafka_and_postgres() -> Iterator[tuple[KafkaBroker, PostgresServer]]:
    """A throwaway KRaft broker and PostgreSQL cluster for a script (bench/), as the
    fixtures start them; both are stopped on the way out, even if one fails to start."""
    from .kafka import start_broker
    from .postgres import start_cluster

    node = start_broker()
    try:
        cluster = start_cluster()
        try:
            yield node.broker, cluster.server
        finally:
            cluster.stop()
    finally:
        node.stop()
