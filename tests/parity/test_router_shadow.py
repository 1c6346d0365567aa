"""The router's live shadow comparison runs on parity: rules file, per-field noise learning."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask, jsonify
from werkzeug.serving import make_server

from router.client import Reply
from router.comparisons import ComparisonStore
from router.config import RouterConfig
from router.metrics import Metrics
from router.shadow import NOISE_CHECKS, Job, Mirror
from tests.router.conftest import Admin, Proxy
from tests.router.test_data_plane import wait_for

RULES = """
[routes.products]
unordered = ["$.tags"]
"""


def shop(change: str = "") -> Flask:
    """A tiny shop: a generated timestamp per answer, and an HTML page with a CSRF token."""
    app = Flask(__name__)
    app.config["hits"] = 0

    @app.get("/api/products/<int:pid>")
    def product(pid: int) -> Any:
        app.config["hits"] += 1
        price = round(9.99 * pid, 1 if change == "rounding" else 2)
        tags = ["b", "a"] if change else ["a", "b"]
        return jsonify(id=pid, price=price, tags=tags, generated_at=time.time_ns())

    @app.get("/account")
    def account() -> str:
        title = "Your account" if change != "html" else "Your Account"
        return (
            f"<html><body><h1>{title}</h1><form><input name=csrf_token "
            f"value={secrets.token_hex(8)}></form></body></html>"
        )

    return app


@pytest.fixture
def serve() -> Iterator[Callable[[Flask], str]]:
    servers: list[Any] = []

    def start(app: Flask) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def shadow_to(router: Any, url: str) -> Admin:
    admin = Admin(router.admin_url)
    assert admin.call("PUT", "/upstreams/candidate", {"urls": [url]})[0] == 200
    for route in (
        {"id": "products", "path": "/api/products/{id}", "target": "candidate", "mode": "shadow"},
        {"id": "account", "path": "/account", "target": "candidate", "mode": "shadow"},
    ):
        status, reply = admin.call("POST", "/routes", route)
        assert status == 201, reply
    return admin


def stored(admin: Admin, route: str) -> list[dict[str, Any]]:
    return admin.call("GET", f"/shadow/comparisons?route={route}")[1]["comparisons"]


def test_noise_is_learned_live_and_a_changed_rounding_is_caught_on_its_field(
    serve, start_router, tmp_path
) -> None:
    (tmp_path / "rules.toml").write_text(RULES)
    router = start_router(serve(shop()), shadow_rules=str(tmp_path / "rules.toml"))
    admin = shadow_to(router, serve(shop("rounding")))
    proxy = Proxy(router.proxy_url)
    for pid in (1, 2, 3):
        assert proxy.send("GET", f"/api/products/{pid}")[0] == 200
    assert wait_for(lambda: len(stored(admin, "products")) == 3)
    for row in stored(admin, "products"):
        real = [d["path"] for d in row["differences"] if not d.get("noise")]
        noise = [d["path"] for d in row["differences"] if d.get("noise")]
        assert real == ["$.price"] and noise == ["$.generated_at"]  # tags: unordered by rule
        assert row["differences"][0]["rule"].startswith('tolerances."$.price"')
    summary = admin.call("GET", "/shadow/summary")[1]
    [products] = [r for r in summary["routes"] if r["route"] == "products"]
    assert products["total"] == 3 and products["matched"] == 0
    learned = summary["noise"]["products"]
    assert learned["pairs"] >= 1 and set(learned["fields"]) == {"$.generated_at"}


def test_a_faithful_candidate_matches_after_noise_removal_for_json_and_html(
    serve, start_router, tmp_path
) -> None:
    (tmp_path / "rules.toml").write_text(RULES)
    router = start_router(serve(shop()), shadow_rules=str(tmp_path / "rules.toml"))
    admin = shadow_to(router, serve(shop()))
    proxy = Proxy(router.proxy_url)
    for target in ("/api/products/1", "/api/products/2", "/account", "/account"):
        assert proxy.send("GET", target)[0] == 200
    assert wait_for(
        lambda: len(stored(admin, "products")) == 2 and len(stored(admin, "account")) == 2
    )
    rows = stored(admin, "products") + stored(admin, "account")
    assert all(r["match"] for r in rows), rows
    noise = {d["path"] for r in stored(admin, "account") for d in r["differences"]}
    assert noise == {"html>body>form:nth-of-type(1)>input[name=csrf_token]@value"}


def test_a_changed_html_heading_is_reported_by_css_path(serve, start_router) -> None:
    router = start_router(serve(shop()))
    admin = shadow_to(router, serve(shop("html")))
    assert Proxy(router.proxy_url).send("GET", "/account")[0] == 200
    assert wait_for(lambda: len(stored(admin, "account")) == 1)
    [row] = stored(admin, "account")
    real = [
        (d["path"], d["legacy"], d["candidate"]) for d in row["differences"] if not d.get("noise")
    ]
    assert real == [("html>body>h1:nth-of-type(1)", "Your account", "Your Account")]


def test_shadow_ignore_still_works_on_top_of_the_rules(serve, start_router) -> None:
    router = start_router(serve(shop()), shadow_ignore=("generated_at", "tags"))
    admin = shadow_to(router, serve(shop("rounding")))
    assert Proxy(router.proxy_url).send("GET", "/api/products/1")[0] == 200
    assert wait_for(lambda: len(stored(admin, "products")) == 1)
    assert [d["path"] for d in stored(admin, "products")[0]["differences"]] == ["$.price"]


def test_a_bad_rules_file_fails_at_start_up_naming_the_key(tmp_path) -> None:
    (tmp_path / "rules.toml").write_text("[defaults]\nignor = ['x']\n")
    with pytest.raises(ValueError, match=r"shadow_rules: .*unknown key 'ignor'"):
        RouterConfig(shadow_rules=str(tmp_path / "rules.toml"))


def test_the_monolith_is_asked_again_only_a_bounded_number_of_times(serve, tmp_path) -> None:
    legacy_app, candidate_app = shop(), shop("rounding")
    legacy, candidate = serve(legacy_app), serve(candidate_app)
    store = ComparisonStore(f"sqlite:///{tmp_path}/c.db")
    primary = Reply(200, [(b"content-type", b"application/json")], b'{"id": 1, "price": 9.99}')

    async def run() -> Mirror:
        mirror = Mirror(Metrics(), store, concurrency=1)
        for n in range(NOISE_CHECKS + 3):
            job = Job(candidate, "GET", "/api/products/1", [], b"", "p", primary, str(n), legacy)
            mirror.launch(job)
            await mirror.drain()
        mirror.close()
        return mirror

    try:
        mirror = asyncio.run(run())
        store.flush()
        rows = store.recent("p")
    finally:
        store.close()
    assert legacy_app.config["hits"] == NOISE_CHECKS  # re-checks stop once the fields are known
    assert mirror.noise.fields("p") == frozenset({"$.generated_at", "$.tags"})
    assert all(
        [d["path"] for d in r["differences"] if not d.get("noise")] == ["$.price"] for r in rows
    )
