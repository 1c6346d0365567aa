"""`strangler demo`: the bundled ShopCo demo on embedded defaults."""

from __future__ import annotations

from pathlib import Path

import click

from strangler.cli._common import print_json, user_errors


@click.command("demo")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/demo"),
    show_default=True,
    help="Where the demo writes its SQLite database, SQL log and analysis (made anew each run).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface for ShopCo.")
@click.option(
    "--port", type=int, default=5000, show_default=True, help="ShopCo's port (0 = any free)."
)
@click.option(
    "--scale", type=click.IntRange(min=1), default=1, show_default=True, help="Seed size."
)
@click.option(
    "--requests",
    type=click.IntRange(min=60),
    default=300,
    show_default=True,
    help="Traffic to drive before analyzing (the first ~60 tour every endpoint).",
)
@click.option(
    "--exit", "exit_after", is_flag=True, help="Stop after the analysis instead of serving on."
)
@click.option("--json", "as_json", is_flag=True, help="Print where things are as JSON.")
def demo(
    folder: Path, host: str, port: int, scale: int, requests: int, exit_after: bool, as_json: bool
) -> None:
    """Run the bundled ShopCo demo on embedded defaults (SQLite, no services needed).

    \b
    1. create, migrate and seed a fresh SQLite database for ShopCo in --dir;
    2. serve ShopCo with the SQL attribution log on;
    3. drive a repeatable traffic mix at every endpoint;
    4. analyze the log: contexts, table owners, findings and context graphs;
    then keep serving ShopCo until Ctrl-C (unless --exit), so you can try it.
    """
    from analysis.errors import AnalysisError
    from monolith.errors import MonolithError
    from monolith.traffic_view import progress_reporter
    from strangler.demo import run_demo

    say = (lambda _text: None) if as_json else click.echo
    with (
        user_errors(MonolithError, AnalysisError),
        progress_reporter(requests, None, enabled=not as_json) as on_progress,
    ):
        result, server = run_demo(
            folder,
            host=host,
            port=port,
            scale=scale,
            requests=requests,
            say=say,
            on_progress=on_progress,
        )
    contexts = result.report["contexts"]
    if as_json:
        print_json(
            {
                "base_url": result.base_url,
                "database_url": result.database_url,
                "sql_log": str(result.sql_log),
                "analysis_dir": str(result.analysis_dir),
                "contexts": {c["name"]: c["tables"] for c in contexts},
                "extraction_order": result.report["extraction_order"],
            }
        )
    else:
        click.echo(f"suggested contexts ({len(contexts)}), in extraction order:")
        order = result.report["extraction_order"]
        for c in sorted(contexts, key=lambda c: order.index(c["name"])):
            click.echo(f"  {c['name']:<16} {', '.join(c['tables'])}")
        click.echo(f"read the plan: {result.analysis_dir / 'report.md'}")
    if exit_after:
        server.shutdown()
        return
    click.echo(f"ShopCo keeps serving on {result.base_url}; try {result.base_url}/api/products")
    click.echo("Press Ctrl-C to stop.")
    try:
        threading_event().wait()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.shutdown()


def threading_event():
    import threading

    return threading.Event()
