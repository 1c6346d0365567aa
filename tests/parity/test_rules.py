"""The rules file: parsing, validation errors that name the key, and route sections."""

from __future__ import annotations

import pytest

from parity import RouteRules, Rules, RulesError, load_rules, parse_rules
from parity.paths import DEEP, matches, parse

RULES = """
[defaults]
ignore = ["updated_at"]
headers = ["content-type", "etag"]

[defaults.tolerances]
"$.price" = 0.01

[routes.products]
ignore = ["$.meta.request_id"]
unordered = ["$.tags"]

[routes."GET /api/orders/{id}"]
subset = true
headers = ["content-type"]

[routes."/api/admin/**"]
status = false
"""


def test_a_route_section_is_merged_over_the_defaults() -> None:
    rules = parse_rules(RULES).for_route("products")
    assert rules.ignore == ("updated_at", "$.meta.request_id")
    assert rules.unordered == ("$.tags",)
    assert rules.headers == ("content-type", "etag")
    assert rules.tolerances == (("$.price", 0.01),)


def test_sections_match_by_route_name_path_pattern_and_method() -> None:
    rules = parse_rules(RULES)
    assert rules.for_route("orders", "GET", "/api/orders/7").subset
    assert not rules.for_route("orders", "POST", "/api/orders/7").subset
    assert not rules.for_route("orders", "GET", "/api/orders/7/lines").subset
    assert rules.for_route("", "GET", "/api/orders/{id}").subset  # verify's route template
    assert not rules.for_route("", "GET", "/api/admin/users/1").status
    assert rules.for_route("other", "GET", "/x") == rules.defaults


def test_headers_replace_the_allowlist_while_other_lists_add_up() -> None:
    assert parse_rules(RULES).for_route("", "GET", "/api/orders/1").headers == ("content-type",)


def test_empty_rules_compare_status_content_type_and_body() -> None:
    assert Rules().for_route("any") == RouteRules()
    assert RouteRules().headers == ("content-type",)


def test_the_old_shadow_ignore_list_maps_onto_rules() -> None:
    rules = Rules.from_ignore(("served_by",), ("content-type", "etag")).for_route("r")
    assert rules.ignore == ("served_by",) and rules.headers == ("content-type", "etag")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[defaults]\nignor = ['x']", "unknown key 'ignor'"),
        ("[routes.p]\nsubset = 'yes'", "[routes.'p'] subset: must be true or false"),
        ("[defaults]\nregex_masks = ['(']", "bad regular expression"),
        ("[defaults]\nhtml_masks = ['input[']", "bad CSS selector"),
        ("[defaults]\nignore = ['a..b']", "bad field path 'a..b'"),
        ("[defaults]\ntolerance = -1", "tolerance: must be a non-negative number"),
        ("[defaults\n", "not valid TOML"),
        ("[other]\nx = 1", "unknown top-level key 'other'"),
        ("[defaults]\nignore = 'x'", "ignore: must be a list of strings"),
    ],
)
def test_a_bad_rules_file_fails_with_a_message_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(RulesError, match=None) as info:
        parse_rules(text, source="rules.toml")
    assert message in str(info.value) and str(info.value).startswith("rules.toml")


def test_a_missing_rules_file_is_a_rules_error(tmp_path) -> None:
    with pytest.raises(RulesError, match="cannot read rules file"):
        load_rules(tmp_path / "nope.toml")


def test_a_rules_file_is_read_from_disk(tmp_path) -> None:
    path = tmp_path / "parity.toml"
    path.write_text(RULES)
    assert load_rules(path).source == str(path)


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("updated_at", ("items", 0, "updated_at"), True),  # a bare key: any depth
        ("$.updated_at", ("items", 0, "updated_at"), False),
        ("$.updated_at", ("updated_at",), True),
        ("meta.request_id", ("meta", "request_id"), True),
        ("/meta/request_id", ("meta", "request_id"), True),
        ("/items/*/ts", ("items", 3, "ts"), True),
        ("/items/2/ts", ("items", 3, "ts"), False),
        ("items[*].ts", ("items", 3, "ts"), True),
        ("items.*.ts", ("items", 3, "ts"), True),
        ("**.ts", ("a", "b", 1, "ts"), True),
        ('$["a.b"]', ("a.b",), True),
        ("/a~1b", ("a/b",), True),
    ],
)
def test_field_paths_are_dotted_or_json_pointers_with_wildcards(
    pattern: str, path: tuple, expected: bool
) -> None:
    assert matches(parse(pattern), path) is expected


def test_a_bare_key_means_any_depth() -> None:
    assert parse("updated_at") == (DEEP, "updated_at")
