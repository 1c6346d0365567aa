"""Report endpoint names become Flask rules, router templates and handler names."""

from scaffold.endpoints import Endpoint, Skipped, parse_endpoint, parse_endpoints


def test_a_flask_endpoint_keeps_its_converters() -> None:
    e = parse_endpoint("GET /api/carts/<int:cart_id>/items/<int:item_id>")
    assert isinstance(e, Endpoint)
    assert e.rule == "/api/carts/<int:cart_id>/items/<int:item_id>"
    assert e.template == "/api/carts/{cart_id}/items/{item_id}"
    assert e.sample == "/api/carts/1/items/1"
    assert e.handler == "get_api_carts_cart_id_items_item_id"


def test_spring_and_rails_parameters_become_flask_parameters() -> None:
    spring = parse_endpoint("POST /loans/{loanId}/return")
    rails = parse_endpoint("DELETE /copies/:id")
    assert isinstance(spring, Endpoint) and isinstance(rails, Endpoint)
    assert (spring.rule, spring.template) == ("/loans/<loanId>/return", "/loans/{loanId}/return")
    assert (rails.rule, rails.template, rails.handler) == (
        "/copies/<id>",
        "/copies/{id}",
        "delete_copies_id",
    )


def test_a_code_unit_that_is_not_an_http_endpoint_is_skipped_with_a_reason() -> None:
    skipped = parse_endpoint("nightly-dunning")
    assert isinstance(skipped, Skipped)
    assert "not an HTTP endpoint" in skipped.reason


def test_handler_names_stay_unique() -> None:
    endpoints, _ = parse_endpoints(["GET /a-b", "GET /a_b", "GET /"])
    assert [e.handler for e in endpoints] == ["get_root", "get_a_b", "get_a_b_2"]


def test_endpoints_are_ordered_by_path_then_method() -> None:
    endpoints, _ = parse_endpoints(["POST /b", "GET /b", "GET /a"])
    assert [e.key for e in endpoints] == ["GET /a", "GET /b", "POST /b"]


def test_the_services_own_probe_paths_get_no_stub() -> None:
    endpoints, skipped = parse_endpoints(["GET /health", "GET /ready", "GET /healthz"])
    assert [e.key for e in endpoints] == ["GET /healthz"]
    assert [s.reason for s in skipped] == ["the service's own probe answers this path"] * 2
