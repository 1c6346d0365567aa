"""Several data-plane processes on one port: `strangler router serve --workers N`.

mitmproxy's per-flow machinery costs ~0.6 ms of CPU per request, so one process is
bounded by one core. With `--workers N` the serving process is worker 0 (data plane
and the main admin API) and starts N-1 more `router serve` processes on the same
traffic port with SO_REUSEPORT; the kernel spreads incoming connections among them.
All share the route store and apply changes by polling it, like any set of routers
sharing a store. Each extra worker has its own admin API on 127.0.0.1 (a free port,
same token), so metrics are per worker, not aggregated.

The workers get SIGTERM when worker 0 stops; if worker 0 dies without stopping them,
each notices within half a second that its parent is gone and stops too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass

from router.errors import RouterError


def exit_with_parent(interval: float = 0.5) -> None:
    """In a worker: SIGTERM ourselves when worker 0 goes away (we get re-parented)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(interval)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="router-parent-watch", daemon=True).start()


@dataclass(frozen=True)
class WorkerSpec:
    """What an extra worker needs to serve like worker 0."""

    listen: str  # HOST:PORT actually bound by worker 0
    store: str
    token: str
    access_log: str
    capture: str


class Workers:
    """Start and stop the extra worker processes."""

    def __init__(self, spec: WorkerSpec, count: int) -> None:
        self.spec = spec
        self.count = count
        self.procs: list[subprocess.Popen[bytes]] = []
        self.admin_urls: list[str] = []

    def command(self) -> list[str]:
        s = self.spec
        cmd = [sys.executable, "-m", "strangler", "router", "serve", "--reuse-port"]
        cmd += ["--listen", s.listen, "--admin", "127.0.0.1:0", "--store", s.store]
        cmd += ["--access-log", s.access_log]
        if s.capture:
            cmd += ["--capture", s.capture]
        return cmd

    def start(self) -> None:
        env = {**os.environ, "STRANGLER_ADMIN_TOKEN": self.spec.token, "PYTHONUNBUFFERED": "1"}
        for _ in range(self.count):
            proc = subprocess.Popen(self.command(), env=env, stdout=subprocess.PIPE)
            self.procs.append(proc)
        for proc in self.procs:  # wait until each accepts traffic (its first line)
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line.startswith(b"strangler router: traffic on"):
                self.stop()
                raise RouterError(f"worker {proc.pid} failed to start (exit {proc.poll()})")
            self.admin_urls.append(line.decode().rsplit(" ", 1)[-1].strip())

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def stop(self, timeout: float = 10.0) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
