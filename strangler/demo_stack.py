"""What the demo runs, and how every piece of it is stopped again.

The demo runs its servers in this process (threads: ShopCo, the catalog service, the CDC
sync worker, the router; the router's shadow mirror is its own child process). Each one
is registered on one ExitStack as it starts, so whatever happens (the end, Ctrl-C, an
error half-way) everything started so far stops, newest first.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server


class DemoError(Exception):
    """The demo cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Ports:
    """Where the demo listens: ShopCo, the catalog service, the router and its admin API."""

    monolith: int = 5000
    catalog: int = 5001
    router: int = 8080
    admin: int = 8081

    @classmethod
    def from_base(cls, base: int) -> Ports:
        """Four consecutive ports from `base`; 0 means any free port for each."""
        if base == 0:
            return cls(0, 0, 0, 0)
        return cls(base, base + 1, base + 2, base + 3)


def check_ports(host: str, ports: Ports) -> None:
    """Fail with one clear line when a fixed port is taken, before anything starts."""
    for name, port in vars(ports).items():
        if port == 0:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # as the servers themselves do: a port whose last connections are in TIME_WAIT
            # (a demo just stopped) is free to listen on; one with a listener is not
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                raise DemoError(
                    f"port {port} on {host} (for the {name}) is in use or not available "
                    f"({exc.strerror}); choose other ports with --port N (uses N to N+3) "
                    "or --port 0 for any free ports"
                ) from None


class Stack(contextlib.ExitStack):
    """The demo's running parts; closing it stops them all, newest first."""

    def serve(self, app: Any, host: str, port: int, name: str) -> tuple[BaseWSGIServer, str]:
        """Serve a WSGI app in a background thread; return the server and its base URL."""
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        try:
            server = make_server(host, port, app, threaded=True)
        except (OSError, SystemExit):  # werkzeug exits on a port in use
            raise DemoError(
                f"cannot listen on {host}:{port} for the {name}: address in use or not "
                "available (choose other ports with --port N, or --port 0)"
            ) from None
        thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
        thread.start()

        def stop() -> None:
            server.shutdown()
            server.server_close()
            thread.join(5)

        self.callback(stop)
        return server, f"http://{host}:{server.server_port}"

    def thread(self, target: Callable[[threading.Event], None], name: str) -> threading.Event:
        """Run `target(stop)` in a thread that is told to stop (and joined) on close."""
        stop = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                target(stop)
            except BaseException as exc:  # reported on close and by `failed`
                failure.append(exc)

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        self._failures[name] = failure

        def halt() -> None:
            stop.set()
            thread.join(15)

        self.callback(halt)
        return stop

    def failed(self, name: str) -> BaseException | None:
        """The exception a background thread died of, if it did."""
        failures = self._failures.get(name) or []
        return failures[0] if failures else None

    def __init__(self) -> None:
        super().__init__()
        self._failures: dict[str, list[BaseException]] = {}


def reset(folder: Path, names: tuple[str, ...]) -> None:
    """Remove what an earlier run left (only the demo's own files), so runs start equal."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = folder / name
        for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
            if stale.is_dir():
                import shutil

                shutil.rmtree(stale)
            else:
                stale.unlink(missing_ok=True)
