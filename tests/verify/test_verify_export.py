"""`strangler verify export`: mismatches and recordings become parity pytest files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.verify.conftest import run_verify, write_requests
from tests.verify.test_verify_shopco import PRODUCT_READS, rounded_rating


def run_pytest(test_file: Path, legacy: str, candidate: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file),
           "--legacy-url", legacy, "--candidate-url", candidate]  # fmt: skip
    return subprocess.run(cmd, cwd=test_file.parent, capture_output=True, text=True, timeout=120)


def test_a_mismatch_sample_becomes_a_failing_parity_test(shopco, tmp_path: Path) -> None:
    legacy, candidate = shopco(), shopco(rounded_rating)
    requests = write_requests(tmp_path / "r.jsonl", PRODUCT_READS)
    result = run_verify("--legacy", legacy, "--candidate", candidate, "--requests", requests,
                        "--json")  # fmt: skip
    (tmp_path / "report.json").write_text(result.stdout, encoding="utf-8")
    route = next(r for r in json.loads(result.stdout)["routes"] if r["mismatched"])["route"]
    test_file = tmp_path / "test_regression.py"

    out = run_verify("export", "--route", route, "--report", str(tmp_path / "report.json"),
                     "-o", str(test_file))  # fmt: skip
    assert out.exit_code == 0, out.output
    assert f"wrote 1 parity test case(s) for {route}" in out.output

    failing = run_pytest(test_file, legacy, candidate)
    assert failing.returncode == 1, failing.stdout
    assert "$.average_rating" in failing.stdout and "1 failed" in failing.stdout
    passing = run_pytest(test_file, legacy, legacy)
    assert passing.returncode == 0 and "1 passed" in passing.stdout, passing.stdout


def test_recorded_reads_under_a_route_template_are_exported_once_each(tmp_path: Path) -> None:
    lines = [*PRODUCT_READS[:3], PRODUCT_READS[0], {"method": "GET", "path": "/api/categories"},
             {"method": "DELETE", "path": "/api/products/1"}]  # fmt: skip
    requests = write_requests(tmp_path / "r.jsonl", lines)
    out = run_verify("export", "--route", "/api/products/{id}", "--requests", requests)
    assert out.exit_code == 0, out.output
    assert out.output.count("'method': 'GET'") == 3 and "DELETE" not in out.output
    assert "def test_the_candidate_answers_like_the_legacy_app(assert_parity, req):" in out.output
    compile(out.output, "exported.py", "exec")


def test_export_refuses_what_it_cannot_find_with_status_2(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text('{"routes": [{"route": "/a", "samples": []}]}')
    out = run_verify("export", "--route", "/b", "--report", str(tmp_path / "report.json"))
    assert out.exit_code == 2 and "the report has no route '/b' (routes: /a)" in out.output
    out = run_verify("export", "--route", "/a", "--report", str(tmp_path / "report.json"))
    assert out.exit_code == 2 and "route '/a' has no mismatch samples" in out.output
    requests = write_requests(tmp_path / "r.jsonl", [{"method": "GET", "path": "/x"}])
    out = run_verify("export", "--route", "/a/{id}", "--requests", requests)
    assert out.exit_code == 2 and "no recorded read request falls under '/a/{id}'" in out.output
