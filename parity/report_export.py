"""Turn verify mismatches or recorded requests into a pytest regression file.

The file uses the parity pytest plugin's `assert_parity` fixture, so it runs against
both sides by URL (`--legacy-url`, `--candidate-url`) or in-process (override the
`legacy_app` / `candidate_app` fixtures), with the same rules file (`--parity-rules`).
"""

from __future__ import annotations

import pprint
from collections.abc import Iterable
from typing import Any

from parity.errors import ParityError
from parity.inputs import Recorded
from parity.replay import SAFE, template_matches
from parity.report import request_json

_TEMPLATE = '''"""Parity regression tests for route {route}: candidate answers as legacy does.

Exported by `strangler verify export` from {source}. Run against both sides with the
parity pytest plugin (installed with strangler):

    pytest {{this file}} --legacy-url URL --candidate-url URL [--parity-rules rules.toml]

or override the `legacy_app` / `candidate_app` fixtures to call both apps in-process.
"""

import pytest

ROUTE = {route!r}
REQUESTS = {requests}


@pytest.mark.parametrize("req", REQUESTS, ids=[f"{{r['method']}} {{r['path']}}" for r in REQUESTS])
def test_the_candidate_answers_like_the_legacy_app(assert_parity, req):
    assert_parity(
        req["method"], req["path"], headers=req.get("headers"), body=req.get("body"), route=ROUTE
    )
'''


class ExportError(ParityError, ValueError):
    """Nothing to export, or the report does not have what was asked for."""


def from_report(report: dict[str, Any], route: str, chosen: tuple[int, ...] = ()) -> list[dict]:
    """The requests of a route's mismatch samples in a verify JSON report (1-based picks)."""
    entry = next((r for r in report.get("routes", []) if r.get("route") == route), None)
    if entry is None:
        known = ", ".join(r.get("route", "?") for r in report.get("routes", []))
        raise ExportError(f"the report has no route {route!r} (routes: {known or 'none'})")
    samples = [s for s in entry.get("samples", []) if s.get("differences") or s.get("state")]
    if chosen:
        bad = [n for n in chosen if not 1 <= n <= len(samples)]
        if bad:
            raise ExportError(
                f"route {route!r} has {len(samples)} mismatch sample(s); no #{bad[0]}"
            )
        samples = [samples[n - 1] for n in chosen]
    if not samples:
        raise ExportError(f"route {route!r} has no mismatch samples in the report")
    return [_without_body_b64(s["request"]) for s in samples]


def _without_body_b64(request: dict[str, Any]) -> dict[str, Any]:
    if "body_b64" in request:
        raise ExportError(
            f"{request['method']} {request['path']}: a binary body cannot be exported"
        )
    return request


def from_recording(
    requests: Iterable[Recorded], route: str, limit: int = 50, writes: bool = False
) -> list[dict]:
    """Distinct recorded requests under `route` (a template or a path), reads only by default."""
    seen: set[tuple[str, str, bytes]] = set()
    out: list[dict] = []
    for r in requests:
        key = (r.method, r.target, r.body)
        if key in seen or not template_matches(route, r.path) or r.skip:
            continue
        if r.method not in SAFE and not writes:
            continue
        seen.add(key)
        out.append(_without_body_b64(request_json(r)))
        if len(out) >= limit:
            break
    if not out:
        raise ExportError(f"no recorded {'' if writes else 'read '}request falls under {route!r}")
    return out


def render(route: str, requests: list[dict], source: str) -> str:
    """The pytest module's text."""
    literal = pprint.pformat(requests, indent=4, width=96, sort_dicts=False)
    return _TEMPLATE.format(route=route, source=source, requests=literal)
