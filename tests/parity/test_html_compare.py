"""HTML bodies: structural comparison by CSS path, masks, and plain text / binary bodies."""

from __future__ import annotations

from parity import NoiseModel, Response, RouteRules, compare

PAGE = """<!doctype html>
<html><head><title>Forum</title><meta name="csrf-token" content="{token}"></head>
<body>
  <div id="main">
    <form method="post"><input name="csrf_token" value="{token}"><input name="q" value="{q}"></form>
    <p class="when">Generated at {stamp}</p>
    <ul>{items}</ul>
  </div>
</body></html>"""


def page(token="t1", stamp="12:00:01", q="", items=("a", "b")) -> Response:
    lis = "".join(f"<li>{i}</li>" for i in items)
    body = PAGE.format(token=token, stamp=stamp, q=q, items=lis)
    return Response(200, {"content-type": "text/html; charset=utf-8"}, body)


def test_identical_pages_with_different_whitespace_match() -> None:
    assert compare(
        page(), Response(200, page().headers, page().body.replace(b"\n", b"\n\n  "))
    ).match
    assert compare(page(), page()).kind == "html"


def test_differences_are_reported_by_css_path() -> None:
    result = compare(page(), page(token="t2", items=("a", "c")))
    found = {d.path: (d.legacy, d.candidate) for d in result.differences}
    assert found == {
        "html>head>meta[name=csrf-token]@content": ("t1", "t2"),
        "html>body>div#main>form:nth-of-type(1)>input[name=csrf_token]@value": ("t1", "t2"),
        "html>body>div#main>ul:nth-of-type(1)>li:nth-of-type(2)": ("b", "c"),
    }


def test_a_missing_element_is_reported_once_with_a_mask_for_its_parent() -> None:
    result = compare(page(), page(items=("a",)))
    [difference] = result.differences
    assert difference.path == "html>body>div#main>ul:nth-of-type(1)>li:nth-of-type(2)"
    assert difference.kind == "missing"
    assert difference.rule == 'html_masks = ["html>body>div#main>ul:nth-of-type(1)"]'


def test_an_inserted_row_is_one_added_difference_not_a_shift_of_every_row() -> None:
    result = compare(page(items=("a", "b", "c")), page(items=("new", "a", "b", "c")))
    assert [(d.path, d.kind, d.candidate) for d in result.differences] == [
        ("html>body>div#main>ul:nth-of-type(1)>li:nth-of-type(1)", "added", "new")
    ]


def test_subset_mode_lets_the_candidate_add_elements_and_attributes() -> None:
    extra = Response(
        200,
        page().headers,
        page().body.replace(b"</ul>", b"<li class='x'>new</li></ul>"),
    )
    assert not compare(page(), extra).match
    assert compare(page(), extra, RouteRules(subset=True)).match


def test_a_masked_attribute_may_be_missing_on_one_side() -> None:
    a = Response(
        200,
        {"content-type": "text/html"},
        "<html><body><a href='/x' data-t='1'>x</a></body></html>",
    )
    b = Response(200, {"content-type": "text/html"}, "<html><body><a href='/x'>x</a></body></html>")
    [difference] = compare(a, b).differences
    assert (difference.path, difference.kind) == ("html>body>a:nth-of-type(1)@data-t", "missing")
    assert compare(a, b, RouteRules(html_masks=("a@data-t",))).match


def test_css_masks_hide_attributes_and_element_content() -> None:
    rules = RouteRules(
        html_masks=("input[name=csrf_token]@value", "meta[name=csrf-token]@content", "p.when")
    )
    assert compare(page(), page(token="t2", stamp="12:00:02"), rules).match
    assert not compare(page(), page(q="x"), rules).match


def test_regex_masks_apply_to_html_text_and_attributes() -> None:
    rules = RouteRules(regex_masks=(r"\d\d:\d\d:\d\d", r"^t\d$"))
    assert compare(page(), page(token="t9", stamp="23:59:59"), rules).match


def test_every_suggested_html_mask_silences_its_difference() -> None:
    from parity import parse_rules

    legacy, candidate = page(), page(token="t2", items=("a",), stamp="x")
    for difference in compare(legacy, candidate).differences:
        rules = parse_rules(f"[defaults]\n{difference.rule}")
        assert difference.path not in {
            d.path for d in compare(legacy, candidate, rules).differences
        }


def test_csrf_tokens_and_timestamps_are_learned_as_noise_without_a_rule() -> None:
    noise = NoiseModel()
    legacy, again = page(token="t1", stamp="12:00:01"), page(token="t2", stamp="12:00:02")
    candidate = page(token="t3", stamp="12:00:03", q="changed")
    result = compare(legacy, candidate, route="forum", noise=noise, legacy_again=again)
    assert [d.path for d in result.differences] == [
        "html>body>div#main>form:nth-of-type(1)>input[name=q]@value"
    ]
    assert {d.path.split(">")[-1] for d in result.noise} == {
        "meta[name=csrf-token]@content",
        "input[name=csrf_token]@value",
        "p:nth-of-type(1)",
    }
    # learned once, the noise stays known for the route
    assert compare(page(token="t4"), page(token="t5", stamp="1"), route="forum", noise=noise).match


def test_long_text_changes_come_with_a_word_diff() -> None:
    words = "the quick brown fox jumps over the lazy dog again and again and again"
    a = Response(200, {"content-type": "text/html"}, f"<html><body><p>{words}</p></body></html>")
    b = Response(200, {"content-type": "text/html"}, a.body.replace(b"lazy", b"sleepy"))
    [difference] = compare(a, b).differences
    assert "[-lazy-] {+sleepy+}" in difference.detail


def test_plain_text_bodies_get_a_unified_diff() -> None:
    a = Response(200, {"content-type": "text/plain"}, "one\ntwo\nthree\n")
    b = Response(200, {"content-type": "text/plain"}, "one\nTWO\nthree\n")
    [difference] = compare(a, b).differences
    assert difference.path == "$body" and difference.kind == "text"
    assert "-two\n+TWO" in difference.detail


def test_binary_bodies_are_compared_by_digest_and_size() -> None:
    a = Response(200, {"content-type": "image/png"}, b"\x89PNG\x00\x01")
    b = Response(200, {"content-type": "image/png"}, b"\x89PNG\x00\x02\x03")
    [difference] = compare(a, b).differences
    assert difference.kind == "binary"
    assert difference.legacy.endswith("(6 bytes)") and difference.candidate.endswith("(7 bytes)")
    assert compare(a, a).match


def test_a_body_of_another_kind_is_one_type_difference() -> None:
    a = Response(200, {"content-type": "application/json"}, b'{"a": 1}')
    b = Response(200, {"content-type": "text/html"}, b"<html><body>oops</body></html>")
    [difference] = compare(a, b, RouteRules(headers=())).differences
    assert (difference.path, difference.kind) == ("$body", "type")
