"""The promotion gate is enforced by the admin API: it refuses, then allows as numbers change."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from router.comparisons import Record
from strangler.cli import main
from tests.router.conftest import TOKEN, Admin

ROUTE = "api-products-id"


def record(match: bool = True, error: str = "", shadow_status: int | None = 200) -> Record:
    return Record(ROUTE, "GET", "/api/products/1", "rid", 200, shadow_status, "a", "b", match,
                  error, ())  # fmt: skip


@pytest.fixture
def shadowed(upstream, start_router):
    router = start_router(upstream("monolith").url)
    admin = Admin(router.admin_url)
    admin.call("PUT", "/upstreams/catalog", {"urls": [upstream("catalog").url]})
    body = {"path": "/api/products/{id}", "target": "catalog", "mode": "shadow"}
    assert admin.call("POST", "/routes", body)[0] == 201

    def add(n: int, **kind: object) -> None:
        for _ in range(n):
            router.comparisons.add(record(**kind))  # type: ignore[arg-type]
        router.comparisons.flush()

    return admin, add


def promote(admin: Admin, **body: object) -> tuple[int, dict]:
    return admin.call("POST", f"/routes/{ROUTE}/promote", body or None)


def test_the_gate_refuses_then_allows_as_the_numbers_change(shadowed) -> None:
    admin, add = shadowed
    status, body = promote(admin)
    assert status == 409 and body["error"]["code"] == "promotion_refused", body
    assert "shadow comparisons 0 (minimum 200)" in body["error"]["message"]

    add(198)
    add(2, match=False)
    status, body = promote(admin)
    assert status == 409
    assert "shadow mismatch rate 1.00 % (2 of 200; threshold 0.10 %)" in body["error"]["message"]
    assert "shadow comparisons" not in body["error"]["message"]

    add(1800)
    status, body = promote(admin)
    assert status == 200 and body["route"]["mode"] == "canary"
    assert admin.call("GET", "/versions?limit=1")[1]["versions"][0]["change"]["gate"] == "passed"

    add(100, error="timeout", shadow_status=None)
    status, body = promote(admin)
    assert status == 409
    assert (
        "candidate error rate 4.76 % vs monolith 0.00 % (margin 1.00 %)" in body["error"]["message"]
    )


def test_a_forced_promotion_needs_a_reason_and_is_recorded_in_the_history(shadowed) -> None:
    admin, add = shadowed
    add(10)
    status, body = promote(admin, force=True)
    assert status == 400 and "needs a reason" in body["error"]["message"]
    status, body = promote(admin, force=True, reason="launch day, numbers checked by hand")
    assert status == 200 and body["route"]["mode"] == "canary"
    latest = admin.call("GET", "/versions?limit=1")[1]["versions"][0]
    assert latest["reason"] == "launch day, numbers checked by hand"
    assert latest["change"]["forced"] is True
    assert latest["change"]["gate"] == {"overridden": ["shadow comparisons 10 (minimum 200)"]}


def test_the_cli_shows_the_refusal_and_the_gate_s_numbers(shadowed, monkeypatch) -> None:
    admin, add = shadowed
    add(5)
    monkeypatch.setenv("STRANGLER_ADMIN_URL", admin.url)
    monkeypatch.setenv("STRANGLER_ADMIN_TOKEN", TOKEN)
    runner = CliRunner()
    result = runner.invoke(main, ["routes", "promote", ROUTE])
    assert result.exit_code == 1
    assert "shadow comparisons 5 (minimum 200)" in result.output
    result = runner.invoke(main, ["routes", "gate", ROUTE])
    assert "FAIL shadow comparisons 5 (minimum 200)" in result.output
    assert f"route {ROUTE} → canary: refused" in result.output
    result = runner.invoke(main, ["routes", "promote", ROUTE, "--force"])
    assert result.exit_code == 2 and "--force needs --reason" in result.output
    result = runner.invoke(main, ["routes", "promote", ROUTE, "--force", "--reason", "drill"])
    assert result.exit_code == 0 and "is now canary" in result.output
    assert "(forced)" in runner.invoke(main, ["routes", "history"]).output


def test_with_guard_set_a_patch_into_service_is_gated_too(
    upstream, start_router, monkeypatch
) -> None:
    monkeypatch.setenv("STRANGLER_GATE_GUARD_SET", "true")
    router = start_router(upstream("monolith").url)
    admin = Admin(router.admin_url)
    admin.call("PUT", "/upstreams/catalog", {"urls": [upstream("catalog").url]})
    body = {"id": "p", "path": "/api/**", "target": "catalog", "mode": "service"}
    status, answer = admin.call("POST", "/routes", body)
    assert status == 409 and "shadow comparisons 0" in answer["error"]["message"]
    assert admin.call("POST", "/routes", {**body, "mode": "shadow"})[0] == 201
    status, answer = admin.call("PATCH", "/routes/p", {"mode": "service"})
    assert status == 409 and answer["error"]["code"] == "promotion_refused"
    assert admin.call("PATCH", "/routes/p", {"mode": "monolith"})[0] == 200
