"""Noise learned from two legacy answers to the same request (as Diffy does).

A field that differs between two answers of the legacy system (a timestamp, a
generated id, a CSRF token, an ordering) is noise for that route, not a regression:
later differences in that field are set apart. Kept per route and per field, with
counts, and safe to share between threads.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from parity.model import Response
    from parity.rules import RouteRules, Rules


class NoiseModel:
    """Per route: how many legacy pairs were compared, and which fields differed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pairs: dict[str, int] = defaultdict(int)
        self._noisy: dict[str, dict[str, int]] = defaultdict(dict)
        self._frozen: dict[str, frozenset[str]] = {}

    def learn(
        self,
        route: str,
        legacy_a: Response,
        legacy_b: Response,
        rules: Rules | RouteRules | None = None,
        *,
        method: str = "",
        path: str = "",
    ) -> frozenset[str]:
        """Compare two legacy answers; record each differing field as noise for `route`."""
        from parity.engine import differences, route_rules

        rr = route_rules(rules, route, method, path)
        fields = frozenset(d.field for d in differences(legacy_a, legacy_b, rr))
        self.add(route, fields)
        return fields

    def add(self, route: str, fields: frozenset[str] | set[str], pairs: int = 1) -> None:
        """Record `pairs` legacy pairs for `route`, in which `fields` differed."""
        with self._lock:
            self._pairs[route] += pairs
            counts = self._noisy[route]
            for f in fields:
                counts[f] = counts.get(f, 0) + 1
            self._frozen[route] = frozenset(counts)

    def fields(self, route: str) -> frozenset[str]:
        """The fields known to be noise for `route`."""
        return self._frozen.get(route, frozenset())

    def is_noise(self, route: str, field: str) -> bool:
        return field in self.fields(route)

    def stats(self) -> dict[str, dict[str, Any]]:
        """{route: {"pairs": n, "fields": {field: times it differed}}}."""
        with self._lock:
            return {
                r: {"pairs": n, "fields": dict(sorted(self._noisy.get(r, {}).items()))}
                for r, n in sorted(self._pairs.items())
            }

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return self.stats()

    @classmethod
    def from_dict(cls, data: dict[str, dict[str, Any]]) -> NoiseModel:
        model = cls()
        for route, entry in data.items():
            model._pairs[route] = int(entry.get("pairs", 0))
            model._noisy[route] = {str(f): int(n) for f, n in entry.get("fields", {}).items()}
            model._frozen[route] = frozenset(model._noisy[route])
        return model
