"""The dashboard in a real browser (headless Chromium driven by Selenium): log in, switch a
route and see the proxy follow, roll back from the history, watch counters move live,
and nothing injected through a header, a path or a response body ever runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from router.table import Route
from tests.router.conftest import TOKEN, Proxy

pytestmark = pytest.mark.browser
EVIL = '<script>window.__xss=1;alert(1)</script><img src=x onerror="window.__xss=2">'


def wait(browser: Any, condition: Callable[[Any], Any], seconds: float = 15) -> Any:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    ignored = (NoSuchElementException, StaleElementReferenceException)  # a live part swapped in
    return WebDriverWait(browser, seconds, 0.1, ignored).until(condition)


def texts(browser: Any, css: str) -> list[str]:
    """The text of every element matching `css`, read in one step (no stale elements)."""
    script = "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent.trim())"
    return list(browser.execute_script(script, css))


def log_in(browser: Any, router: Any, token: str = TOKEN, name: str = "alice") -> None:
    from selenium.webdriver.common.by import By

    browser.get(router.admin_url + "/ui/login")
    browser.find_element(By.ID, "token").send_keys(token)
    browser.find_element(By.ID, "name").send_keys(name)
    submit = browser.find_element(By.CSS_SELECTOR, "button[type=submit]")
    submit.click()
    # The form posts and the server answers with a new page (or a redirect): wait until the
    # login page is gone, else the caller reads the old page (0 routes seen once in CI).
    wait(browser, lambda _: _gone(submit))
    wait(browser, lambda b: b.execute_script("return document.readyState") == "complete")


def _gone(element: Any) -> bool:
    """Whether `element` belongs to a page the browser has left. Mid-navigation Chrome may
    answer "Node with given id does not belong to the document" instead of a stale
    reference (seen in CI): the node is the old document's, so it is gone too."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as error:
        if "does not belong to the document" in str(error.msg):
            return True
        raise
    return False


def row(browser: Any, route: str) -> Any:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, f'#routes-table tr[data-route="{route}"]')


def mode(browser: Any, route: str) -> str:
    """The mode the routes view shows for `route`."""
    found = texts(browser, f'#routes-table tr[data-route="{route}"] .mode')
    return found[0] if found else ""


def served_by(router: Any, path: str) -> str:
    proxy = Proxy(router.proxy_url)
    try:
        return str(proxy.send("GET", path)[2]["served_by"])
    finally:
        proxy.close()


def no_script_ran(browser: Any) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018
    assert browser.execute_script("return window.__xss === undefined")


def test_a_wrong_token_is_refused_and_the_right_one_opens_the_routes(
    browser: Any, dashboard: Any, screenshots: Path
) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, dashboard, token="wrong")
    assert "wrong admin token" in browser.find_element(By.ID, "login-error").text
    assert browser.get_cookies() == []
    browser.save_screenshot(str(screenshots / "login.png"))
    log_in(browser, dashboard)
    assert browser.current_url.endswith("/ui/routes")
    ids = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#routes-table .route-id")]
    assert ids == ["products", "reviews"]
    cookie = next(c for c in browser.get_cookies() if c["name"] == "strangler_ui")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert browser.execute_script("return document.cookie") == ""  # HttpOnly: out of reach
    patch = (  # a script in the page calling the API with the cookie but no CSRF token
        "const done = arguments[arguments.length - 1];"
        "fetch('/routes/products', {method: 'PATCH', headers: {'Content-Type':"
        " 'application/json'}, body: JSON.stringify({mode: 'service'})})"
        ".then(r => r.json().then(j => done([r.status, j.error.code])));"
    )
    assert browser.execute_async_script(patch) == [403, "csrf_refused"]
    assert dashboard.admin.call("GET", "/routes/products")[1]["mode"] == "monolith"


