"""The pytest plugin, run the way a user's project runs it (pytester, two tiny Flask apps).

Self-contained (no imports from this repository's tests), so it also runs against an
installed strangler outside the repository.
"""

from __future__ import annotations

import json
import textwrap
import threading
from collections.abc import Iterator

import pytest

pytest_plugins = ["pytester"]

APPS = """
import itertools
import time

from flask import Flask, jsonify, request

_tokens = itertools.count(1)


def create_app(change=None):
    app = Flask(__name__)
    orders = []

    @app.get("/api/products/<int:pid>")
    def product(pid):
        price = 9.99 * pid
        price = round(price, 1) if change == "rounding" else round(price, 2)
        body = {"id": pid, "name": f"Lamp {pid}", "price": price}
        if change == "missing":
            del body["name"]
        return jsonify(body)

    @app.post("/api/orders")
    def order():
        orders.append(request.get_json())
        return jsonify({"id": len(orders)}), 200 if change == "status" else 201

    @app.get("/page")
    def page():
        token = next(_tokens)
        title = "Welcome!" if change == "html" else "Welcome"
        return (
            f"<!doctype html><html><body><h1>{title}</h1>"
            f"<form><input name='csrf_token' value='tok{token}'></form>"
            f"<p class='stamp'>{time.time_ns()}</p></body></html>"
        )

    return app


def legacy():
    return create_app()


def rounding():
    return create_app("rounding")


def missing():
    return create_app("missing")


def status():
    return create_app("status")


def html():
    return create_app("html")
"""

TESTS = """
def test_a_product(assert_parity):
    assert_parity("GET", "/api/products/3")


def test_an_order(assert_parity):
    assert_parity("POST", "/api/orders", json={"sku": "x"})


def test_a_page(assert_parity):
    assert_parity("GET", "/page")
"""


def project(pytester: pytest.Pytester, candidate: str, extra_ini: str = "") -> None:
    pytester.makepyfile(apps=APPS, test_parity=TESTS)
    pytester.makeini(
        f"[pytest]\nlegacy_app = apps:legacy\ncandidate_app = apps:{candidate}\n{extra_ini}"
    )
    pytester.syspathinsert()


def test_a_candidate_that_behaves_like_the_legacy_app_passes(pytester: pytest.Pytester) -> None:
    project(pytester, "legacy")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_a_changed_rounding_fails_naming_the_field_and_the_rule(pytester: pytest.Pytester) -> None:
    project(pytester, "rounding")
    result = pytester.runpytest("-k", "product")
    result.assert_outcomes(failed=1, deselected=2)
    result.stdout.fnmatch_lines(
        [
            "*GET /api/products/3: the candidate differs from the legacy app*",
            "*$.price: legacy 29.97 != candidate 30.0    [[]silence: "
            'tolerances."$.price" = 0.03[]]',
        ]
    )


def test_a_missing_field_fails_naming_the_field(pytester: pytest.Pytester) -> None:
    project(pytester, "missing")
    result = pytester.runpytest("-k", "product")
    result.stdout.fnmatch_lines(['*$.name: missing in candidate (legacy "Lamp 3")*'])
    result.assert_outcomes(failed=1, deselected=2)


def test_a_wrong_status_on_a_write_fails(pytester: pytest.Pytester) -> None:
    project(pytester, "status")
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*POST /api/orders*", "*$status: legacy 201 != candidate 200*"])


def test_csrf_tokens_and_timestamps_in_html_are_learned_as_noise_and_real_changes_caught(
    pytester: pytest.Pytester,
) -> None:
    project(pytester, "legacy")
    pytester.runpytest("-k", "page").assert_outcomes(passed=1, deselected=2)
    project(pytester, "html")
    result = pytester.runpytest("-k", "page")
    result.assert_outcomes(failed=1, deselected=2)
    result.stdout.fnmatch_lines(
        ['*html>body>h1:nth-of-type(1): legacy "Welcome" != candidate "Welcome!"*']
    )
    result.stdout.no_fnmatch_line("*csrf_token*@value: legacy*")


