"""The extracted services this workbench ships, by name (what `strangler extract` serves)."""

from __future__ import annotations

import importlib
from types import ModuleType

SERVICES: dict[str, str] = {
    "catalog": "extracted.catalog.app",
    "reviews": "extracted.reviews.app",
}

# Where each listens by default (docker-compose uses the same).
PORTS: dict[str, int] = {"catalog": 5001, "reviews": 5002}


def service_module(name: str) -> ModuleType:
    """Return the app module of service `name` (it has SPEC and create_app)."""
    if name not in SERVICES:
        known = ", ".join(sorted(SERVICES))
        raise ValueError(f"unknown service {name!r} (known: {known})")
    return importlib.import_module(SERVICES[name])
