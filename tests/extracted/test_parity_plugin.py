"""The project's own parity tests through the pytest plugin, as a user would write them.

Each recorded request (traffic/NAME.jsonl: every endpoint of the service, reads, writes
and bad input) goes to the monolith and to the service over the same seeded data — the
service's copy filled by its CDC sync — through `assert_parity`, under the service's own
parity.toml. A write runs on fresh copies of both databases, so tests stay independent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .conftest import Pair


@pytest.fixture
def legacy_app(pair: Pair) -> Any:
    return pair.monolith.application


@pytest.fixture
def candidate_app(pair: Pair) -> Any:
    return pair.service.application


@pytest.fixture
def parity_rules(pair: Pair) -> Any:
    return pair.rules  # the service's parity.toml: the file verify and the router read


class TestCatalog:
    @pytest.fixture
    def pair(self, catalog: Pair) -> Pair:
        return catalog

    @pytest.mark.parity_traffic("traffic/catalog.jsonl")
    def test_answers_every_recorded_request_like_the_monolith(
        self, assert_parity: Callable[..., Any], parity_request: dict[str, Any]
    ) -> None:
        assert_parity(**parity_request)


class TestReviews:
    @pytest.fixture
    def pair(self, reviews: Pair) -> Pair:
        return reviews

    @pytest.mark.parity_traffic("traffic/reviews.jsonl")
    def test_answers_every_recorded_request_like_the_monolith(
        self, assert_parity: Callable[..., Any], parity_request: dict[str, Any]
    ) -> None:
        assert_parity(**parity_request)