def test_switching_a_route_in_the_page_moves_the_proxy_and_records_the_actor(
    browser: Any, dashboard: Any, screenshots: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    assert served_by(dashboard, "/api/products/1") == "monolith"
    log_in(browser, dashboard, name="alice")
    products = row(browser, "products")
    Select(products.find_element(By.NAME, "mode")).select_by_value("service")
    products.find_element(By.NAME, "reason").send_keys("catalog owns products")
    products.find_element(By.CSS_SELECTOR, "button[value=set]").click()
    wait(browser, lambda b: "✔" in b.find_element(By.ID, "last-action").text)
    wait(browser, lambda b: mode(b, "products") == "service")
    browser.save_screenshot(str(screenshots / "routes.png"))
    assert served_by(dashboard, "/api/products/1") == "catalog"

    browser.find_element(By.LINK_TEXT, "History").click()
    newest = browser.find_element(By.CSS_SELECTOR, "#history-table tbody tr")
    assert newest.find_element(By.CLASS_NAME, "actor").text == "ui:alice"
    assert "catalog owns products" in newest.text
    assert '"monolith" → "service"' in newest.text.replace("\n", " ")
    browser.save_screenshot(str(screenshots / "history.png"))


def test_a_refused_promotion_shows_why_and_forcing_needs_a_reason(
    browser: Any, dashboard: Any
) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, dashboard)
    reviews = row(browser, "reviews")
    assert "✘ refused" in reviews.find_element(By.CLASS_NAME, "gate").text
    reviews.find_element(By.CSS_SELECTOR, "button[value=promote]").click()
    note = wait(browser, lambda b: b.find_element(By.ID, "last-action").text or None)
    assert "promotion_refused" in note and "shadow comparisons 0 (minimum 200)" in note
    reviews = row(browser, "reviews")
    reviews.find_element(By.NAME, "force").click()
    reviews.find_element(By.CSS_SELECTOR, "button[value=promote]").click()
    assert "needs a reason" in reviews.find_element(By.CLASS_NAME, "result").text
    reviews.find_element(By.NAME, "reason").send_keys("load test sign-off")
    reviews.find_element(By.CSS_SELECTOR, "button[value=promote]").click()
    wait(browser, lambda b: mode(b, "reviews").startswith("canary"))
    latest = dashboard.admin.call("GET", "/versions?limit=1")[1]["versions"][0]
    assert latest["change"]["forced"] is True and latest["reason"] == "load test sign-off"


def test_rolling_back_from_the_history_restores_the_route(browser: Any, dashboard: Any) -> None:
    from selenium.webdriver.common.by import By

    before = dashboard.admin.call("GET", "/versions?limit=1")[1]["versions"][0]["version"]
    dashboard.admin.call("PATCH", "/routes/products", {"mode": "service"})
    assert served_by(dashboard, "/api/products/1") == "catalog"
    log_in(browser, dashboard)
    browser.find_element(By.LINK_TEXT, "History").click()
    form = browser.find_element(By.CSS_SELECTOR, f'form[data-version="{before}"]')
    form.find_element(By.TAG_NAME, "button").click()
    alert = wait(browser, lambda b: b.switch_to.alert)
    assert f"version {before}" in alert.text
    alert.dismiss()
    assert "cancelled" in browser.find_element(By.ID, "last-action").text
    form = browser.find_element(By.CSS_SELECTOR, f'form[data-version="{before}"]')
    form.find_element(By.TAG_NAME, "button").click()
    wait(browser, lambda b: b.switch_to.alert).accept()
    wait(browser, lambda b: "rolled back" in b.find_element(By.ID, "last-action").text)
    assert served_by(dashboard, "/api/products/1") == "monolith"
    newest = browser.find_element(By.CSS_SELECTOR, "#history-table tbody tr")
    assert newest.find_element(By.CLASS_NAME, "actor").text == "ui:alice"
    assert "rollback" in newest.text


def test_traffic_sent_after_the_page_loaded_shows_up_without_a_reload(
    browser: Any, dashboard: Any, screenshots: Path
) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, dashboard)
    browser.find_element(By.LINK_TEXT, "Traffic").click()
    browser.execute_script("window.__loaded = 'this page'")
    proxy = Proxy(dashboard.proxy_url)
    for n in range(30):
        proxy.send("GET", f"/api/products/{n}")
    dashboard.mono.status = 500  # three failures: fewer than open the circuit breaker
    for n in range(3):
        proxy.send("GET", f"/api/products/{n}")
    proxy.close()
    cell = '#traffic-table tr[data-route="products"][data-target="monolith"] .total'
    wait(browser, lambda b: texts(b, cell) == ["33"])
    assert browser.execute_script("return window.__loaded") == "this page"  # no reload
    text = browser.find_element(By.CSS_SELECTOR, "#traffic-table tbody tr").text
    assert "(3 in all)" in text and " ms" in text
    spark = "#traffic-table svg.spark polyline"  # drawn once the page has polled twice more
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, spark))
    browser.save_screenshot(str(screenshots / "traffic.png"))


