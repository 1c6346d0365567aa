"""`strangler routes|upstreams|router` against a running router, as a user types them."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys

import pytest
from click.testing import CliRunner

from strangler.cli import main
from tests.router.conftest import TOKEN, Proxy
from tests.services._common import free_port, wait_port


@pytest.fixture
def cli(upstream, start_router, monkeypatch):
    monkeypatch.setenv("STRANGLER_GATE_MIN_COMPARISONS", "0")  # the gate: tests/router/test_gate*
    mono = upstream("monolith")
    router = start_router(mono.url)
    monkeypatch.setenv("STRANGLER_ADMIN_URL", router.admin_url)
    monkeypatch.setenv("STRANGLER_ADMIN_TOKEN", TOKEN)
    runner = CliRunner()

    def run(*args: str, ok: bool = True):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    run.router = router  # type: ignore[attr-defined]
    return run


def test_register_route_and_walk_it_through_every_mode(cli, upstream) -> None:
    catalog = upstream("catalog")
    assert "upstream catalog" in cli("upstreams", "add", "catalog", catalog.url).output
    out = cli("routes", "add", "--path", "/api/products/{id}", "--methods", "get",
              "--target", "catalog", "--reason", "extract catalog").output  # fmt: skip
    assert "added route api-products-id-get" in out
    assert "is now shadow" in cli("routes", "shadow", "/api/products/{id}").output
    assert (
        "is now canary 25%"
        in cli("routes", "canary", "api-products-id-get", "--percent", "25").output
    )
    assert "is now service" in cli("routes", "promote", "api-products-id-get").output
    proxy = Proxy(cli.router.proxy_url)
    assert proxy.send("GET", "/api/products/3")[2]["served_by"] == "catalog"
    assert "is now canary" in cli("routes", "demote", "api-products-id-get").output
    out = cli("routes", "set", "api-products-id-get", "--mode", "monolith").output
    assert "is now monolith" in out
    assert proxy.send("GET", "/api/products/3")[2]["served_by"] == "monolith"
    listing = cli("routes", "list").output
    assert re.search(
        r"api-products-id-get\s+GET\s+/api/products/\{id\}\s+catalog\s+monolith", listing
    )
    assert "default" in listing
    data = json.loads(cli("routes", "list", "--json").output)
    assert data["routes"][0]["mode"] == "monolith"
    history = cli("routes", "history").output
    assert "extract catalog" in history and "promote" in history
    hist = json.loads(cli("routes", "history", "--json").output)["versions"]
    assert hist[0]["change"]["op"] == "set"
    assert "mode: 'canary' → 'monolith'" in cli("routes", "diff").output
    first = hist[-1]["version"]
    assert f"restored version {first}" in cli("routes", "rollback", str(first)).output
    assert json.loads(cli("routes", "list", "--json").output)["routes"] == []
    upstreams = json.loads(cli("upstreams", "list", "--json").output)["upstreams"]
    assert [u["name"] for u in upstreams] == ["monolith"]


def test_rm_and_upstream_rm(cli, upstream) -> None:
    cli("upstreams", "add", "svc", upstream("svc").url)
    cli("routes", "add", "--path", "/x/**", "--target", "svc", "--id", "x")
    result = cli("upstreams", "rm", "svc", ok=False)
    assert result.exit_code == 1 and "target of route(s) x" in result.output
    assert "removed route x" in cli("routes", "rm", "/x/**").output
    assert "removed upstream svc" in cli("upstreams", "rm", "svc").output
    assert "svc" not in cli("upstreams", "list").output


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["routes", "add", "--path", "/a/**", "--target", "ghost"], "unknown upstream 'ghost'"),
        (
            ["routes", "add", "--path", "/a/**", "--target", "monolith", "--percent", "120"],
            "outside 0-100",
        ),
        (["routes", "add", "--path", "a/{x", "--target", "monolith"], "must start with '/'"),
        (["routes", "set", "nope", "--mode", "service"], "no route 'nope'"),
        (["routes", "set", "nope"], "nothing to change"),
        (["routes", "rollback", "999"], "version 999 does not exist"),
        (["routes", "promote", "/no/such"], "no route with path template"),
    ],
)
def test_user_mistakes_give_one_clear_line(cli, args, needle) -> None:
    result = cli(*args, ok=False)
    assert result.exit_code != 0
    assert needle in result.output and "Traceback" not in result.output


def test_wrong_token_and_unreachable_admin_are_explained(cli, monkeypatch) -> None:
    result = cli("routes", "list", "--token", "bad", ok=False)
    assert result.exit_code == 1 and "wrong bearer token (401 unauthorized)" in result.output
    result = cli("routes", "list", "--admin-url", f"http://127.0.0.1:{free_port()}", ok=False)
    assert result.exit_code == 1 and "cannot reach the admin API" in result.output


def test_export_nginx_and_envoy(cli, upstream, tmp_path) -> None:
    cli("upstreams", "add", "catalog", upstream("catalog").url)
    cli(
        "routes",
        "add",
        "--path",
        "/api/**",
        "--target",
        "catalog",
        "--mode",
        "canary",
        "--percent",
        "10",
    )
    out = cli("routes", "export", "--format", "nginx").output
    assert "split_clients" in out and "backup;" in out
    target = tmp_path / "envoy.json"
    cli("routes", "export", "--format", "envoy", "-o", str(target))
    doc = json.loads(target.read_text())
    assert doc["static_resources"]["listeners"][0]["name"] == "strangler"
    store_out = cli(
        "routes", "export", "--format", "nginx", "--store", cli.router.config.store
    ).output
    assert store_out == out


def test_router_serve_generates_an_owner_only_token_and_serves(upstream, tmp_path) -> None:
    mono = upstream("monolith")
    listen, admin = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRANGLER_")}
    env["STRANGLER_ROUTER_TOKEN_FILE"] = str(tmp_path / "token")
    env["STRANGLER_ROUTER_ACCESS_LOG"] = ""
    cmd = [sys.executable, "-c", "from strangler.cli import main; main()", "router", "serve",
           "--listen", f"127.0.0.1:{listen}", "--admin", f"127.0.0.1:{admin}",
           "--monolith", mono.url, "--store", str(tmp_path / "routes.db")]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_port(listen, 30)
        status, _, body = Proxy(f"http://127.0.0.1:{listen}").send("GET", "/hello")
        assert status == 200 and body["served_by"] == "monolith"
        token_file = tmp_path / "token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        env["STRANGLER_ADMIN_URL"] = f"http://127.0.0.1:{admin}"
        env["STRANGLER_ADMIN_TOKEN"] = token_file.read_text().strip()
        listed = subprocess.run([*cmd[:3], "upstreams", "list", "--json"], env=env,
                                capture_output=True, text=True, timeout=60)  # fmt: skip
        assert json.loads(listed.stdout)["upstreams"][0]["urls"] == [mono.url]
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert str(tmp_path / "token") in out


def test_router_serve_with_a_bad_listen_address_fails_in_one_line(tmp_path) -> None:
    result = CliRunner().invoke(main, ["router", "serve", "--listen", "nowhere",
                                       "--monolith", "http://127.0.0.1:9"])  # fmt: skip
    assert result.exit_code == 1 and "listen must be HOST:PORT" in result.output


def test_cli_reads_admin_address_and_token_file_from_strangler_toml(
    upstream, start_router, tmp_path, monkeypatch
) -> None:
    router = start_router(upstream("monolith").url)
    host_port = router.admin_url.removeprefix("http://")
    (tmp_path / "token").write_text(TOKEN + "\n")
    (tmp_path / "strangler.toml").write_text(
        f'[router]\nadmin = "{host_port}"\ntoken_file = "{tmp_path / "token"}"\n'
    )
    for name in ("STRANGLER_ADMIN_URL", "STRANGLER_ADMIN_TOKEN", "STRANGLER_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["upstreams", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["upstreams"][0]["name"] == "monolith"
