"""Serve a WSGI app: werkzeug's threaded server, or gunicorn with N worker processes."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import click

workers_opt = click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="1: werkzeug's threaded server; N > 1: gunicorn with N worker processes "
    "(4 threads each), the production setup.",
)


def serve_app(factory: Callable[[], Any], host: str, port: int, workers: int, banner: str) -> None:
    """Serve the app `factory` builds until Ctrl-C / SIGTERM; `banner` gets the URL."""
    if workers > 1:
        if port == 0:
            raise click.UsageError(
                "--workers N > 1 needs a fixed --port (gunicorn's workers share it)"
            )
        _gunicorn(factory, host, port, workers, banner)
        return
    from werkzeug.serving import make_server

    app = factory()
    # The apps log each request as one JSON line; werkzeug's access log would repeat it.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        server = make_server(host, port, app, threaded=True)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    click.echo(banner.format(url=f"http://{host}:{server.server_port}", workers=1))
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.server_close()


def _gunicorn(factory: Callable[[], Any], host: str, port: int, workers: int, banner: str) -> None:
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):
        # Each worker builds its own app (no preload): engines and pools never cross a fork.
        def load_config(self) -> None:
            settings = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "worker_class": "gthread",
                "threads": 4,
                "accesslog": None,
                "graceful_timeout": 10,
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return factory()

    click.echo(banner.format(url=f"http://{host}:{port}", workers=workers))
    sys.stdout.flush()
    _App().run()