def test_script_in_a_header_a_path_or_a_response_body_never_runs(
    browser: Any, dashboard: Any, screenshots: Path
) -> None:
    from selenium.webdriver.common.by import By

    admin = dashboard.admin
    rule = {"path": "/api/evil/**", "target": "catalog", "header": f"X-Evil: {EVIL}"}
    assert admin.call("POST", "/routes", {**rule, "id": "evil", "reason": EVIL})[0] == 201
    dashboard.catalog.extra = {"note": EVIL}  # the candidate's answers carry it
    proxy = Proxy(dashboard.proxy_url)
    proxy.send("GET", "/api/reviews/<script>alert(2)</script>", X_Evil=EVIL)
    proxy.close()
    log_in(browser, dashboard)
    assert EVIL in row(browser, "evil").text
    for view in ("History", "Traffic", "Parity"):
        browser.find_element(By.LINK_TEXT, view).click()
        no_script_ran(browser)
        if view == "History":
            assert EVIL in browser.find_element(By.ID, "history-table").text
    link = '#parity-table tr[data-route="reviews"] a'  # the mirror's row arrives live
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, link))[0].click()
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, ".sample"))
    sample = browser.find_element(By.CSS_SELECTOR, ".sample")
    assert "<script>alert(2)</script>" in sample.text
    assert "window.__xss=1" in sample.text
    curl = sample.find_element(By.CSS_SELECTOR, "input.curl").get_attribute("value")
    assert curl.startswith("curl -sS -X GET ") and dashboard.mono.url in curl
    copy = sample.find_element(By.CSS_SELECTOR, "button[data-copy]")
    copy.click()  # to the clipboard, or selected for Ctrl+C where the browser refuses
    # the handler awaits the clipboard, so the label changes a moment after the click
    wait(browser, lambda b: copy.text in ("Copied", "Selected: press Ctrl+C"))
    wait(browser, lambda b: "paused" in b.find_element(By.ID, "live-status").text)
    browser.find_element(By.TAG_NAME, "h1").click()  # focus leaves the table: updates resume
    browser.execute_script("document.activeElement.blur()")
    wait(browser, lambda b: "updated" in b.find_element(By.ID, "live-status").text)
    no_script_ran(browser)
    browser.save_screenshot(str(screenshots / "parity.png"))


def test_upstreams_show_health_and_breaker_state_in_words(
    browser: Any, dashboard: Any, screenshots: Path
) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, dashboard)
    browser.find_element(By.LINK_TEXT, "Upstreams").click()
    table = browser.find_element(By.ID, "upstreams-table").text
    assert "catalog" in table and "monolith" in table and "closed" in table
    browser.save_screenshot(str(screenshots / "upstreams.png"))
    dashboard.admin.call("PATCH", "/routes/products", {"mode": "service"})
    dashboard.catalog.status = 500  # failing answers open catalog's circuit breaker
    proxy = Proxy(dashboard.proxy_url)
    for n in range(12):
        proxy.send("GET", f"/api/products/{n}")
    proxy.close()
    breaker = '#upstreams-table tr[data-upstream="catalog"] .breaker'
    wait(browser, lambda b: texts(b, breaker) == ["open"])  # live, without a reload


def test_the_data_view_shows_lag_per_direction_and_opens_the_dead_letters(
    browser: Any, data_config: Any, dashboard: Any, screenshots: Path
) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, dashboard)
    browser.find_element(By.LINK_TEXT, "Data").click()
    lags = texts(browser, '#cdc-table tr[data-table="products"] .lag')
    assert lags == ["120 ms"]
    assert texts(browser, "#handover-table .state") == ["not started", "not started"]
    browser.find_element(By.PARTIAL_LINK_TEXT, "2 dead").click()
    assert len(browser.find_elements(By.CSS_SELECTOR, "#dlq-table tbody tr")) == 2
    browser.save_screenshot(str(screenshots / "data.png"))


