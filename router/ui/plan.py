"""The Plan view: the analyzer's context map with each context coloured by migration state.

The analyzer writes contexts.dot next to report.json (`strangler analyze --out DIR`). A
context's service is the one that takes over most of its tables (the handover contexts,
handover/plan.py: catalog owns categories, products, prices), else an upstream named like
the context; its routes are those whose target is that service. Its state, furthest first:

- owned by the service: its handover is done (reverse sync), or all its routes are on
  the service;
- canary: a route of it serves a share (or some, not all, are on the service);
- shadow: a route of it is mirrored;
- syncing: a forward CDC sink of the context has applied rows;
- not started.

Each node gets the state's colour and, in words, a last label line; graphviz renders
the SVG, which the page shows as an image (an <img> runs no script).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

STATES = ("not started", "syncing", "shadow", "canary", "owned by the service")
COLOURS = dict(zip(STATES, ("#ffffff", "#fdf3e1", "#e3dcf7", "#ffe8a3", "#cdebd3"), strict=True))
_NODE = re.compile(r'^(\s*)("(?:[^"\\]|\\.)*") \[label="((?:[^"\\]|\\.)*)"\];$')


def migration_state(modes: Iterable[str], handed_over: bool = False, synced: bool = False) -> str:
    """The state of one context from its routes' modes, its handover and its CDC sink."""
    modes = list(modes)
    if handed_over or (modes and all(m == "service" for m in modes)):
        return "owned by the service"
    if "canary" in modes or "service" in modes:
        return "canary"
    if "shadow" in modes:
        return "shadow"
    return "syncing" if synced else "not started"


def coloured_dot(dot: str, states: dict[str, str]) -> str:
    """The context map's DOT with each known context filled with its state's colour."""
    out = []
    for line in dot.splitlines():
        found = _NODE.match(line)
        name = json.loads(found.group(2)) if found else None
        if found and name in states:
            state = states[name]
            label = f"{found.group(3)}\\n[{state}]"
            line = (
                f'{found.group(1)}{found.group(2)} [label="{label}", fillcolor="{COLOURS[state]}"];'
            )
        out.append(line)
    return "\n".join(out) + "\n"


def service_of(context: str, tables: Iterable[str], owned: dict[str, tuple[str, ...]]) -> str:
    """The service a context moves to: the one owning most of its tables, else its name."""
    mine = set(tables)
    best = max(owned, key=lambda name: (len(mine & set(owned[name])), name), default=None)
    return best if best is not None and mine & set(owned[best]) else context


class PlanReader:
    """Reads contexts.dot (next to the report) and renders it coloured, cached per states."""

    def __init__(self, report: str) -> None:
        self.folder = Path(report).parent
        self._cache: tuple[Any, bytes] | None = None

    def contexts(self) -> list[str]:
        dot = self._dot()
        names = (json.loads(m.group(2)) for m in map(_NODE.match, dot.splitlines()) if m)
        return list(names) if dot else []

    def tables(self) -> dict[str, list[str]]:
        """Each context's tables, from report.json ({} when there is none)."""
        path = self.folder / "report.json"
        if not path.exists():
            return {}
        report = json.loads(path.read_text(encoding="utf-8"))
        return {c["name"]: list(c.get("tables", ())) for c in report.get("contexts", ())}

    def _dot(self) -> str:
        path = self.folder / "contexts.dot"
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def svg(self, states: dict[str, str]) -> bytes | None:
        """The coloured context map as SVG; None without a context map or graphviz."""
        import graphviz

        dot = self._dot()
        if not dot:
            return None
        key = (dot, tuple(sorted(states.items())))
        if self._cache is None or self._cache[0] != key:
            try:
                self._cache = (key, graphviz.Source(coloured_dot(dot, states)).pipe(format="svg"))
            except graphviz.ExecutableNotFound:
                return None
        return self._cache[1]
