"""What to generate for one service: every file's path and text, decided without I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files

from scaffold.endpoints import Endpoint, Skipped
from scaffold.errors import ScaffoldError
from scaffold.render_models import bare, render_migration, render_models
from scaffold.render_service import (
    render_api,
    render_cdc_mapping,
    render_contract_tests,
    render_routes,
)
from scaffold.report import ContextSpec
from scaffold.schema import TableSpec

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,29}$")

# generated path -> template (rendered with the request's values)
_TEMPLATED = {
    "__init__.py": "__init__.py.tmpl",
    "__main__.py": "__main__.py.tmpl",
    "app.py": "app.py.tmpl",
    "config.py": "config.py.tmpl",
    "db.py": "db.py.tmpl",
    "errors.py": "errors.py.tmpl",
    "migrate.py": "migrate.py.tmpl",
    "alembic.ini": "alembic.ini.tmpl",
    "migrations/env.py": "env.py.tmpl",
    "migrations/script.py.mako": "script.py.mako.tmpl",
    "pytest.ini": "pytest.ini.tmpl",
    ".gitignore": "gitignore.tmpl",
    "tests/__init__.py": "tests_init.py.tmpl",
    "tests/conftest.py": "conftest.py.tmpl",
    "tests/test_service.py": "test_service.py.tmpl",
    "README.md": "README.md.tmpl",
    "requirements.txt": "requirements.txt.tmpl",
}


@dataclass(frozen=True)
class GeneratedFile:
    path: str  # relative to the service's folder, '/'-separated
    content: str
    executable: bool = False


@dataclass(frozen=True)
class ServiceRequest:
    """Everything the plan depends on, already read and checked."""

    service: str
    package: str  # import name of the service's folder, e.g. extracted.reviews2
    folder: str  # the folder as the user named it, for the README
    context: ContextSpec
    tables: tuple[TableSpec, ...]
    source: str  # where the tables were read, e.g. "--schema db/schema.sql"
    port: int = 5001


@dataclass(frozen=True)
class Plan:
    request: ServiceRequest
    files: tuple[GeneratedFile, ...]
    endpoints: tuple[Endpoint, ...]
    skipped: tuple[Skipped, ...]


def check_service_name(name: str) -> str:
    if not SERVICE_NAME.match(name):
        raise ScaffoldError(
            f"service name {name!r} must be a lower-case Python identifier "
            "(letters, digits, _; e.g. catalog or order_history)"
        )
    return name


def build_plan(
    request: ServiceRequest, endpoints: tuple[Endpoint, ...], skipped: tuple[Skipped, ...]
) -> Plan:
    """Decide every generated file (pure)."""
    r = request
    values = {
        "service": r.service,
        "context": r.context.name,
        "package": r.package,
        "ENV": r.service.upper(),
        "port": str(r.port),
        "root_depth": str(2 + r.package.count(".")),
        "report": f"`{r.context.report_path}`",
        "source": f"`{r.source}`",
        "folder": r.folder,
        "endpoint_count": str(len(endpoints)),
        "endpoint_list": "\n".join(f"- `{e.key}` → `api.{e.handler}`" for e in endpoints)
        or "- (none: the context has no HTTP endpoints in the report)",
        "table_list": ", ".join(f"`{bare(t.name)}`" for t in r.tables),
        "notes": _notes(r.tables, skipped),
    }
    generated = [
        GeneratedFile(path, render_template(name, values)) for path, name in _TEMPLATED.items()
    ]
    generated += [
        GeneratedFile("models.py", render_models(r.service, r.context.name, r.source, r.tables)),
        GeneratedFile(
            "migrations/versions/0001_initial.py",
            render_migration(r.service, r.context.name, r.tables),
        ),
        GeneratedFile("api.py", render_api(r.service, r.context, endpoints)),
        GeneratedFile(
            "tests/test_contract.py", render_contract_tests(r.service, r.context, endpoints)
        ),
        GeneratedFile("cdc_mapping.toml", render_cdc_mapping(r.service, r.context, r.tables)),
        GeneratedFile("routes.sh", render_routes(r.service, r.port, endpoints), executable=True),
    ]
    return Plan(request, tuple(sorted(generated, key=lambda f: f.path)), endpoints, skipped)


def _notes(tables: tuple[TableSpec, ...], skipped: tuple[Skipped, ...]) -> str:
    lines = [f"- `{bare(t.name)}`: {note}" for t in tables for note in t.notes]
    lines += [f"- `{bare(t.name)}.{c.name}`: {c.note}" for t in tables for c in t.columns if c.note]
    lines += [f"- endpoint `{s.key}` skipped: {s.reason}" for s in skipped]
    return ("\nNotes:\n\n" + "\n".join(lines) + "\n") if lines else ""


def render_template(name: str, values: dict[str, str]) -> str:
    """Fill `{{key}}` placeholders of a packaged template; an unknown key is a bug."""
    text = (files("scaffold") / "templates" / name).read_text(encoding="utf-8")

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"template {name}: no value for {{{{{key}}}}}")
        return values[key]

    return _PLACEHOLDER.sub(fill, text)
