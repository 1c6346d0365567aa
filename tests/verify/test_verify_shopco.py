"""`strangler verify` between two real ShopCo apps: the same code, and an injected change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.verify.conftest import route_of, verify_json, write_requests

PRODUCT_READS = [{"method": "GET", "path": f"/api/products/{i}"} for i in range(1, 31)]
LIST_READS = [{"method": "GET", "path": f"/api/products?page={p}"} for p in range(1, 4)]


def rounded_rating(method: str, path: str, status: int, body: Any) -> tuple[int, Any]:
    if method == "GET" and path.startswith("/api/products/") and body.get("average_rating"):
        body["average_rating"] = round(body["average_rating"], 1)
    return status, body


def no_currency_in_lists(method: str, path: str, status: int, body: Any) -> tuple[int, Any]:
    if method == "GET" and path == "/api/products":
        for item in body["items"]:
            item.pop("currency", None)
    return status, body


def test_the_same_code_on_the_same_data_shows_no_mismatch(shopco, tmp_path: Path) -> None:
    legacy, candidate = shopco(), shopco()
    requests = write_requests(tmp_path / "r.jsonl", PRODUCT_READS + LIST_READS)
    code, report = verify_json("--legacy", legacy, "--candidate", candidate, "--requests", requests)
    assert code == 0
    assert report["totals"]["compared"] == 33
    assert report["totals"]["mismatched"] == 0 and report["totals"]["errors"] == 0


def test_a_changed_rounding_is_caught_on_its_route_and_field(shopco, tmp_path: Path) -> None:
    legacy, candidate = shopco(), shopco(rounded_rating)
    requests = write_requests(tmp_path / "r.jsonl", PRODUCT_READS)
    code, report = verify_json("--legacy", legacy, "--candidate", candidate, "--requests", requests)
    assert code == 1
    bad = [r for r in report["routes"] if r["mismatched"]]
    assert bad, report
    for route in bad:
        assert [f["path"] for f in route["fields"] if not f["explained"]] == ["$.average_rating"]
    sample = bad[0]["samples"][0]
    assert sample["differences"][0]["path"] == "$.average_rating"
    assert sample["curl"]["candidate"].startswith(f"curl -sS -X GET {candidate}/api/products/")


def test_a_missing_field_is_caught_in_every_list_item(shopco, tmp_path: Path) -> None:
    legacy, candidate = shopco(), shopco(no_currency_in_lists)
    requests = write_requests(tmp_path / "r.jsonl", LIST_READS)
    code, report = verify_json("--legacy", legacy, "--candidate", candidate, "--requests", requests)
    assert code == 1
    route = route_of(report, "/api/products")
    assert route["compared"] == 3 and route["mismatched"] == 3
    assert [f["path"] for f in route["fields"]] == ["$.items[*].currency"]
    assert route["fields"][0]["rate"] == 1.0
