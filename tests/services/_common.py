"""Shared helpers for the service fixtures: the skip/fail policy, the marker guard, ports,
logs, cache paths."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn, TypeVar

import pytest

T = TypeVar("T")
REPO_ROOT = Path(__file__).resolve().parents[2]
_BIND_ERRORS = ("Address already in use", "could not bind", "BindException")
HOW_TO_INSTALL = "run `make services` (installs it)"


class ServiceError(RuntimeError):
    """A service a script (not a test) asked for is missing or did not start."""


class _Running:
    """The test pytest is running now (set by tests/conftest.py); None in a script."""

    item: pytest.Item | None = None


@contextlib.contextmanager
def running(item: pytest.Item) -> Iterator[None]:
    """Mark ``item`` as the test being run, for the marker guard and the skip policy."""
    previous, _Running.item = _Running.item, item
    try:
        yield
    finally:
        _Running.item = previous


def require_marker(marker: str, service: str) -> None:
    """Fail the running test if it reaches ``service`` without the ``marker`` marker.

    Called wherever a service is started or used (the fixtures, the start functions,
    ``PostgresServer.connect``/``url_for``, ``KafkaBroker.bootstrap``), so that
    ``-m "not postgres and not kafka"`` can be trusted to need no service. Scripts
    (bench/) run no test and are not checked.
    """
    item = _Running.item
    if item is not None and item.get_closest_marker(marker) is None:
        pytest.fail(
            f"{item.nodeid} uses {service} but is not marked `{marker}`: request the "
            f"`{marker}` fixture by name, or mark the test (pytest.mark.{marker}, or "
            f"pytest.param(..., marks=pytest.mark.{marker}) for one parameter), so that "
            f'`-m "not {marker}"` deselects it',
            pytrace=False,
        )


def _fail(message: str) -> NoReturn:
    """Fail the running test, or raise ServiceError in a script."""
    if _Running.item is None:
        raise ServiceError(message)
    pytest.fail(message, pytrace=False)


def in_ci() -> bool:
    """Tell whether this run is CI, where no service may be missing."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(service: str, what: str, how: str) -> NoReturn:
    """Skip (locally) or fail (under CI) the requesting tests because a service is missing.

    This is the one place the policy lives: one line naming what is missing and how
    to get it. A service that is present but fails to start is a real failure: use
    ``broken`` for that. Outside a test (a bench/ script) both raise ServiceError.
    """
    message = f"{service} unavailable: {what}; {how}"
    if in_ci():
        _fail(f"{message} (CI=true: services must not be missing)")
    if _Running.item is None:
        raise ServiceError(message)
    pytest.skip(message)


def broken(service: str, what: str, log: Path | None = None) -> NoReturn:
    """Fail the requesting tests because a service that should work did not start."""
    tail = f"\n--- last lines of {log} ---\n{log_tail(log)}" if log else ""
    _fail(f"{service} failed to start: {what}{tail}")


class PortTaken(Exception):
    """A server lost the race for the free port picked for it; starting again may work."""


def check_port_clash(log: Path) -> None:
    """Raise PortTaken if a failed server's log says its port was taken meanwhile."""
    tail = log_tail(log)
    if any(marker in tail for marker in _BIND_ERRORS):
        raise PortTaken(tail)


def start_with_retries(service: str, start: Callable[[], T], attempts: int = 3) -> T:
    """Run ``start``, again with fresh ports when another process took them first."""
    for _ in range(attempts - 1):
        try:
            return start()
        except PortTaken:
            continue
    try:
        return start()
    except PortTaken as exc:
        _fail(f"{service} failed to start: its port was taken {attempts} times\n{exc}")


def log_tail(path: Path, lines: int = 40) -> str:
    """Return the last lines of a log file, or a note that it is missing."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 10, host: str = "127.0.0.1") -> None:
    """Wait until something accepts TCP connections on host:port; raise TimeoutError if not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port, host, timeout=0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:g}s")


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """Tell whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(ready: Callable[[], bool], alive: Callable[[], bool], timeout: float) -> bool:
    """Poll ``ready`` until it holds; give up when ``alive`` turns false or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return True
        if not alive():
            return False
        time.sleep(0.1)
    return False


def cache_root() -> Path:
    """Return the cache folder shared with scripts/ensure-services.sh (outside the repo)."""
    if explicit := os.environ.get("STRANGLER_CACHE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "strangler"


def kafka_version() -> str:
    """Return the Kafka version pinned in scripts/kafka/pom.xml."""
    pom = (REPO_ROOT / "scripts" / "kafka" / "pom.xml").read_text()
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom)
    if match is None:
        raise RuntimeError("scripts/kafka/pom.xml names no <kafka.version>")
    return match.group(1).strip()


def die_with_parent(sig: signal.Signals) -> Callable[[], None]:
    """Return a Popen ``preexec_fn`` that has the kernel send ``sig`` to the child when
    pytest dies without tearing it down, so a killed session leaves no server behind."""

    def arm() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, sig)  # PR_SET_PDEATHSIG

    return arm
