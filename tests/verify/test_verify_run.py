"""How a verify run behaves: noise, writes, unreachable sides, timeouts, exit codes, HTML."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from tests.services._common import free_port
from tests.verify.conftest import route_of, run_verify, verify_json, write_requests

READS = [{"method": "GET", "path": f"/api/products/{i}"} for i in (1, 2, 3)] * 4


def with_request_id(method: str, path: str, status: int, body: Any) -> tuple[int, Any]:
    body["request_id"] = str(uuid.uuid4())  # differs on every answer, legacy or not
    return status, body


def request_id_and_price(method: str, path: str, status: int, body: Any) -> tuple[int, Any]:
    status, body = with_request_id(method, path, status, body)
    if path == "/api/products/2":
        body["price_cents"] += 1
    return status, body


def test_a_field_that_differs_between_two_legacy_answers_is_noise(shopco, tmp_path: Path) -> None:
    legacy, candidate = shopco(with_request_id), shopco(with_request_id)
    requests = write_requests(tmp_path / "r.jsonl", READS)
    code, report = verify_json("--legacy", legacy, "--candidate", candidate, "--requests", requests)
    assert code == 0
    route = route_of(report, "/api/products/1")
    assert route["compared"] == 4 and route["mismatched"] == 0
    (field,) = route["fields"]
    assert (field["path"], field["mismatched"], field["explained"]) == ("$.request_id", 4, True)
    assert field["noise"] >= 1  # legacy pairs it differed in; once known, no third call


def test_noise_does_not_hide_a_real_change_on_the_same_route(shopco, tmp_path: Path) -> None:
    legacy, candidate = shopco(with_request_id), shopco(request_id_and_price)
    requests = write_requests(tmp_path / "r.jsonl", READS)
    code, report = verify_json("--legacy", legacy, "--candidate", candidate, "--requests", requests)
    assert code == 1
    route = route_of(report, "/api/products/2")
    assert route["mismatched"] == 4
    unexplained = [f["path"] for f in route["fields"] if not f["explained"]]
    assert unexplained == ["$.price_cents"]
    assert report["totals"]["mismatched"] == 4


def test_writes_are_skipped_and_reported_as_skipped(shopco, tmp_path: Path) -> None:
    legacy = shopco()
    write = {"method": "POST", "path": "/api/categories", "body": {"name": "new"}}
    requests = write_requests(tmp_path / "r.jsonl", [write, READS[0]])
    code, report = verify_json("--legacy", legacy, "--candidate", legacy, "--requests", requests)
    assert code == 0
    route = route_of(report, "/api/categories")
    assert (route["skipped"], route["compared"]) == (1, 0)
    assert "write request" in next(iter(route["skip_reasons"]))


def test_an_unreachable_candidate_is_an_error_per_request_and_the_run_goes_on(
    shopco, tmp_path: Path
) -> None:
    legacy, nowhere = shopco(), f"http://127.0.0.1:{free_port()}"
    requests = write_requests(tmp_path / "r.jsonl", READS)
    code, report = verify_json("--legacy", legacy, "--candidate", nowhere, "--requests", requests)
    assert code == 1
    assert report["totals"]["errors"] == len(READS) and report["totals"]["compared"] == 0
    sample = route_of(report, "/api/products/1")["samples"][0]
    assert sample["error"].startswith("candidate: connect: cannot connect to 127.0.0.1")
    assert sample["legacy"]["status"] == 200 and sample["candidate"] is None


def test_a_timeout_fails_only_the_slow_request(shopco, tmp_path: Path) -> None:
    def slow_product_3(method: str, path: str, status: int, body: Any) -> tuple[int, Any]:
        if path == "/api/products/3":
            time.sleep(1.5)
        return status, body

    legacy, candidate = shopco(), shopco(slow_product_3)
    requests = write_requests(tmp_path / "r.jsonl", READS[:3])
    code, report = verify_json(
        "--legacy", legacy, "--candidate", candidate, "--requests", requests, "--timeout", "0.5"
    )
    assert code == 1
    assert report["totals"] == {**report["totals"], "compared": 2, "errors": 1}
    error = route_of(report, "/api/products/3")["samples"][0]["error"]
    assert error.startswith("candidate: timeout")


def test_the_html_report_is_one_static_page_with_fields_and_curl_lines(
    shopco, tmp_path: Path
) -> None:
    legacy, candidate = shopco(with_request_id), shopco(request_id_and_price)
    requests = write_requests(tmp_path / "r.jsonl", READS)
    page = tmp_path / "report.html"
    result = run_verify(
        "--legacy", legacy, "--candidate", candidate, "--requests", requests, "--html", str(page)
    )
    assert result.exit_code == 1
    assert "unexplained mismatch" in result.output and "$.price_cents" in result.output
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html
    assert "/api/products/2" in html and "$.price_cents" in html
    assert f"curl -sS -X GET {candidate}/api/products/2" in html
    assert "<td><code>$.request_id</code></td>" in html and "class='noise'>noise<" in html
    assert "class='bad'>unexplained<" in html
