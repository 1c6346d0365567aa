"""The route table and decide(): plain values in, plain values out."""

from __future__ import annotations

import pytest

from router import codec
from router.bucket import boundary, in_canary, murmur2
from router.errors import ValidationError
from router.table import Request, Route, RouteTable, Upstream, decide, validate

MONO = Upstream("monolith", ("http://127.0.0.1:1",))
CAT = Upstream("catalog", ("http://127.0.0.1:2",))


def table(*routes: Route) -> RouteTable:
    return validate(RouteTable((MONO, CAT), routes))


def get(path: str, **headers: str) -> Request:
    return Request("GET", path, {k.lower().replace("_", "-"): v for k, v in headers.items()})


def test_unmatched_request_goes_to_the_default_monolith_route() -> None:
    d = decide(get("/api/orders"), table(Route("p", "/api/products/**", "catalog", mode="service")))
    assert (d.route, d.target, d.reason) == ("default", "monolith", "default")


def test_disabled_route_falls_back_to_monolith() -> None:
    d = decide(get("/api/products/1"), table(Route("p", "/api/products/{id}", "catalog")))
    assert (d.route, d.target) == ("p", "monolith")


def test_service_route_sends_to_target_with_params_and_fallback_for_get() -> None:
    d = decide(
        get("/api/products/42"), table(Route("p", "/api/products/{id}", "catalog", mode="service"))
    )
    assert (d.target, d.fallback, dict(d.params)) == ("catalog", "monolith", {"id": "42"})


def test_non_idempotent_request_gets_no_fallback() -> None:
    t = table(Route("p", "/api/products/**", "catalog", mode="service"))
    assert decide(Request("POST", "/api/products"), t).fallback is None


def test_fallback_off_gives_no_fallback_even_for_get() -> None:
    t = table(Route("p", "/api/products/**", "catalog", mode="service", fallback=False))
    assert decide(get("/api/products/1"), t).fallback is None


def test_template_beats_prefix_and_longer_prefix_beats_shorter() -> None:
    t = table(
        Route("all", "/api/**", "monolith", mode="service"),
        Route("prefix", "/api/products/**", "catalog", mode="service"),
        Route("one", "/api/products/{id}", "catalog", mode="service"),
        Route("exact", "/api/products/featured", "catalog", mode="service"),
    )
    assert decide(get("/api/products/7"), t).route == "one"
    assert decide(get("/api/products/featured"), t).route == "exact"
    assert decide(get("/api/products/7/reviews"), t).route == "prefix"
    assert decide(get("/api/products"), t).route == "prefix"
    assert decide(get("/api/orders/1"), t).route == "all"


def test_method_list_beats_any_method_and_header_route_beats_plain() -> None:
    t = table(
        Route("any", "/api/products/**", "catalog"),
        Route("get", "/api/products/**", "catalog", methods=("GET",), mode="service"),
        Route("beta", "/api/products/**", "catalog", methods=("GET",), header="X-Beta: 1"),
    )
    assert decide(Request("POST", "/api/products/1"), t).route == "any"
    assert decide(get("/api/products/1"), t).route == "get"
    assert decide(get("/api/products/1", X_Beta="1"), t).route == "beta"
    assert decide(get("/api/products/1", X_Beta="2"), t).route == "get"


def test_dot_segments_are_resolved_before_matching() -> None:
    t = table(Route("p", "/api/products/**", "catalog", mode="service"))
    assert decide(get("/api/products/../orders"), t).route == "default"
    assert decide(get("/api/orders/../products/1?x=1"), t).route == "p"


def test_shadow_mirrors_only_get_and_head_by_default() -> None:
    t = table(Route("p", "/api/products/**", "catalog", mode="shadow"))
    assert decide(get("/api/products/1"), t).shadow == "catalog"
    assert decide(get("/api/products/1"), t).target == "monolith"
    assert decide(Request("POST", "/api/products"), t).shadow is None


def test_canary_is_sticky_per_user_header_and_near_the_percentage() -> None:
    t = table(Route("p", "/api/**", "catalog", mode="canary", percent=30, sticky="header:X-User"))
    targets = [decide(get("/api/x", X_User=f"u{i}"), t).target for i in range(2000)]
    share = targets.count("catalog") / len(targets)
    assert 0.25 < share < 0.35
    again = [decide(get("/api/y", X_User=f"u{i}"), t).target for i in range(2000)]
    assert again == targets


