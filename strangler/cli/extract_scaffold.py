"""`strangler extract scaffold`: a new service's skeleton from an analysis report."""

from __future__ import annotations

from pathlib import Path

import click

from strangler.cli._common import print_json, user_errors


@click.command("scaffold")
@click.argument("name")
@click.option("--context", "context", required=True, help="Context of the report to extract.")
@click.option(
    "--report",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="report.json written by `strangler analyze` (or `strangler demo`).",
)
@click.option(
    "--schema",
    type=click.Path(path_type=Path),
    default=None,
    help="DDL file (or folder of .sql files) holding the context's tables.",
)
@click.option("--db", default=None, help="Or: a live database URL to inspect the tables from.")
@click.option("--dialect", default=None, help="SQL dialect of --schema (postgres, mysql, ...).")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder to generate into (default: extracted/NAME).",
)
@click.option("--port", type=click.IntRange(1, 65535), default=5001, show_default=True,
              help="Port the service serves on (in routes.sh and `serve`'s default).")  # fmt: skip
@click.option("--force", is_flag=True, help="Overwrite files that exist already.")
@click.option("--json", "as_json", is_flag=True, help="Print the generated files as JSON.")
def scaffold(
    name: str,
    context: str,
    report: Path,
    schema: Path | None,
    db: str | None,
    dialect: str | None,
    out: Path | None,
    port: int,
    force: bool,
    as_json: bool,
) -> None:
    """Generate the service NAME for one context of an analysis report.

    Start an extraction from the analyzer's output, not a blank page. Into --out
    (default extracted/NAME) it writes a Flask app (create_app, /health, /ready), one
    stub per endpoint of the context answering 501 until written, SQLAlchemy models of
    the context's tables read from --schema DDL or a live --db (types, keys,
    nullability, indexes; foreign keys to other contexts cut), its own alembic with
    an initial migration, a CDC mapping file, routes.sh putting every endpoint in
    shadow mode, and tests: `pytest DIR` passes the skeleton's tests and counts each
    endpoint's contract test as an expected failure until it is written.

    Existing files are never overwritten without --force. See docs/scaffold.md.

    \b
    Example:
      strangler analyze --log var/sql.jsonl --db sqlite:///var/shop.db --out var/analysis
      strangler extract scaffold catalog --context products \\
          --report var/analysis/report.json --db sqlite:///var/shop.db
      pytest extracted/catalog
    """
    from scaffold import ScaffoldError, ScaffoldOptions, scaffold_service

    options = ScaffoldOptions(
        name=name,
        context=context,
        report=report,
        out=out or Path("extracted") / name,
        schema=schema,
        db=db,
        dialect=dialect,
        force=force,
        port=port,
    )
    with user_errors(ScaffoldError):
        result = scaffold_service(options)
    plan = result.plan
    if as_json:
        print_json({
            "service": name,
            "context": context,
            "folder": str(result.folder),
            "package": plan.request.package,
            "files": [f.path for f in plan.files],
            "endpoints": [{"endpoint": e.key, "handler": e.handler, "route": e.template}
                          for e in plan.endpoints],
            "skipped_endpoints": [{"endpoint": s.key, "reason": s.reason} for s in plan.skipped],
            "tables": [t.name for t in plan.request.tables],
        })  # fmt: skip
        return
    click.echo(f"generated the {name} service ({context} context) in {result.folder}: "
               f"{len(plan.files)} files, {len(plan.endpoints)} endpoint stubs, "
               f"{len(plan.request.tables)} tables")  # fmt: skip
    for skipped in plan.skipped:
        click.echo(f"  skipped {skipped.key}: {skipped.reason}")
    click.echo("next:")
    click.echo(f"  pytest {result.folder}                 # skeleton passes, contracts xfail")
    click.echo(f"  python -m {plan.request.package} migrate && "
               f"python -m {plan.request.package} serve")  # fmt: skip
    click.echo(f"  then write the endpoints in {result.folder / 'api.py'} (see its README.md)")
