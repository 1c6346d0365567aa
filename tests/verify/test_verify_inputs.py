"""Where verify's requests come from: files (with line-numbered errors) and the router."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.router.conftest import TOKEN, Admin, Proxy
from tests.verify.conftest import route_of, run_verify, verify_json
from tests.verify.test_verify_shopco import rounded_rating


def _bad(tmp_path: Path, *args: str) -> str:
    result = run_verify(
        "--legacy", "http://127.0.0.1:9", "--candidate", "http://127.0.0.1:9", *args
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.output


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"method": "GET", "path": "/a"}', "", "{oops"], "r.jsonl line 3: not valid JSON"),
        (['{"method": "GET", "path": "a"}'], "r.jsonl line 1: 'path' must be a string starting"),
        (['{"method": "GET", "path": "/a", "hdrs": {}}'], "line 1: unknown key(s) hdrs"),
        (['["GET", "/a"]'], "line 1: expected a JSON object"),
        (['{"method": "GET", "path": "/a", "headers": 3}'], "line 1: 'headers' must be"),
    ],
)
def test_a_malformed_requests_file_is_refused_with_its_line_number(
    tmp_path: Path, lines: list[str], message: str
) -> None:
    (tmp_path / "r.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert message in _bad(tmp_path, "--requests", str(tmp_path / "r.jsonl"))


def test_bad_arguments_exit_with_status_2_and_one_line(tmp_path: Path) -> None:
    assert "give exactly one of --requests" in _bad(tmp_path)
    assert "cannot read" in _bad(tmp_path, "--requests", str(tmp_path / "missing.jsonl"))
    (tmp_path / "h.har").write_text('{"log": {"entries": [{"request": {}}]}}', encoding="utf-8")
    assert "h.har entry 1: request needs a method and a url" in _bad(
        tmp_path, "--har", str(tmp_path / "h.har")
    )
    (tmp_path / "c.jsonl").write_text('{"request": {"method": "GET"}}\n', encoding="utf-8")
    assert "c.jsonl line 1: not a router capture record" in _bad(
        tmp_path, "--capture", str(tmp_path / "c.jsonl")
    )
    (tmp_path / "rules.toml").write_text("[defaults]\nnope = 1\n", encoding="utf-8")
    (tmp_path / "r.jsonl").write_text('{"method": "GET", "path": "/"}\n', encoding="utf-8")
    out = _bad(
        tmp_path, "--requests", str(tmp_path / "r.jsonl"), "--rules", str(tmp_path / "rules.toml")
    )
    assert "nope" in out
    assert (
        "upstream name 'catalog' needs the router's admin API"
        in run_verify(
            "--legacy",
            "http://x",
            "--candidate",
            "catalog",
            "--requests",
            str(tmp_path / "r.jsonl"),
        ).output
    )


def test_a_har_export_is_replayed_with_its_headers_and_body(shopco, tmp_path: Path) -> None:
    legacy = shopco()
    har = {
        "log": {
            "version": "1.2",
            "entries": [
                {
                    "request": {
                        "method": "GET",
                        "url": "http://shop.example/api/products/7?x=1",
                        "headers": [
                            {"name": ":authority", "value": "shop.example"},
                            {"name": "Accept", "value": "application/json"},
                        ],
                    }
                },
                {
                    "request": {
                        "method": "POST",
                        "url": "http://shop.example/api/categories",
                        "headers": [],
                        "postData": {"mimeType": "application/json", "text": '{"name": "x"}'},
                    }
                },
            ],
        }
    }
    (tmp_path / "t.har").write_text(json.dumps(har), encoding="utf-8")
    code, report = verify_json(
        "--legacy", legacy, "--candidate", legacy, "--har", str(tmp_path / "t.har")
    )
    assert code == 0
    assert route_of(report, "/api/products/7")["compared"] == 1
    assert route_of(report, "/api/categories")["skipped"] == 1


def test_router_capture_and_stored_shadow_comparisons_are_replayed_by_route_template(
    shopco, start_router, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    legacy, candidate = shopco(), shopco()
    capture = tmp_path / "capture.jsonl"
    router = start_router(legacy, capture_file=str(capture))
    admin = Admin(router.admin_url)
    assert admin.call("PUT", "/upstreams/catalog", {"urls": [candidate]})[0] == 200
    route = {
        "path": "/api/products/{id}",
        "target": "catalog",
        "mode": "shadow",
        "methods": ["GET"],
    }
    assert admin.call("POST", "/routes", route)[0] == 201
    proxy = Proxy(router.proxy_url)
    for i in range(1, 6):
        assert proxy.send("GET", f"/api/products/{i}")[0] == 200
    assert proxy.send("GET", "/api/categories")[0] == 200
    proxy.close()
    monkeypatch.setenv("STRANGLER_ADMIN_URL", router.admin_url)
    monkeypatch.setenv("STRANGLER_ADMIN_TOKEN", TOKEN)

    code, report = verify_json(
        "--legacy", "monolith", "--candidate", "catalog", "--capture", str(capture)
    )
    assert code == 0
    assert report["candidate"] == candidate
    assert route_of(report, "/api/products/{id}")["compared"] == 5
    assert route_of(report, "/api/categories")["compared"] == 1

    deadline = time.monotonic() + 20
    while len(admin.call("GET", "/shadow/comparisons")[1]["comparisons"]) < 5:
        assert time.monotonic() < deadline, "the router stored no shadow comparisons"
        time.sleep(0.05)
    code, report = verify_json(
        "--legacy", "monolith", "--candidate", "catalog", "--from-shadow", "api-products-id-get"
    )
    assert code == 0
    assert [(r["route"], r["compared"]) for r in report["routes"]] == [("/api/products/{id}", 5)]

    changed = shopco(rounded_rating)  # an injected change is named by route template and field
    code, report = verify_json(
        "--legacy", "monolith", "--candidate", changed, "--capture", str(capture)
    )
    assert code == 1
    bad = [
        (r["route"], [f["path"] for f in r["fields"]]) for r in report["routes"] if r["mismatched"]
    ]
    assert bad == [("/api/products/{id}", ["$.average_rating"])]
