"""Suite-wide fixtures. Real services start lazily, only for tests that ask for them."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from tests.services import running
from tests.services.kafka import KafkaBroker, kafka
from tests.services.postgres import PostgresServer, postgres

__all__ = ["KafkaBroker", "PostgresServer", "kafka", "postgres"]

# Tests using a service fixture get its marker, so `-m "not kafka"` deselects them. A test
# that reaches a service another way (request.getfixturevalue, a fixture parameter, starting
# a cluster itself) must be marked by hand: the services fail any test that reaches them
# without the marker (tests/services/_common.py, require_marker).
_SERVICE_MARKERS = ("postgres", "kafka")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        for name in _SERVICE_MARKERS:
            if name in fixtures:
                item.add_marker(name)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    """Let the services know which test reaches them (for the marker guard)."""
    with running(item):
        return (yield)
