"""The context-specific files besides models: endpoint stubs, contract tests, CDC mapping,
shadow routes (pure: values in, text out)."""

from __future__ import annotations

import keyword

from scaffold.endpoints import Endpoint
from scaffold.render_models import bare, docstring, py
from scaffold.report import ContextSpec
from scaffold.schema import TableSpec

_PY_TYPES = {"int": "int", "float": "float", "uuid": "uuid.UUID", "path": "str", "string": "str"}
SAFE = ("GET", "HEAD", "OPTIONS")


def _tables(names: tuple[str, ...]) -> str:
    return ", ".join(names) if names else "nothing"


def _call(head: str, args: list[str], indent: str, tail: str = ",") -> list[str]:
    """`head(args)` on one line when it fits in 100 columns, else one argument a line."""
    line = f"{indent}{head}({', '.join(args)}){tail}"
    if len(line) <= 100:
        return [line]
    return [f"{indent}{head}(", *(f"{indent}    {a}," for a in args), f"{indent}){tail}"]


def render_api(service: str, context: ContextSpec, endpoints: tuple[Endpoint, ...]) -> str:
    """api.py: the blueprint, ENDPOINTS and one 501 stub per endpoint, named after it."""
    uses_uuid = any(p.converter == "uuid" for e in endpoints for p in e.params)
    out = [
        *docstring(
            f"HTTP endpoints of the {service} service: one stub per endpoint of the "
            f"{context.name} context.",
            "Each stub answers 501 until you write it (the monolith keeps serving the endpoint",
            "meanwhile). When you write one, delete its NOT_WRITTEN mark in",
            "tests/test_contract.py.",
        ),
        "",
        "from __future__ import annotations",
        "",
        *(["import uuid", ""] if uses_uuid else []),
        "from flask import Blueprint",
        *(["from flask.typing import ResponseReturnValue", "", "from .errors import not_written"]
          if endpoints else []),
        "",
        f"api = Blueprint({py(service)}, __name__)",
        "",
        "# (method, Flask rule, a sample path for tests, the endpoint as the report names it)",
        "ENDPOINTS: tuple[tuple[str, str, str, str], ...] = (",
        *[line for e in endpoints
          for line in _call("", [py(e.method), py(e.rule), py(e.sample), py(e.key)], "    ")],
        ")",
    ]  # fmt: skip
    for e in endpoints:
        reads, writes = context.use_of(e.key)
        args = ", ".join(f"{p.name}: {_PY_TYPES[p.converter]}" for p in e.params)
        if any(not p.name.isidentifier() or keyword.iskeyword(p.name) for p in e.params):
            args = "**params: str"  # a parameter named like a Python keyword
        out += [
            "",
            "",
            f"@api.route({py(e.rule)}, methods=[{py(e.method)}])",
            f"def {e.handler}({args}) -> ResponseReturnValue:",
            *docstring(f"{e.key}: in the monolith it reads {_tables(reads)}; "
                       f"writes {_tables(writes)}.", indent="    "),
            *_call("return not_written", [py(e.key), py(e.handler)], "    ", tail=""),
        ]  # fmt: skip
    return "\n".join(out) + "\n"


_CONTRACT_DOC = (
    "Every endpoint starts as a stub answering 501, so each test is an expected failure",
    "marked NOT_WRITTEN (xfail, strict). When you write an endpoint, delete its mark: the",
    "test must then pass, and a written endpoint still marked fails the run (strict XPASS).",
    "",
    "With the parity pytest plugin installed (it comes with strangler) and a monolith to",
    "compare with (`pytest --legacy-url http://127.0.0.1:5000`, or ini legacy_url), each",
    "read (GET, HEAD, OPTIONS) is compared with the monolith's answer: status, headers,",
    "JSON shape and values under the parity rules (--parity-rules). Fill the service's",
    "database from the monolith's by CDC first and point the variable below at it:",
)


