"""Explicit configuration: a frozen dataclass per package, from strangler.toml and the env.

A leaf package: it imports nothing of strangler's, so every library (monolith, router,
analysis, cdc) can depend on it without importing the CLI package `strangler`.

Each package declares its settings as a frozen dataclass with defaults and loads it with
`load(cls, section="router", env_prefix="STRANGLER_ROUTER_")`. Values come from, in rising
precedence: the dataclass defaults, the `[section]` table of strangler.toml, environment
variables named PREFIX + FIELD in upper case, and explicit overrides (CLI options).
Unknown keys and values of the wrong type fail at start-up with a message naming the key.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

CONFIG_FILE_ENV = "STRANGLER_CONFIG"
DEFAULT_CONFIG_FILE = "strangler.toml"


class ConfigError(ValueError):
    """A setting is unknown, malformed or inconsistent; the message names the key."""


def config_path(path: str | os.PathLike[str] | None = None) -> Path | None:
    """Return the config file to read: the given one, $STRANGLER_CONFIG, or ./strangler.toml."""
    if path is not None:
        return Path(path)
    if os.environ.get(CONFIG_FILE_ENV):
        return Path(os.environ[CONFIG_FILE_ENV])
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.exists() else None


def read_section(section: str, path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Return the `[section]` table of the config file, or {} when there is none."""
    file = config_path(path)
    if file is None:
        return {}
    try:
        with file.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {file} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {file} is not valid TOML: {exc}") from None
    table = data.get(section, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{file}: [{section}] must be a table")
    return table


def load(
    cls: type[T],
    *,
    section: str,
    env_prefix: str,
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> T:
    """Build `cls` from defaults, the config file, the environment and overrides, validated."""
    environ = os.environ if environ is None else environ
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for key, raw in read_section(section, path).items():
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(f"unknown setting [{section}] {key!r} (known: {known})")
        values[key] = _coerce(f"[{section}] {key}", raw, hints[key])
    for name in fields:
        env_name = env_prefix + name.upper()
        if env_name in environ:
            values[name] = _coerce(env_name, environ[env_name], hints[name])
    for name, raw in (overrides or {}).items():
        if raw is None:
            continue
        if name not in fields:
            raise ConfigError(f"unknown setting {name!r}")
        values[name] = _coerce(name, raw, hints[name])
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from exc


def _coerce(key: str, raw: Any, hint: Any) -> Any:
    """Convert a TOML or environment value to the field's type, or fail naming the key."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if raw is None or raw == "":
            return None
        hint = options[0]
        origin = typing.get_origin(hint)
    if origin in (tuple, list):
        (item,) = typing.get_args(hint)[:1] or (str,)
        items = raw.split(",") if isinstance(raw, str) else raw
        if not isinstance(items, list | tuple):
            raise ConfigError(f"{key} must be a list, got {raw!r}")
        return tuple(_coerce(key, i.strip() if isinstance(i, str) else i, item) for i in items)
    try:
        if hint is bool:
            return _to_bool(raw)
        if hint in (int, float, str):
            if hint is not str and isinstance(raw, bool):
                raise ValueError
            return hint(raw)
        if hint is Path:
            return Path(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be {getattr(hint, '__name__', hint)}, got {raw!r}") from None
    return raw


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)
