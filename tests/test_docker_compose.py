"""docker-compose.yml is for users with Docker (none runs here): check it structurally.

Every strangler command in it must parse with the real CLI, every dependency must name a
service, and the database must be ready for CDC.
"""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from ruamel.yaml import YAML

from strangler.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose() -> dict:
    return YAML(typ="safe").load((ROOT / "docker-compose.yml").read_text())


def strangler_services(compose: dict) -> dict[str, dict]:
    return {n: s for n, s in compose["services"].items() if s.get("image") == "strangler:dev"}


def test_every_dependency_names_a_service(compose):
    names = set(compose["services"])
    for name, service in compose["services"].items():
        for dependency in service.get("depends_on", {}):
            assert dependency in names, f"{name} depends on unknown service {dependency}"


def test_every_strangler_command_parses_with_the_real_cli(compose):
    services = strangler_services(compose)
    assert {"shopco", "router", "migrate", "seed", "traffic"} <= set(services)
    for name, service in services.items():
        args = list(service["command"])
        command: click.Command = main
        ctx = click.Context(main)
        while isinstance(command, click.Group):
            sub = command.get_command(ctx, args[0])
            assert sub is not None, f"{name}: unknown verb {args[0]!r}"
            command, args = sub, args[1:]
        command.make_context(name, list(args))  # raises on an unknown or malformed option


def test_services_reach_each_other_by_service_name(compose):
    services = compose["services"]
    assert "postgres:5432" in services["shopco"]["environment"]["DATABASE_URL"]
    assert "http://shopco:5000" in services["router"]["command"]
    assert "http://router:8080" in services["traffic"]["command"]


def test_postgres_runs_with_logical_wal_for_cdc(compose):
    command = " ".join(compose["services"]["postgres"]["command"])
    assert "wal_level=logical" in command


def test_the_image_is_built_from_the_dockerfile_with_everything_it_copies():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
    assert 'ENTRYPOINT ["strangler"]' in dockerfile
