"""The reviews service's application factory."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from extracted._service.app import ServiceSpec, build_app
from extracted._service.config import ServiceConfig, load_config
from extracted.reviews.api import bp
from extracted.reviews.tables import metadata

NAME = "reviews"
SPEC = ServiceSpec(NAME, bp, metadata, Path(__file__).with_name("cdc.toml"))


def create_app(config: ServiceConfig | None = None) -> Flask:
    """Build the reviews app on `config` (default: strangler.toml [reviews] + environment).

    The app never creates tables: run `strangler extract migrate reviews` first.
    """
    return build_app(SPEC, config or load_config(NAME))
