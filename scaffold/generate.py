"""The scaffold's composition root: read the report and schema, plan, write."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scaffold.endpoints import parse_endpoints
from scaffold.errors import ScaffoldError
from scaffold.plan import Plan, ServiceRequest, build_plan, check_service_name
from scaffold.report import load_report, select_context
from scaffold.schema import context_tables, cut_foreign_keys
from scaffold.write import package_name, write_plan


@dataclass(frozen=True)
class ScaffoldOptions:
    """What `strangler extract scaffold` was asked for."""

    name: str
    context: str
    report: Path
    out: Path
    schema: Path | None = None
    db: str | None = None
    dialect: str | None = None
    force: bool = False
    port: int = 5001


@dataclass(frozen=True)
class ScaffoldResult:
    plan: Plan
    folder: Path
    written: tuple[Path, ...]


def plan_service(options: ScaffoldOptions) -> Plan:
    """Read the inputs and decide what to generate (reads files and the database only)."""
    name = check_service_name(options.name)
    if (options.schema is None) == (options.db is None):
        raise ScaffoldError("give exactly one of --schema DDL or --db URL for the context's tables")
    report = load_report(options.report)
    context = select_context(report, options.context, f"--report {options.report}")
    if options.db is not None:
        from scaffold.schema_db import read_database_tables

        source = f"--db {_shown(options.db)}"
        found = read_database_tables(options.db, context.tables)
    else:
        from scaffold.schema_ddl import read_ddl_tables

        assert options.schema is not None
        source = f"--schema {options.schema}"
        found = read_ddl_tables(options.schema, context.tables, options.dialect)
    tables = context_tables(found, context.tables, source)
    keep = set(context.tables)
    tables = tuple(cut_foreign_keys(t, keep)[0] for t in tables)
    endpoints, skipped = parse_endpoints(list(context.endpoints))
    request = ServiceRequest(
        service=name,
        package=package_name(options.out),
        folder=str(options.out),
        context=context,
        tables=tables,
        source=source,
        port=options.port,
    )
    return build_plan(request, endpoints, skipped)


def scaffold_service(options: ScaffoldOptions) -> ScaffoldResult:
    """Generate the service's folder; refuse to overwrite unless `options.force`."""
    plan = plan_service(options)
    written = write_plan(plan, options.out, options.force)
    return ScaffoldResult(plan, options.out, written)


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url
