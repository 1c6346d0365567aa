"""The pytest parity plugin: assert that a candidate answers as the legacy app does.

Registered through the `pytest11` entry point (`parity`). Each side is either an app
called in-process (override the `legacy_app` / `candidate_app` fixtures, or ini keys
`legacy_app` / `candidate_app` = `module:create_app`) or a base URL (`--legacy-url`,
`--candidate-url`, ini `legacy_url` / `candidate_url`). Rules come from
`--parity-rules FILE` (ini `parity_rules`), the same TOML file the router and
`strangler verify` read. `@pytest.mark.parity_traffic("file.jsonl")` runs a test once
per recorded request, given as the `parity_request` fixture.

Imports only pytest, werkzeug and the standard library (no router, CDC or mitmproxy),
so it installs into a user's own application.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from parity.clients import Client, UrlClient, WsgiClient, load_app
from parity.engine import compare
from parity.errors import ParityError
from parity.model import Comparison
from parity.noise import NoiseModel
from parity.rules import Rules, load_rules

SAFE = ("GET", "HEAD", "OPTIONS")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("parity", "parity between a legacy app and a candidate")
    group.addoption("--legacy-url", help="base URL of the legacy app (else in-process)")
    group.addoption("--candidate-url", help="base URL of the candidate (else in-process)")
    group.addoption("--parity-rules", metavar="FILE", help="rules file (TOML) for assert_parity")
    parser.addini("legacy_url", "base URL of the legacy app")
    parser.addini("candidate_url", "base URL of the candidate")
    parser.addini("legacy_app", "legacy WSGI app as module:create_app (in-process)")
    parser.addini("candidate_app", "candidate WSGI app as module:create_app (in-process)")
    parser.addini("parity_rules", "rules file (TOML) for assert_parity, relative to rootdir")


_RULES = pytest.StashKey[Rules]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RULES] = _load_rules(config)  # a bad file stops the run before any test
    config.addinivalue_line(
        "markers",
        "parity_traffic(file): run the test once per request of a JSON Lines traffic file "
        "({method, path, headers?, body?}), given as the parity_request fixture",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("parity_traffic")
    if marker is None:
        return
    if not marker.args:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: parity_traffic needs a file")
    if "parity_request" not in metafunc.fixturenames:
        raise pytest.UsageError(
            f"{metafunc.definition.nodeid}: parity_traffic needs a parity_request argument"
        )
    requests = list(_traffic(Path(metafunc.definition.path).parent, marker.args[0]))
    ids = [f"{i}:{r['method']} {r['path']}" for i, r in enumerate(requests, 1)]
    metafunc.parametrize("parity_request", requests, ids=ids)


def _traffic(base: Path, name: str) -> Iterable[dict[str, Any]]:
    from parity.inputs import read_jsonl

    path = Path(name) if Path(name).is_absolute() else base / name
    try:
        with path.open(encoding="utf-8") as lines:
            recorded = list(read_jsonl(lines, str(path)))
    except OSError as exc:
        raise pytest.UsageError(f"parity_traffic: cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise pytest.UsageError(f"parity_traffic: {exc}") from None
    for r in recorded:
        yield {"method": r.method, "path": r.target, "headers": list(r.headers), "body": r.body}


def _setting(config: pytest.Config, option: str, ini: str) -> str:
    return str(config.getoption(option) or config.getini(ini) or "")


def _load_rules(config: pytest.Config) -> Rules:
    name = _setting(config, "parity_rules", "parity_rules")
    if not name:
        return Rules()
    path = Path(name)
    if not path.is_absolute() and config.getoption("parity_rules") is None:
        path = config.rootpath / path  # an ini path is relative to the rootdir
    try:
        return load_rules(path)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.fixture(scope="session")
def parity_rules(pytestconfig: pytest.Config) -> Rules:
    """The rules file given by --parity-rules or ini parity_rules (else no rules)."""
    return pytestconfig.stash[_RULES]


@pytest.fixture(scope="session")
def parity_noise() -> NoiseModel:
    """Noise learned from two legacy answers, kept for the whole session."""
    return NoiseModel()


@pytest.fixture
def legacy_app(pytestconfig: pytest.Config) -> Any:
    """The legacy WSGI app (override this fixture, or set ini legacy_app)."""
    spec = str(pytestconfig.getini("legacy_app") or "")
    return load_app(spec) if spec else None


@pytest.fixture
def candidate_app(pytestconfig: pytest.Config) -> Any:
    """The candidate WSGI app (override this fixture, or set ini candidate_app)."""
    spec = str(pytestconfig.getini("candidate_app") or "")
    return load_app(spec) if spec else None


@pytest.fixture
def legacy_client(pytestconfig: pytest.Config, legacy_app: Any) -> Client:
    """The legacy side: --legacy-url, else legacy_app in-process, else ini legacy_url."""
    return _client(pytestconfig, "legacy", legacy_app)


@pytest.fixture
def candidate_client(pytestconfig: pytest.Config, candidate_app: Any) -> Client:
    """The candidate side: --candidate-url, else candidate_app, else ini candidate_url."""
    return _client(pytestconfig, "candidate", candidate_app)


def _client(config: pytest.Config, side: str, app: Any) -> Client:
    url = config.getoption(f"{side}_url")
    if not url and app is not None:
        return WsgiClient(app, side)
    url = url or config.getini(f"{side}_url")
    if not url:
        raise pytest.UsageError(
            f"no {side} to compare: give --{side}-url, ini {side}_url or {side}_app, "
            f"or override the {side}_app fixture"
        )
    try:
        return UrlClient(str(url), name=side)
    except ParityError as exc:
        raise pytest.UsageError(f"--{side}-url: {exc}") from None


AssertParity = Callable[..., Comparison]


@pytest.fixture
def assert_parity(
    legacy_client: Client, candidate_client: Client, parity_rules: Rules, parity_noise: NoiseModel
) -> AssertParity:
    """`assert_parity(method, path, headers=, body=|json=, route=, learn_noise=True)`.

    Sends the request to both sides (and, for a safe method, to the legacy side once
    more to learn noise), compares under the rules and fails with a minimal diff.
    """

    def check(
        method: str,
        path: str,
        headers: Iterable[tuple[str, str]] | dict[str, str] | None = None,
        body: bytes | str | None = None,
        json: Any = None,
        route: str = "",
        learn_noise: bool = True,
    ) -> Comparison:
        method = method.upper()
        pairs = list(headers.items() if isinstance(headers, dict) else headers or [])
        data = body.encode() if isinstance(body, str) else body or b""
        if json is not None:
            data = jsonlib.dumps(json).encode()
            if not any(k.lower() == "content-type" for k, _ in pairs):
                pairs.append(("Content-Type", "application/json"))
        legacy = legacy_client.request(method, path, pairs, data)
        again = None
        if learn_noise and method in SAFE:
            again = legacy_client.request(method, path, pairs, data)
        candidate = candidate_client.request(method, path, pairs, data)
        result = compare(
            legacy, candidate, parity_rules, route=route, method=method,
            path=path.split("?")[0], noise=parity_noise, legacy_again=again,
        )  # fmt: skip
        if not result.match:
            pytest.fail(f"{method} {path}: the candidate differs from the legacy app\n"
                        f"{result.render()}", pytrace=False)  # fmt: skip
        return result

    return check