def render_contract_tests(
    service: str, context: ContextSpec, endpoints: tuple[Endpoint, ...]
) -> str:
    """tests/test_contract.py: one expected failure per endpoint until it is written."""
    params = [
        line for e in endpoints for line in _call(
            "pytest.param", [py(e.method), py(e.sample), f"id={py(e.key)}", "marks=NOT_WRITTEN"],
            "    ")
    ]  # fmt: skip
    head = [
        *docstring(
            f"Contract tests of the {service} service: one per endpoint of the {context.name} "
            "context.",
            *_CONTRACT_DOC,
            f"{service.upper()}_TEST_DATABASE_URL. Writes are never sent to a live monolith from",
            "here; they, and every request without a monolith, get the checks that hold on",
            "their own: the route answers JSON, never 501, 405 or a 5xx.",
        ),
        "",
    ]
    if not endpoints:
        return "\n".join([
            *head,
            "from ..api import ENDPOINTS",
            "",
            "",
            "def test_the_report_gives_the_context_no_http_endpoint() -> None:",
            '    """The report lists no HTTP endpoint for this context: add stubs to api.py',
            '    and contract tests here when the service gets endpoints."""',
            "    assert ENDPOINTS == ()",
            "",
        ])  # fmt: skip
    return "\n".join([
        *head,
        "from __future__ import annotations",
        "",
        "import pytest",
        "",
        "NOT_WRITTEN = [",
        "    pytest.mark.not_written,",
        '    pytest.mark.xfail(strict=True, reason="not written yet: the stub answers 501"),',
        "]",
        'BODIES = {"POST": {}, "PUT": {}, "PATCH": {}}',
        f"SAFE = ({', '.join(map(py, SAFE))})",
        "",
        "ENDPOINTS = [",
        *params,
        "]",
        "",
        "",
        '@pytest.mark.parametrize(("method", "path"), ENDPOINTS)',
        "def test_endpoint_keeps_the_monoliths_contract(request, client, method, path) -> None:",
        "    body = BODIES.get(method)",
        "    if method in SAFE and _monolith_given(request.config):",
        '        request.getfixturevalue("assert_parity")(method, path, json=body)',
        "        return",
        "    response = client.open(path, method=method, json=body)",
        '    assert response.status_code != 501, f"{method} {path} is still a stub"',
        '    assert response.status_code != 405, f"{method} is not allowed on {path}"',
        "    assert response.status_code < 500, response.get_data(as_text=True)[:300]",
        '    if response.status_code != 204 and method != "HEAD":',
        "        assert response.is_json, (",
        '            f"{method} {path} answered {response.mimetype}, not JSON"',
        "        )",
        "",
        "",
        "def _monolith_given(config: pytest.Config) -> bool:",
        '    if not config.pluginmanager.hasplugin("parity"):',
        "        return False",
        "    return bool(",
        '        config.getoption("legacy_url") or config.getini("legacy_url")',
        '        or config.getini("legacy_app")',
        "    )",
        "",
    ])  # fmt: skip


def render_cdc_mapping(service: str, context: ContextSpec, tables: tuple[TableSpec, ...]) -> str:
    """cdc_mapping.toml in the format of cdc/mapping.py: each legacy table to its copy."""
    names = ",".join(bare(t.name) for t in tables)
    out = [
        f"# CDC mapping: the monolith's {context.name} tables -> the {service} service's tables",
        "# (format: docs/cdc.md, 'Mapping file'). Sync them with:",
        f"#   strangler cdc setup --source MONOLITH_DB_URL --tables {names}",
        "#   strangler cdc run --source MONOLITH_DB_URL --sink SERVICE_DB_URL \\",
        "#       --mapping cdc_mapping.toml",
        "# The service's tables start as copies of the legacy ones. Where its model comes to",
        "# differ, say so in the table's section:",
        '#   rename = { legacy_name = "new_name" }    drop = ["legacy_only_column"]',
        '#   [tables.NAME.add]  computed = { expr = "round(price * 100)", type = "integer" }',
    ]
    for table in tables:
        out += ["", f"[tables.{bare(table.name)}]", f'target = "{bare(table.name)}"']
        if not table.primary_key:
            out.append("# no primary key: CDC keys events by it, so add one before syncing")
    return "\n".join(out) + "\n"


def route_id(service: str, endpoint: Endpoint) -> str:
    return f"{service}.{endpoint.handler}"[:63]


def render_routes(service: str, port: int, endpoints: tuple[Endpoint, ...]) -> str:
    """routes.sh: register the service and put each endpoint's route in shadow mode."""
    out = [
        "#!/bin/sh",
        f"# Shadow routes for the {service} service: the monolith keeps answering while the",
        "# router mirrors each read to the service and compares the answers.",
        "# Needs a running `strangler router serve` (STRANGLER_ADMIN_URL, STRANGLER_ADMIN_TOKEN)",
        "# and the service running and healthy at SERVICE_URL (shadow is an active mode).",
        "# When a route's comparisons are clean: strangler routes promote ROUTE_ID",
        "set -eu",
        f'SERVICE_URL="${{SERVICE_URL:-http://127.0.0.1:{port}}}"',
        'STRANGLER="${STRANGLER:-strangler}"',
        "",
        f'"$STRANGLER" upstreams add {service} "$SERVICE_URL" --reason "scaffold: {service}"',
    ]
    for e in endpoints:
        out.append(
            f'"$STRANGLER" routes add --id {route_id(service, e)} --path {_quote(e.template)} '
            f"--methods {e.method} --target {service} --mode shadow "
            f"--reason {_quote(f'scaffold: {e.key}')}"
        )
    return "\n".join(out) + "\n"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"
