"""`strangler router serve`: run the strangler facade (data plane + admin API)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import click

from strangler.cli.routes import _errors


@click.group("router")
def router() -> None:
    """Run the strangler router: a mitmproxy reverse proxy in front of the monolith."""


@router.command("serve")
@click.option("--listen", default=None, help="HOST:PORT for traffic (default 127.0.0.1:8080).")
@click.option("--admin", default=None, help="HOST:PORT for the admin API (default 127.0.0.1:8081).")
@click.option("--monolith", default=None, help="Base URL of the monolith (the default route).")
@click.option(
    "--store", default=None, help="Route store: a SQLite path/URL or postgresql://... URL."
)
@click.option("--capture", default=None, help="Record requests/responses to this JSON-lines file.")
@click.option("--access-log", default=None, help='JSON access log: "-" (stderr), a file, or "".')
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Data-plane processes sharing the traffic port (SO_REUSEPORT). The first also "
    "serves the admin API, whose /metrics sums all workers; each other worker has its own "
    "admin port (its own metrics).",
)
@click.option("--reuse-port", is_flag=True, hidden=True, help="Set by --workers for its workers.")
def serve(
    listen: str | None,
    admin: str | None,
    monolith: str | None,
    store: str | None,
    capture: str | None,
    access_log: str | None,
    workers: int,
    reuse_port: bool,
) -> None:
    """Serve traffic, routing each request by the stored route table.

    Several routers may share one store: each commit to the store wakes all of them
    (LISTEN/NOTIFY on PostgreSQL, Unix sockets on one host for SQLite), and each also
    polls the store every poll_interval (20 ms) as a safety net. The admin API needs a
    bearer token: $STRANGLER_ADMIN_TOKEN, or one generated and stored (owner-only) in
    [router] token_file, whose path is printed.
    Settings also come from strangler.toml [router] and STRANGLER_ROUTER_<FIELD>.
    """
    if workers > 1:  # before prometheus_client is imported: it reads this once
        folder = tempfile.mkdtemp(prefix="strangler-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder  # inherited by every worker
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    with _errors():
        from router.config import load
        from router.server import RouterServer

        config = load(
            listen=listen,
            admin=admin,
            monolith=monolith,
            store=store,
            capture_file=capture,
            access_log=access_log,
            reuse_port=True if reuse_port or workers > 1 else None,
        )
        server = RouterServer(config)
        server.metrics.aggregate = workers > 1  # this process's /metrics sums all workers
        server.start()
        if reuse_port:  # started by --workers: never outlive worker 0
            from router.workers import exit_with_parent

            exit_with_parent()
        extra = None
        if workers > 1:
            from router.workers import Workers, WorkerSpec

            spec = WorkerSpec(
                f"{server.listen[0]}:{server.listen[1]}",
                config.store,
                server.token,
                config.access_log,
                config.capture_file,
            )
            extra = Workers(spec, workers - 1)
            try:
                extra.start()
            except Exception:
                server.stop()
                raise
    where = f"stored in {server.token_file}" if server.token_file else "from STRANGLER_ADMIN_TOKEN"
    click.echo(f"strangler router: traffic on {server.proxy_url}, admin API on {server.admin_url}")
    click.echo(f"admin token {where}; route store {config.store}")
    if extra is not None:
        click.echo(f"{workers} workers: this process (pid {os.getpid()}) and pids {extra.pids()}")
        click.echo(f"worker admin APIs (each worker's own metrics): {' '.join(extra.admin_urls)}")
    try:
        server.serve()
    finally:
        if extra is not None:
            extra.stop()
