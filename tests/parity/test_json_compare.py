"""JSON bodies: canonical comparison, normalisation rules and readable differences."""

from __future__ import annotations

import json

import pytest

from parity import Response, RouteRules, compare, parse_rules


def answer(body: object, status: int = 200, **headers: str) -> Response:
    return Response(status, {"content-type": "application/json", **headers}, json.dumps(body))


def paths(result) -> list[str]:
    return [d.path for d in result.differences]


def test_key_order_and_number_spelling_do_not_matter() -> None:
    assert compare(answer({"a": 1, "b": [1.0, 2]}), answer({"b": [1, 2.0], "a": 1})).match


def test_each_difference_names_the_field_both_values_and_a_rule() -> None:
    legacy = answer({"price": 9.99, "name": "Lamp", "meta": {"n": [1, 2]}})
    candidate = answer({"price": 10.0, "meta": {"n": [1, 3]}, "extra": True})
    result = compare(legacy, candidate)
    assert not result.match
    found = {d.path: (d.kind, d.legacy, d.candidate, d.rule) for d in result.differences}
    assert found == {
        "$.extra": ("added", None, True, "subset = true"),
        "$.meta.n[1]": ("changed", 2, 3, 'tolerances."$.meta.n[*]" = 1.0'),
        "$.name": ("missing", "Lamp", None, 'ignore = ["$.name"]'),
        "$.price": ("changed", 9.99, 10.0, 'tolerances."$.price" = 0.01'),
    }
    assert [d.field for d in result.differences][1] == "$.meta.n[*]"


def test_every_suggested_rule_silences_its_difference() -> None:
    legacy = answer({"price": 9.99, "name": "Lamp", "tags": ["a", "b"], "id": "x"})
    candidate = answer({"price": 10.0, "tags": ["b", "a"], "id": 7, "new": 1})
    for difference in compare(legacy, candidate).differences:
        rules = parse_rules(f"[defaults]\n{difference.rule}")
        assert difference.path not in paths(compare(legacy, candidate, rules)), difference


def test_ignored_fields_are_dropped_on_both_sides() -> None:
    rules = RouteRules(ignore=("updated_at", "/meta/request_id", "items[*].ts"))
    legacy = answer({"updated_at": 1, "meta": {"request_id": "a"}, "items": [{"ts": 1, "q": 1}]})
    candidate = answer({"updated_at": 2, "meta": {"request_id": "b"}, "items": [{"ts": 2, "q": 1}]})
    assert compare(legacy, candidate, rules).match


def test_arrays_differing_only_in_order_are_one_order_difference() -> None:
    result = compare(answer({"tags": ["a", "b", "c"]}), answer({"tags": ["c", "a", "b"]}))
    assert [(d.path, d.kind) for d in result.differences] == [("$.tags", "order")]


def test_unordered_arrays_compare_as_multisets_of_records() -> None:
    rules = RouteRules(unordered=("$.items",))
    legacy = answer({"items": [{"id": 1, "q": 2}, {"id": 2, "q": 5}]})
    same = answer({"items": [{"q": 5, "id": 2}, {"id": 1, "q": 2}]})
    changed = answer({"items": [{"id": 2, "q": 5}, {"id": 1, "q": 3}]})
    assert compare(legacy, same, rules).match
    assert paths(compare(legacy, changed, rules)) == ["$.items[0].q"]


def test_numbers_within_the_tolerance_match() -> None:
    legacy, candidate = answer({"total": 10.004, "n": 3}), answer({"total": 10.0, "n": 4})
    assert paths(compare(legacy, candidate, RouteRules(tolerance=0.005))) == ["$.n"]
    per_path = RouteRules(tolerances=(("$.total", 0.01),))
    assert paths(compare(legacy, candidate, per_path)) == ["$.n"]


def test_large_integers_compare_exactly() -> None:
    stamp = 1796307100626233117
    assert [
        d.path for d in compare(answer({"t": stamp}), answer({"t": stamp + 1})).differences
    ] == ["$.t"]


def test_a_changed_rounding_is_caught() -> None:
    result = compare(answer({"price": 19.99}), answer({"price": 20.0}))
    assert paths(result) == ["$.price"]


def test_subset_mode_lets_the_candidate_add_fields_but_not_drop_them() -> None:
    rules = RouteRules(subset=True)
    assert compare(answer({"a": 1}), answer({"a": 1, "b": 2}), rules).match
    assert paths(compare(answer({"a": 1, "b": 2}), answer({"a": 1}), rules)) == ["$.b"]


def test_a_type_change_is_reported_as_such() -> None:
    result = compare(answer({"id": "7"}), answer({"id": 7}))
    assert [(d.path, d.kind) for d in result.differences] == [("$.id", "type")]


def test_status_and_allowed_headers_are_compared() -> None:
    rules = RouteRules(headers=("content-type", "x-version"))
    legacy = answer({}, 200, **{"x-version": "1", "date": "Mon"})
    candidate = Response(
        201,
        {"Content-Type": "application/json; charset=utf-8", "X-Version": "2", "Date": "Tue"},
        b"{}",
    )
    result = compare(legacy, candidate, rules)
    assert paths(result) == ["$status", "$headers.x-version"]
    assert result.differences[1].rule == 'headers = ["content-type"]'
    assert compare(legacy, candidate, RouteRules(status=False)).match


def test_redirects_compare_their_location_without_the_host() -> None:
    rules = RouteRules(headers=("location",))
    legacy = Response(302, {"location": "http://legacy:5000/login?next=%2Fcart"})
    assert compare(legacy, Response(302, {"location": "/login?next=%2Fcart"}), rules).match
    moved = compare(legacy, Response(302, {"location": "https://svc/signin"}), rules)
    assert [d.path for d in moved.differences] == ["$headers.location"]


def test_regex_masks_apply_to_json_strings() -> None:
    rules = RouteRules(regex_masks=(r"\d{4}-\d\d-\d\dT[\d:]+",))
    legacy = answer({"msg": "created 2026-01-01T10:00:00"})
    assert compare(legacy, answer({"msg": "created 2026-02-03T11:12:13"}), rules).match


def test_render_gives_a_readable_minimal_diff() -> None:
    text = compare(answer({"price": 1.5, "name": "x"}), answer({"price": 1.6}), route="p").render()
    assert text.splitlines() == [
        "2 differences on route p:",
        '  $.name: missing in candidate (legacy "x")    [silence: ignore = ["$.name"]]',
        '  $.price: legacy 1.5 != candidate 1.6    [silence: tolerances."$.price" = 0.1]',
    ]
    assert compare(answer({}), answer({})).render() == ""


def test_the_comparison_serialises_to_json() -> None:
    data = compare(answer({"a": 1}), answer({"a": 2})).to_dict()
    assert json.loads(json.dumps(data))["differences"][0]["path"] == "$.a"
    assert data["kind"] == "json" and not data["match"]


@pytest.mark.parametrize("count", [60])
def test_only_the_first_fifty_differences_are_kept_and_the_rest_counted(count: int) -> None:
    result = compare(answer({f"k{i:02}": i for i in range(count)}), answer({}))
    assert len(result.differences) == 50 and result.truncated == count - 50
    assert "... and 10 more" in result.render()
