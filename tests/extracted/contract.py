"""Compare a monolith answer with a service answer through the parity engine.

The rules are the service's own parity.toml, the file verification and the router's
shadow comparison read: a difference it does not declare fails the test. Rows a test
creates on both sides get their own created_at on each (`created=True` ignores it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import parity

EXTRACTED = Path(__file__).resolve().parents[2] / "extracted"


def service_rules(name: str) -> parity.Rules:
    return parity.load_rules(EXTRACTED / name / "parity.toml")


def _response(answer: Any) -> parity.Response:
    return parity.Response(answer.status_code, list(answer.headers.items()), answer.get_data())


def assert_same(pair: Any, method: str, path: str, *, created: bool = False, **kwargs: Any) -> Any:
    """Send the request to both; assert the answers agree; return the service's JSON."""
    legacy, service = pair.both(method, path, **kwargs)
    compared = parity.compare(
        _response(legacy), _response(service), pair.rules, method=method, path=path.split("?")[0]
    )
    left = [d for d in compared.differences if not (created and d.field.endswith(".created_at"))]
    assert not left, f"{method} {path}\n{compared.render()}"
    return service.get_json(silent=True)
