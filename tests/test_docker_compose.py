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
    assert {"shopco", "router", "migrate", "seed", "traffic", "catalog", "reviews"} <= set(services)
    for name, service in services.items():
        args = list(service["command"])
        command: click.Command = main
        ctx = click.Context(main)
        while isinstance(command, click.Group):
            sub = command.get_command(ctx, args[0])
            assert sub is not None, f"{name}: unknown verb {args[0]!r}"
            command, args = sub, args[1:]
        command.make_context(name, list(args))  # raises on an unknown or malformed option


def known_variables() -> set[str]:
    """Every environment variable strangler's code reads."""
    import dataclasses

    from cdc.config import CdcConfig
    from extracted._service.config import ServiceConfig, env_prefix
    from extracted._service.registry import SERVICES
    from monolith.config import PLAIN_ENV, MonolithConfig
    from router.config import RouterConfig

    def prefixed(prefix: str, config: type) -> set[str]:
        return {prefix + f.name.upper() for f in dataclasses.fields(config)}

    known = set(PLAIN_ENV.values()) | {"STRANGLER_ADMIN_TOKEN", "STRANGLER_ADMIN_URL"}
    known |= prefixed("STRANGLER_MONOLITH_", MonolithConfig) | prefixed("STRANGLER_CDC_", CdcConfig)
    known |= prefixed("STRANGLER_ROUTER_", RouterConfig)
    for name in SERVICES:
        known |= prefixed(env_prefix(name), ServiceConfig) - {env_prefix(name) + "NAME"}
    return known


def test_every_variable_set_for_strangler_is_one_the_code_reads(compose):
    known = known_variables()
    for name, service in strangler_services(compose).items():
        unknown = set(service.get("environment") or {}) - known
        assert not unknown, f"{name} sets {sorted(unknown)}, which no code reads"


def test_a_service_process_gets_only_its_own_variables(compose):
    for name, service in strangler_services(compose).items():
        command = service["command"]
        if command[0] != "extract":
            continue
        prefix = f"STRANGLER_{command[2].upper()}_"
        assert all(v.startswith(prefix) for v in service["environment"]), name


def test_each_service_has_its_database_cdc_worker_and_readiness_check(compose):
    services = compose["services"]
    for name in ("catalog", "reviews"):
        assert services[f"{name}-sync"]["command"] == ["extract", "sync", name]
        sync_env = services[f"{name}-sync"]["environment"]
        assert sync_env[f"STRANGLER_{name.upper()}_CDC_TRANSPORT"] == "kafka:kafka:9092"
        assert "@postgres:5432/shopco" in sync_env[f"STRANGLER_{name.upper()}_CDC_SOURCE"]
        assert (
            f"@{name}-db:5432/"
            in services[name]["environment"][f"STRANGLER_{name.upper()}_DATABASE_URL"]
        )
        assert "/ready" in " ".join(services[name]["healthcheck"]["test"])
        assert services["router"]["depends_on"][name] == {"condition": "service_healthy"}
        assert "--workers" in services[name]["command"]
    assert "--workers" in services["shopco"]["command"]


def test_kafka_is_an_official_4x_image_in_kraft_mode(compose):
    kafka = compose["services"]["kafka"]
    image, _, version = kafka["image"].partition(":")
    assert image == "apache/kafka" and version.startswith("4.")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "healthcheck" in kafka


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


def test_the_image_holds_every_package_the_project_installs():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {p.rstrip("*") for p in patterns} | {"strangler_settings"}
    copied = {
        line.split()[1]
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ")
    }
    assert packages <= copied, f"the Dockerfile does not copy {sorted(packages - copied)}"
