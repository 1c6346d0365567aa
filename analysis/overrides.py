"""User overrides (TOML or JSON) and reference splits (table -> context) read from files."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.errors import AnalysisError

_KEYS = {
    "pin", "names", "contexts", "resolution", "seed", "ignore", "ignore_endpoints",
    "ignore_statements", "reassign_statements",
}  # fmt: skip


@dataclass(frozen=True)
class Overrides:
    """Corrections a user applies to the suggested split."""

    pin: dict[str, str] = field(default_factory=dict)  # table -> context name
    names: dict[str, str] = field(default_factory=dict)  # member table -> context name
    contexts: int | None = None  # wanted number of contexts
    resolution: float | None = None  # Louvain resolution (higher: more, smaller contexts)
    seed: int | None = None
    ignore: tuple[str, ...] = ()  # tables left out of the analysis
    ignore_endpoints: tuple[str, ...] = ()  # fnmatch patterns, e.g. "cli *"
    # fnmatch patterns on statement fingerprints, e.g. "UPDATE users SET lastseen = ?*"
    ignore_statements: tuple[str, ...] = ()
    # fingerprint pattern -> the code unit that really issues it, e.g. "middleware lastseen"
    reassign_statements: dict[str, str] = field(default_factory=dict)


def _load_mapping(path: Path, option: str) -> dict[str, Any]:
    if not path.is_file():
        raise AnalysisError(f"{option} {path}: no such file")
    text = path.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        raise AnalysisError(f"{option} {path}: the file is empty")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise AnalysisError(f"{option} {path}: not valid {kind}: {exc}") from None
    if not isinstance(data, dict):
        raise AnalysisError(f"{option} {path}: expected a table/object at the top level")
    return data


def read_overrides(path: Path) -> Overrides:
    """Read and type-check an overrides file; unknown keys fail naming the key."""
    data = _load_mapping(path, "--overrides")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise AnalysisError(
            f"--overrides {path}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})"
        )
    try:
        return Overrides(
            pin=_str_map(data.get("pin", {}), "pin"),
            names=_str_map(data.get("names", {}), "names"),
            contexts=_positive(data.get("contexts"), "contexts", int),
            resolution=_positive(data.get("resolution"), "resolution", float),
            seed=None if data.get("seed") is None else int(data["seed"]),
            ignore=_str_list(data.get("ignore", []), "ignore"),
            ignore_endpoints=_str_list(data.get("ignore_endpoints", []), "ignore_endpoints"),
            ignore_statements=_str_list(data.get("ignore_statements", []), "ignore_statements"),
            reassign_statements=_patterns_to_units(data.get("reassign_statements", {})),
        )
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"--overrides {path}: {exc}") from None


def check_tables(overrides: Overrides, known: Iterable[str]) -> None:
    """Fail naming the first override entry that names a table the analysis never saw."""
    tables = set(known)
    for key, names in (("pin", overrides.pin), ("names", overrides.names)):
        for table in names:
            if table.lower() not in tables:
                raise AnalysisError(_unknown(key, table, tables))
    for table in overrides.ignore:
        if table.lower() not in tables:
            raise AnalysisError(_unknown("ignore", table, tables))


def _unknown(key: str, table: str, tables: set[str]) -> str:
    shown = ", ".join(sorted(tables)[:30]) + (" ..." if len(tables) > 30 else "")
    return f"--overrides: {key} names unknown table {table!r} (known tables: {shown})"


def read_reference(path: Path) -> dict[str, str]:
    """Read a table -> context mapping: {context: [tables]} or {table: context}; JSON or TOML."""
    if path.suffix.lower() in (".csv", ".txt", ".tsv"):
        return _reference_lines(path)
    data = _load_mapping(path, "--reference")
    mapping: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, list):
            for table in value:
                mapping[str(table).lower()] = str(key)
        elif isinstance(value, str):
            mapping[str(key).lower()] = value
        else:
            raise AnalysisError(
                f"--reference {path}: {key!r} must map to a context name or a list of tables"
            )
    if not mapping:
        raise AnalysisError(f"--reference {path}: no tables in the reference split")
    return mapping


def _reference_lines(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise AnalysisError(f"--reference {path}: no such file")
    mapping: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [p.strip() for p in line.replace("\t", ",").split(",")]
        if len(parts) != 2 or not all(parts):
            raise AnalysisError(f"--reference {path}:{number}: expected 'table,context'")
        mapping[parts[0].lower()] = parts[1]
    if not mapping:
        raise AnalysisError(f"--reference {path}: no tables in the reference split")
    return mapping


def _str_map(value: Any, key: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError(f"{key} must map table names to context names")
    return {str(k).lower(): v for k, v in value.items()}


def _patterns_to_units(value: Any) -> dict[str, str]:
    # Patterns keep their case: fingerprints keep the statement's keywords as written.
    if not isinstance(value, dict) or not all(
        isinstance(v, str) and v.strip() for v in value.values()
    ):
        raise ValueError("reassign_statements must map statement patterns to code unit names")
    return {str(k): v.strip() for k, v in value.items()}


def _str_list(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a list of names")
    return tuple(v.lower() if key == "ignore" else v for v in value)


def _positive(value: Any, key: str, kind: type) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{key} must be a positive number, got {value!r}")
    return kind(value)