def test_canary_sticky_cookie_and_client_address_fallback() -> None:
    t = table(Route("p", "/api/**", "catalog", mode="canary", percent=50, sticky="cookie:sid"))
    a = Request("GET", "/api/x", {"cookie": "a=1; sid=abc"}, client="10.0.0.1")
    b = Request("GET", "/api/x", {"cookie": "sid=abc"}, client="10.9.9.9")
    assert decide(a, t).target == decide(b, t).target
    no_cookie = [decide(Request("GET", "/api", {}, client=f"c{i}"), t).target for i in range(200)]
    assert {"catalog", "monolith"} == set(no_cookie)


def test_canary_zero_percent_is_zero_and_hundred_is_all() -> None:
    zero = table(Route("p", "/api/**", "catalog", mode="canary", percent=0))
    full = table(Route("p", "/api/**", "catalog", mode="canary", percent=100))
    clients = [Request("GET", "/api/x", {}, client=f"c{i}") for i in range(300)]
    assert {decide(r, zero).target for r in clients} == {"monolith"}
    assert {decide(r, full).target for r in clients} == {"catalog"}


def test_force_header_pins_a_canary_request_to_either_side() -> None:
    t = table(Route("p", "/api/**", "catalog", mode="canary", percent=0))
    assert decide(get("/api/x", X_Strangler_Force="service"), t).target == "catalog"
    full = table(Route("p", "/api/**", "catalog", mode="canary", percent=100))
    assert decide(get("/api/x", X_Strangler_Force="monolith"), full).target == "monolith"


def test_murmur2_matches_nginx_reference_values() -> None:
    # values computed by nginx's ngx_murmur_hash2 (see tests/router/test_export_nginx.py
    # for the end-to-end check against a real nginx)
    assert murmur2(b"") == 0
    assert murmur2(b"a") != murmur2(b"b")
    assert boundary(100) == 0xFFFFFFFF
    assert in_canary("anything", 100) and not in_canary("anything", 0)


@pytest.mark.parametrize(
    ("routes", "needle"),
    [
        ((Route("p", "/api/{id}", "nowhere"),), "unknown upstream 'nowhere'"),
        ((Route("p", "/api/**", "catalog", percent=101),), "outside 0-100"),
        ((Route("p", "/api/**", "catalog", percent=-1),), "outside 0-100"),
        ((Route("p", "api/x", "catalog"),), "must start with '/'"),
        ((Route("p", "/api/**/x", "catalog"),), "must be the last segment"),
        ((Route("p", "/api/{id", "catalog"),), "malformed"),
        ((Route("p", "/api//x", "catalog"),), "empty segment"),
        ((Route("p", "/x", "catalog", mode="off"),), "mode 'off'"),
        ((Route("p", "/x", "catalog", sticky="ip"),), "sticky 'ip'"),
        (
            (Route("a", "/api/{id}", "catalog"), Route("b", "/api/{key}", "catalog")),
            "equal specificity",
        ),
        (
            (
                Route("a", "/api/**", "catalog", methods=("GET", "POST")),
                Route("b", "/api/**", "catalog", methods=("POST",)),
            ),
            "equal specificity",
        ),
        ((Route("a", "/x", "catalog"), Route("a", "/y", "catalog")), "unique"),
    ],
)
def test_invalid_tables_are_rejected_with_a_clear_message(routes, needle) -> None:
    with pytest.raises(ValidationError, match=needle.replace("(", r"\(").replace("*", r"\*")):
        table(*routes)


def test_non_overlapping_equal_rank_routes_are_allowed() -> None:
    table(
        Route("a", "/api/products/{id}", "catalog"),
        Route("b", "/api/orders/{id}", "catalog"),
        Route("c", "/api/**", "catalog", methods=("GET",)),
        Route("d", "/api/**", "catalog", methods=("POST",)),
    )


def test_table_without_monolith_upstream_is_rejected() -> None:
    with pytest.raises(ValidationError, match="monolith"):
        validate(RouteTable((CAT,), ()))


def test_codec_round_trips_and_rejects_unknown_fields() -> None:
    t = table(Route("p", "/api/**", "catalog", methods=("GET",), mode="canary", percent=12.5))
    assert codec.table_from_dict(codec.table_to_dict(t)) == t
    with pytest.raises(ValidationError, match="unknown route field"):
        codec.route_from_dict({"id": "p", "path": "/x", "target": "catalog", "colour": "red"})
    with pytest.raises(ValidationError, match="percent"):
        codec.route_from_dict({"id": "p", "path": "/x", "target": "catalog", "percent": "ten"})
