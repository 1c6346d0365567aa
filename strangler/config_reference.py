"""Every setting of every package, from the settings dataclasses themselves.

One source: docs/configuration.md is `render()` (a test keeps the committed file equal to
it), and `strangler config show` loads the same sections the packages load. A field's
description is its comment in the dataclass (on its line, or the lines right above it).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import io
import json
import os
import tokenize
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import strangler_settings as settings


@dataclass(frozen=True)
class Section:
    """One `[name]` table of strangler.toml and the dataclass that reads it."""

    name: str
    cls_path: str  # module:Class
    used_by: str
    names: tuple[str, ...] = ()  # a shared class read under several section names

    @property
    def cls(self) -> type[Any]:
        module, _, attr = self.cls_path.partition(":")
        return getattr(importlib.import_module(module), attr)

    @property
    def env_prefix(self) -> str:
        return f"STRANGLER_{self.name.upper()}_"


SERVICES = ("catalog", "reviews")
SECTIONS: tuple[Section, ...] = (
    Section("monolith", "monolith.config:MonolithConfig",
            "ShopCo (`strangler monolith serve|seed|migrate|traffic`). The plain 12-factor "
            "variables `DATABASE_URL`, `PORT` and `LOG_LEVEL` are read too, above "
            "`STRANGLER_MONOLITH_*`."),
    Section("router", "router.config:RouterConfig",
            "`strangler router serve`; `routes` and `upstreams` read `admin` and "
            "`token_file` to reach its admin API (`STRANGLER_ADMIN_TOKEN` holds the token)."),
    Section("gate", "router.gate:GatePolicy",
            "the promotion gate the router applies to `routes promote` and `routes gate` "
            "(docs/router.md). `[gate.tables]` maps a route id to the tables whose CDC lag "
            "it checks."),
    Section("dashboard", "router.ui.data:DashboardConfig",
            "the dashboard at `/ui/` on the router's admin port (docs/dashboard.md)."),
    Section("analyze", "analysis.config:AnalyzeSettings",
            "`strangler analyze` (docs/analyze.md); CLI options win."),
    Section("cdc", "cdc.config:CdcConfig",
            "`strangler cdc ...` (docs/cdc.md); CLI options win."),
    Section("NAME", "extracted._service.config:ServiceConfig",
            "each extracted service, `[catalog]`, `[reviews]` or one made by `extract "
            "scaffold` (`strangler extract migrate|sync|serve NAME`, docs/extract.md); "
            "variables `STRANGLER_<NAME>_<FIELD>`.", SERVICES),
)  # fmt: skip


def section(name: str) -> Section:
    for s in SECTIONS:
        if name == s.name or name in s.names:
            return s
    known = ", ".join(n for s in SECTIONS for n in (s.names or (s.name,)))
    raise settings.ConfigError(f"unknown section [{name}] (known: {known})")


def comments(cls: type[Any]) -> dict[str, str]:
    """Each field's comment: the comment lines right above it, then the one on its line."""
    source = inspect.getsource(cls)
    inline = {  # line number -> comment text (tokenize: a '#' inside a string is no comment)
        tok.start[0]: tok.string.lstrip("#").strip()
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.COMMENT
    }
    found: dict[str, str] = {}
    above: list[str] = []
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            above.append(inline[number])
            continue
        name = stripped.split(":", 1)[0]
        is_field = line.startswith("    ") and not line.startswith("     ") and ":" in stripped
        if is_field and name.isidentifier() and not stripped.startswith(("def ", "class ")):
            found[name] = " ".join([*above, inline.get(number, "")]).strip()
        above = []
    return found


def _type_name(hint: Any) -> str:
    text = str(hint).replace("typing.", "").replace("collections.abc.", "")
    return text.replace("<class '", "").replace("'>", "").replace(" | ", " \\| ")


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def toml_value(value: Any) -> str:
    """`value` as TOML writes it (None, which TOML lacks: `(unset)`)."""
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{}" if not value else json.dumps(dict(value))
    return str(value)


def fields(s: Section) -> list[dataclasses.Field[Any]]:
    """The settable fields (a service's `name` is its section's name, not a setting)."""
    return [f for f in dataclasses.fields(s.cls) if not (s.names and f.name == "name")]


def render() -> str:
    """docs/configuration.md."""
    out = [
        "# Configuration reference",
        "",
        "<!-- Generated from the settings dataclasses by strangler/config_reference.py;",
        "     edit the dataclasses, then run `strangler config reference > docs/configuration.md`. -->",  # noqa: E501
        "",
        "Every package reads one frozen settings object from `strangler.toml` (a `[section]`",
        "per package; `STRANGLER_CONFIG` names another file) and the environment",
        "(`STRANGLER_<SECTION>_<FIELD>`). Precedence, rising: the defaults below, the file,",
        "the environment, then command-line options. An unknown key or a value of the wrong",
        "type fails at start-up with a message naming it. Lists are TOML arrays in the file",
        "and comma-separated in the environment. `strangler config show [SECTION] [--json]`",
        "prints the values in effect where you run it.",
        "",
    ]
    for s in SECTIONS:
        title = ", ".join(f"`[{n}]`" for n in s.names) if s.names else f"`[{s.name}]`"
        out += [f"## {title}", "", f"Read by {s.used_by}", ""]
        out += ["| key | type | default | environment | what it is |", "|---|---|---|---|---|"]
        hints = typing.get_type_hints(s.cls)
        notes = comments(s.cls)
        for f in fields(s):
            env = f"`{s.env_prefix}{f.name.upper()}`".replace("_NAME_", "_<NAME>_")
            text = notes.get(f.name, "").replace("|", "\\|")
            out.append(
                f"| `{f.name}` | {_type_name(hints[f.name])} | `{toml_value(_default(f))}` "
                f"| {env} | {text} |"
            )
        out.append("")
    return "\n".join(out)


def effective(name: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The values of section `name` in effect here, loaded as the command that reads it
    loads them (a service's own port, ShopCo's DATABASE_URL, the default database paths),
    without creating anything."""
    s = section(name)
    environ = os.environ if environ is None else environ
    try:
        if s.names:
            from extracted._service.config import load_config as load_service

            loaded: Any = load_service(name, environ=environ, make_dirs=False)
        elif s.name == "monolith":
            from monolith.config import load_config as load_monolith

            loaded = load_monolith(environ=environ, make_dirs=False)
        else:
            loaded = settings.load(s.cls, section=name, env_prefix=s.env_prefix, environ=environ)
    except ValueError as exc:  # ConfigError included: name the section once
        text = str(exc)
        raise settings.ConfigError(text if text.startswith("[") else f"[{name}] {text}") from None
    values = dataclasses.asdict(loaded)
    if s.names:
        del values["name"]
    return values
