"""Fixtures shared with the router's tests (the shadow path runs a real router)."""

from tests.router.conftest import start_router  # noqa: F401 (a fixture)
