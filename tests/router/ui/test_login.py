"""Logging in to the dashboard and the checks on every call it makes (no browser)."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from router.ui import session
from tests.router.conftest import TOKEN


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    text: str

    def getheader(self, name: str) -> Any:
        return self.headers.get(name)


def _call(router: Any, method: str, path: str, body: Any = None, **headers: str) -> Reply:
    host, port = router.admin_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request(method, path, body, {k.replace("_", "-"): v for k, v in headers.items()})
    response = conn.getresponse()
    reply = Reply(response.status, response.headers, response.read().decode())
    conn.close()
    return reply


def _login(router: Any, token: str = TOKEN, name: str = "alice") -> Any:
    form = urlencode({"token": token, "name": name})
    return _call(
        router, "POST", "/ui/login", form, Content_Type="application/x-www-form-urlencoded"
    )


def _cookie(response: Any) -> str:
    return response.getheader("Set-Cookie").split(";", 1)[0]


def test_logging_in_sets_an_httponly_samesite_strict_cookie(dashboard: Any) -> None:
    response = _login(dashboard)
    assert response.status == 302
    assert response.getheader("Location").endswith("/ui/routes")
    cookie = response.getheader("Set-Cookie")
    assert cookie.startswith(session.COOKIE + "=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert TOKEN not in cookie


def test_a_wrong_token_is_refused(dashboard: Any) -> None:
    response = _login(dashboard, token="wrong")
    assert response.status == 401
    assert response.getheader("Set-Cookie") is None
    assert "wrong admin token" in response.text


def test_pages_without_a_session_send_to_the_login_form(dashboard: Any) -> None:
    response = _call(dashboard, "GET", "/ui/routes")
    assert response.status == 302 and response.getheader("Location").endswith("/ui/login")
    assert _call(dashboard, "GET", "/ui/part/routes").status == 401


def test_a_forged_cookie_reaches_nothing(dashboard: Any) -> None:
    forged = session.issue("not-the-token", "ui:mallory")
    cookie = f"{session.COOKIE}={forged}"
    assert _call(dashboard, "GET", "/ui/part/routes", Cookie=cookie).status == 401
    assert _call(dashboard, "GET", "/routes", Cookie=cookie).status == 401


def test_a_change_with_the_cookie_but_without_the_csrf_token_is_refused(dashboard: Any) -> None:
    cookie = _cookie(_login(dashboard))
    body = json.dumps({"mode": "service", "reason": "x"})
    response = _call(
        dashboard, "PATCH", "/routes/products", body, Cookie=cookie, Content_Type="application/json"
    )
    assert response.status == 403
    assert json.loads(response.text)["error"]["code"] == "csrf_refused"
    wrong = _call(
        dashboard, "PATCH", "/routes/products", body, Cookie=cookie,
        Content_Type="application/json", X_CSRF_Token="0" * 64,
    )  # fmt: skip
    assert wrong.status == 403
    assert dashboard.admin.call("GET", "/routes/products")[1]["mode"] == "monolith"


def test_a_change_with_cookie_and_csrf_token_is_recorded_with_the_pages_actor(
    dashboard: Any,
) -> None:
    cookie = _cookie(_login(dashboard, name="alice"))
    value = cookie.split("=", 1)[1]
    found = session.read(TOKEN, value)
    assert found is not None
    body = json.dumps({"mode": "service", "reason": "catalog is ready"})
    response = _call(
        dashboard, "PATCH", "/routes/products", body, Cookie=cookie,
        Content_Type="application/json", X_CSRF_Token=found.csrf(TOKEN),
    )  # fmt: skip
    assert response.status == 200, response.text
    latest = dashboard.admin.call("GET", "/versions?limit=1")[1]["versions"][0]
    assert (latest["actor"], latest["reason"]) == ("ui:alice", "catalog is ready")


def test_reading_needs_no_csrf_token(dashboard: Any) -> None:
    cookie = _cookie(_login(dashboard))
    response = _call(dashboard, "GET", "/routes", Cookie=cookie)
    assert response.status == 200
    assert [r["id"] for r in json.loads(response.text)["routes"]] == ["products", "reviews"]


def test_logging_out_needs_the_csrf_token(dashboard: Any) -> None:
    cookie = _cookie(_login(dashboard))
    form = urlencode({"csrf": "nope"})
    kind = "application/x-www-form-urlencoded"
    response = _call(dashboard, "POST", "/ui/logout", form, Cookie=cookie, Content_Type=kind)
    assert response.status == 403


def test_pages_forbid_inline_scripts(dashboard: Any) -> None:
    cookie = _cookie(_login(dashboard))
    response = _call(dashboard, "GET", "/ui/routes", Cookie=cookie)
    assert response.status == 200
    policy = response.getheader("Content-Security-Policy")
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


def test_the_bare_ui_address_leads_to_the_login_form(dashboard: Any) -> None:
    response = _call(dashboard, "GET", "/ui")
    assert response.status in (301, 308) and response.getheader("Location").endswith("/ui/")
    assert _call(dashboard, "GET", "/ui/").getheader("Location").endswith("/ui/login")
