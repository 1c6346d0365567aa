"""Read an analysis report (docs/report-schema.md) and pick one context out of it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffold.errors import ScaffoldError


@dataclass(frozen=True)
class CutKey:
    """A foreign key between the context's tables and another context's."""

    table: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class ContextSpec:
    """What the report says about one context: its tables, endpoints and boundary work."""

    name: str
    tables: tuple[str, ...]
    endpoints: tuple[str, ...]
    foreign_keys_to_cut: tuple[CutKey, ...] = ()
    cdc_streams: tuple[str, ...] = ()
    report_path: str = ""
    # endpoint -> (tables it reads, tables it writes), as the report measured them
    uses: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = ()

    def use_of(self, endpoint: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        found = next((u for u in self.uses if u[0] == endpoint), None)
        return (found[1], found[2]) if found else ((), ())


def load_report(path: Path) -> dict[str, Any]:
    """Read report.json; a missing, unreadable or malformed file is one clear error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScaffoldError(f"--report {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScaffoldError(f"--report {path}: cannot read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScaffoldError(f"--report {path}: not JSON ({exc})") from None
    _check_shape(data, path)
    return dict(data)


def _check_shape(data: Any, path: Path) -> None:
    where = f"--report {path}"
    if not isinstance(data, dict) or "contexts" not in data:
        raise ScaffoldError(
            f"{where}: not an analysis report (no 'contexts'; see `strangler analyze`)"
        )
    if data.get("version") != 1:
        raise ScaffoldError(f"{where}: report version {data.get('version')!r} is not supported (1)")
    contexts = data["contexts"]
    if not isinstance(contexts, list):
        raise ScaffoldError(f"{where}: 'contexts' must be a list")
    for i, context in enumerate(contexts):
        ok = (
            isinstance(context, dict)
            and isinstance(context.get("name"), str)
            and _strings(context.get("tables"))
            and _strings(context.get("endpoints", []))
        )
        if not ok:
            raise ScaffoldError(
                f"{where}: contexts[{i}] needs a name and lists of table and endpoint names"
            )


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def select_context(report: dict[str, Any], name: str, where: str = "report") -> ContextSpec:
    """Return the context `name`; an unknown one is an error listing the known ones."""
    contexts = {c["name"]: c for c in report["contexts"]}
    if name not in contexts:
        known = ", ".join(sorted(contexts)) or "none"
        raise ScaffoldError(f"{where} has no context {name!r} (known: {known})")
    context = contexts[name]
    if not context["tables"]:
        raise ScaffoldError(f"{where}: context {name!r} has no tables to give the service")
    step = next(
        (s for s in report.get("extraction_plan") or [] if isinstance(s, dict)
         and s.get("context") == name),
        {},
    )  # fmt: skip
    return ContextSpec(
        name=name,
        tables=tuple(sorted(context["tables"])),
        endpoints=tuple(context.get("endpoints", [])),
        foreign_keys_to_cut=tuple(_cut(fk) for fk in step.get("foreign_keys_to_cut") or []),
        cdc_streams=tuple(step.get("cdc_streams") or ()),
        report_path=where,
        uses=tuple(_uses(report.get("endpoints"), context.get("endpoints", []))),
    )


def _uses(endpoints: Any, names: list[str]) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    found = endpoints if isinstance(endpoints, dict) else {}
    out = []
    for name in names:
        entry = found.get(name)
        entry = entry if isinstance(entry, dict) else {}
        out.append((name, tuple(entry.get("reads") or ()), tuple(entry.get("writes") or ())))
    return out


def _cut(fk: Any) -> CutKey:
    if not isinstance(fk, dict):
        raise ScaffoldError("report: extraction_plan foreign_keys_to_cut holds a non-object")
    return CutKey(
        str(fk.get("table", "")),
        tuple(fk.get("columns") or ()),
        str(fk.get("ref_table", "")),
        tuple(fk.get("ref_columns") or ()),
    )
