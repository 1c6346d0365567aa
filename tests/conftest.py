"""Suite-wide fixtures. Real services start lazily, only for tests that ask for them."""

from __future__ import annotations

import pytest

from tests.services.kafka import KafkaBroker, kafka
from tests.services.postgres import PostgresServer, postgres

__all__ = ["KafkaBroker", "PostgresServer", "kafka", "postgres"]

# Tests using a service fixture get its marker, so `-m "not kafka"` deselects them.
_SERVICE_MARKERS = ("postgres", "kafka")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        for name in _SERVICE_MARKERS:
            if name in fixtures:
                item.add_marker(name)