def test_two_hundred_routes_stay_usable_filtered_and_switchable(
    browser: Any, dashboard: Any
) -> None:
    from selenium.webdriver.common.by import By

    many = tuple(Route(f"r{n:03}", f"/api/many/{n}/**", "catalog") for n in range(200))
    table = dashboard.store.update(
        lambda t: t.replace(routes=t.routes + many), actor="pytest", reason="200", change={}
    )  # one version (200 POST /routes would each store a version)
    dashboard.plane.publish(table)
    log_in(browser, dashboard)
    assert len(texts(browser, "#routes-table tbody tr")) == 202
    browser.find_element(By.ID, "filter").send_keys("/api/many/142/")
    wait(
        browser,
        lambda b: (
            len(b.find_elements(By.CSS_SELECTOR, "#routes-table tbody tr:not([hidden])")) == 1
        ),
    )
    target = row(browser, "r142")
    target.find_element(By.CSS_SELECTOR, "button[value=promote]").click()
    wait(browser, lambda b: mode(b, "r142") == "shadow")
    assert served_by(dashboard, "/api/many/142/x") == "monolith"  # shadow: the monolith answers
    assert dashboard.admin.call("GET", "/routes/r142")[1]["mode"] == "shadow"


def test_the_plan_view_shows_the_context_map_with_each_state(
    browser: Any, plan_report: list[str], dashboard: Any, screenshots: Path
) -> None:
    from selenium.webdriver.common.by import By

    first, second = plan_report[:2]
    for name, mode_ in ((first, "service"), (second, "shadow")):
        dashboard.admin.call("PUT", f"/upstreams/{name}", {"urls": [dashboard.catalog.url]})
        route = {"id": name, "path": f"/{name}/**", "target": name, "mode": mode_}
        assert dashboard.admin.call("POST", "/routes", route)[0] == 201
    log_in(browser, dashboard)
    browser.find_element(By.LINK_TEXT, "Plan").click()
    states = dict(zip(plan_report, texts(browser, "#plan-table .state"), strict=True))
    assert states[first] == "owned by the service" and states[second] == "shadow"
    image = browser.find_element(By.ID, "plan-map")
    wait(browser, lambda b: b.execute_script("return arguments[0].naturalWidth", image) > 0)
    assert "owned by the service" in image.get_attribute("alt")
    browser.save_screenshot(str(screenshots / "plan.png"))


def test_a_failed_poll_is_reported_in_words_and_the_next_one_recovers(
    browser: Any, dashboard: Any
) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, dashboard)
    browser.find_element(By.LINK_TEXT, "Upstreams").click()
    browser.execute_script(  # the network drops: every fetch fails until restored
        "window.__fetch = window.fetch;"
        "window.fetch = () => Promise.reject(new TypeError('network down'));"
    )
    wait(browser, lambda b: "connection lost" in b.find_element(By.ID, "live-status").text)
    browser.execute_script("window.fetch = window.__fetch")
    wait(browser, lambda b: "updated" in b.find_element(By.ID, "live-status").text)


def test_a_canary_share_is_set_with_the_keyboard_alone(browser: Any, dashboard: Any) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    log_in(browser, dashboard)
    row(browser, "products").find_element("name", "mode").click()  # focus the first control
    keys = ActionChains(browser)
    keys.send_keys(Keys.ESCAPE)  # close the native list; focus stays on the select
    keys.send_keys("c")  # pick "canary" by typing
    keys.send_keys(Keys.TAB, Keys.END)  # the slider: 100 %
    for _ in range(70):
        keys.send_keys(Keys.ARROW_LEFT)
    keys.send_keys(Keys.TAB, Keys.TAB, "a share for the new path")  # service select, reason
    keys.send_keys(Keys.TAB, Keys.TAB, Keys.ENTER)  # skip "force"; Apply
    keys.perform()
    wait(browser, lambda b: mode(b, "products") == "canary 30.0 %")
    route = dashboard.admin.call("GET", "/routes/products")[1]
    assert (route["mode"], route["percent"]) == ("canary", 30.0)