def test_the_rules_file_silences_a_known_difference(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", rules='[routes."GET /api/products/{id}"]\ntolerance = 0.05\n')
    project(pytester, "rounding")
    assert pytester.runpytest("--parity-rules", "rules.toml").ret == 0
    project(pytester, "rounding", "parity_rules = rules.toml")
    pytester.runpytest().assert_outcomes(passed=3)


def test_a_bad_rules_file_is_a_one_line_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", rules="[defaults]\nignor = ['x']\n")
    project(pytester, "legacy")
    result = pytester.runpytest("--parity-rules", "rules.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*rules.toml [[]defaults[]]: unknown key 'ignor'*"])


def test_a_marker_runs_a_test_once_per_recorded_request(pytester: pytest.Pytester) -> None:
    lines = [
        {"method": "GET", "path": "/api/products/1"},
        {"method": "GET", "path": "/api/products/2", "headers": {"Accept": "application/json"}},
        {"method": "POST", "path": "/api/orders", "body": {"sku": "y"}},
    ]
    pytester.makefile(".jsonl", traffic="\n".join(json.dumps(x) for x in lines))
    project(pytester, "status")
    pytester.makepyfile(
        test_traffic=textwrap.dedent(
            """
            import pytest

            @pytest.mark.parity_traffic("traffic.jsonl")
            def test_recorded(parity_request, assert_parity):
                assert_parity(**parity_request)
            """
        )
    )
    result = pytester.runpytest("test_traffic.py", "-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*test_recorded?3:POST /api/orders? FAILED*"])


def test_a_malformed_traffic_file_names_the_line(pytester: pytest.Pytester) -> None:
    pytester.makefile(".jsonl", traffic='{"method": "GET", "path": "/a"}\n{"path": 1}\n')
    project(pytester, "legacy")
    pytester.makepyfile(
        test_traffic="import pytest\n\n"
        "@pytest.mark.parity_traffic('traffic.jsonl')\n"
        "def test_recorded(parity_request, assert_parity):\n    assert_parity(**parity_request)\n"
    )
    result = pytester.runpytest("test_traffic.py")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*traffic.jsonl line 2*"])


def test_the_app_fixtures_can_be_overridden_in_a_conftest(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(apps=APPS, test_parity=TESTS)
    pytester.makeconftest(
        "import apps, pytest\n\n"
        "@pytest.fixture\ndef legacy_app():\n    return apps.create_app()\n\n"
        "@pytest.fixture\ndef candidate_app():\n    return apps.create_app('missing')\n"
    )
    pytester.syspathinsert()
    pytester.runpytest().assert_outcomes(passed=2, failed=1)


def test_without_a_legacy_side_the_error_says_how_to_give_one(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_parity=TESTS)
    result = pytester.runpytest("-k", "product")
    result.stdout.fnmatch_lines(["*no legacy to compare: give --legacy-url, ini legacy_url*"])


@pytest.fixture
def servers() -> Iterator[tuple[str, str]]:
    """The legacy app and the rounding candidate, served over HTTP on loopback."""
    import importlib.util
    import sys
    import tempfile
    from pathlib import Path

    from werkzeug.serving import make_server

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "served_apps.py").write_text(APPS)
        spec = importlib.util.spec_from_file_location("served_apps", Path(tmp) / "served_apps.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        started = [make_server("127.0.0.1", 0, app) for app in (module.legacy(), module.rounding())]
        threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in started]
        for t in threads:
            t.start()
        try:
            yield tuple(f"http://127.0.0.1:{s.server_port}" for s in started)  # type: ignore[misc]
        finally:
            for s in started:
                s.shutdown()
                s.server_close()
            sys.modules.pop("served_apps", None)


def test_both_sides_can_be_running_servers_given_by_url(
    pytester: pytest.Pytester, servers: tuple[str, str]
) -> None:
    legacy, candidate = servers
    pytester.makepyfile(test_parity=TESTS)
    # (not the order: both sides would be the one server, whose order ids go on counting)
    result = pytester.runpytest(
        "--legacy-url", legacy, "--candidate-url", legacy, "-k", "not order"
    )
    result.assert_outcomes(passed=2, deselected=1)
    result = pytester.runpytest(
        "--legacy-url", legacy, "--candidate-url", candidate, "-k", "product"
    )
    result.assert_outcomes(failed=1, deselected=2)
    result.stdout.fnmatch_lines(["*$.price: legacy 29.97 != candidate 30.0*"])
