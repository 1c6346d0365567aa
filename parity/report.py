"""Aggregate replay outcomes into the verify report: per route, per field, with samples.

Memory stays bounded however many requests are replayed: counts are aggregated as
they arrive, and only a few samples per route are kept (the first request of each
distinct set of differing fields, up to `keep` of them, plus a few errors). Whether a
mismatch is explained by noise is decided at the end, once the noise model has seen
the whole run: a compared request counts as mismatched when one of its differing
fields was never seen to differ between two legacy answers on that route.
"""

from __future__ import annotations

import base64
import shlex
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from parity import NoiseModel, Response, Rules
from parity.inputs import Recorded
from parity.replay import Outcome

BODY_LIMIT = 4096  # bytes of each body kept in a sample
SHOWN = 5  # samples per route in the report


@dataclass(slots=True)
class _Seen:
    """What a route showed besides plain matches (made on the first such request)."""

    signatures: Counter[frozenset[str]] = field(default_factory=Counter)
    fields: Counter[str] = field(default_factory=Counter)
    samples: dict[frozenset[str], dict[str, Any]] = field(default_factory=dict)
    error_samples: list[dict[str, Any]] = field(default_factory=list)
    skip_reasons: Counter[str] = field(default_factory=Counter)


@dataclass(slots=True)
class _Route:
    """Counts of one route; small, since without a router every path is a route."""

    compared: int = 0
    skipped: int = 0
    errors: int = 0
    seen: _Seen | None = None

    @property
    def more(self) -> _Seen:
        if self.seen is None:
            self.seen = _Seen()
        return self.seen


class Tally:
    """Receive outcomes one by one (`add`); build the report at the end (`report`)."""

    def __init__(
        self,
        legacy: str,
        candidate: str,
        noise: NoiseModel,
        rules: Rules | None = None,
        keep: int = 20,
    ) -> None:
        self.legacy, self.candidate = legacy, candidate
        self.noise = noise
        self.rules = rules or Rules()
        self.keep = keep
        self.routes: dict[str, _Route] = {}

    def add(self, outcome: Outcome) -> None:
        r = self.routes.setdefault(outcome.route, _Route())
        if outcome.skipped:
            r.skipped += 1
            r.more.skip_reasons[outcome.skipped] += 1
        elif outcome.error or outcome.comparison is None:
            r.errors += 1
            if len(r.more.error_samples) < 3:
                r.more.error_samples.append(self._sample(outcome))
        else:
            r.compared += 1
            found = (*outcome.comparison.differences, *outcome.comparison.noise)
            fields = frozenset(d.field for d in found)
            fields |= {d.field for d in outcome.state}
            if not fields:
                return
            seen = r.more
            seen.signatures[fields] += 1
            seen.fields.update(fields)
            if fields not in seen.samples and len(seen.samples) < self.keep:
                seen.samples[fields] = self._sample(outcome)

    def report(self) -> dict[str, Any]:
        """The JSON report: {"routes": [...], "totals": {...}}, worst route first."""
        stats = self.noise.stats()
        routes = [
            self._route(name, r, stats.get(name, {}).get("fields", {}))
            for name, r in self.routes.items()
        ]
        routes.sort(key=lambda x: (-x["mismatched"], -x["errors"], x["route"]))
        totals = {
            k: sum(x[k] for x in routes) for k in ("compared", "mismatched", "skipped", "errors")
        }
        totals["requests"] = totals["compared"] + totals["skipped"] + totals["errors"]
        totals["routes"] = len(routes)
        totals["mismatch_rate"] = _rate(totals["mismatched"], totals["compared"])
        return {
            "legacy": self.legacy,
            "candidate": self.candidate,
            "routes": routes,
            "totals": totals,
        }

    def _route(self, name: str, r: _Route, noise: dict[str, int]) -> dict[str, Any]:
        """One route's entry; `noise` counts, per field, the legacy pairs it differed in."""
        learns = self.rules.for_route(name, path=name).learn_noise
        noisy = set(noise) if learns else set()
        seen = r.seen or _Seen()
        mismatched = sum(n for sig, n in seen.signatures.items() if not sig <= noisy)
        fields = [
            _field(f, n, noise.get(f, 0), f in noisy, r.compared) for f, n in seen.fields.items()
        ]
        # noisy fields that never showed up in a legacy/candidate difference
        fields += [
            _field(f, 0, k, True, r.compared) for f, k in noise.items() if f not in seen.fields
        ]
        fields.sort(key=lambda x: (x["explained"], -x["mismatched"], x["path"]))
        samples = [s for sig, s in seen.samples.items() if not sig <= noisy][:SHOWN]
        return {
            "route": name,
            "compared": r.compared,
            "mismatched": mismatched,
            "rate": _rate(mismatched, r.compared),
            "skipped": r.skipped,
            "errors": r.errors,
            "fields": fields,
            "samples": samples + seen.error_samples,
            "skip_reasons": dict(seen.skip_reasons),
        }

    def _sample(self, o: Outcome) -> dict[str, Any]:
        sample: dict[str, Any] = {
            "request": request_json(o.request),
            "legacy": _response(o.legacy),
            "candidate": _response(o.candidate),
            "curl": {
                "legacy": curl(self.legacy, o.request),
                "candidate": curl(self.candidate, o.request),
            },
        }
        if o.error:
            sample["error"] = o.error
        if o.comparison is not None:
            sample["differences"] = [d.to_dict() for d in o.comparison.differences]
            sample["diff"] = o.comparison.render()
        if o.state:
            sample["state"] = [d.to_dict() for d in o.state]
            lines = [
                f"  {d.table} {d.key} {d.column}: legacy {d.legacy!r} != candidate {d.candidate!r}"
                for d in o.state
            ]
            head = sample.get("diff") or ""
            sample["diff"] = "\n".join([*([head] if head else []), "rows left different:", *lines])
        return sample


def _field(path: str, mismatched: int, noise: int, explained: bool, of: int) -> dict[str, Any]:
    return {
        "path": path,
        "mismatched": mismatched,
        "noise": noise,
        "explained": explained,
        "rate": _rate(mismatched, of),
    }


def _rate(n: int, total: int) -> float:
    return round(n / total, 6) if total else 0.0


def request_json(r: Recorded) -> dict[str, Any]:
    """The request as a `--requests` line (body as text, or base64 when binary)."""
    data: dict[str, Any] = {"method": r.method, "path": r.target}
    if r.headers:
        data["headers"] = dict(r.headers)
    if r.body:
        try:
            data["body"] = r.body.decode("utf-8")
        except UnicodeDecodeError:
            data["body_b64"] = base64.b64encode(r.body).decode("ascii")
    return data


def _response(r: Response | None) -> dict[str, Any] | None:
    if r is None:
        return None
    body = r.body[:BODY_LIMIT].decode("utf-8", "replace")
    return {
        "status": r.status,
        "headers": dict(r.headers),
        "body": body,
        "truncated": len(r.body) > BODY_LIMIT,
    }


def curl(base: str, r: Recorded) -> str:
    """A copy-as-curl line that sends the request to one side."""
    parts = ["curl", "-sS", "-X", r.method, shlex.quote(base.rstrip("/") + r.target)]
    for k, v in r.headers:
        parts += ["-H", shlex.quote(f"{k}: {v}")]
    if r.body:
        parts += ["--data-binary", shlex.quote(r.body.decode("utf-8", "replace"))]
    return " ".join(parts)
