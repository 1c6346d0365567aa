"""Reading a report and picking a context: clear one-line errors for bad input."""

import json

import pytest

from scaffold.errors import ScaffoldError
from scaffold.report import load_report, select_context

REPORT = {
    "version": 1,
    "contexts": [
        {"name": "orders", "tables": ["orders", "lines"], "endpoints": ["GET /orders"]},
        {"name": "audit", "tables": ["audit"], "endpoints": []},
    ],
    "endpoints": {"GET /orders": {"context": "orders", "reads": ["lines", "orders"], "writes": []}},
    "extraction_plan": [{
        "context": "orders", "cdc_streams": ["orders"],
        "foreign_keys_to_cut": [
            {"table": "x", "columns": ["order_id"], "ref_table": "orders", "ref_columns": ["id"]}
        ],
    }],
}  # fmt: skip


def test_a_context_comes_with_its_tables_endpoints_and_boundary_work() -> None:
    spec = select_context(REPORT, "orders")
    assert spec.tables == ("lines", "orders")
    assert spec.endpoints == ("GET /orders",)
    assert spec.use_of("GET /orders") == (("lines", "orders"), ())
    assert spec.cdc_streams == ("orders",)
    assert spec.foreign_keys_to_cut[0].ref_table == "orders"


def test_an_unknown_context_is_an_error_listing_the_known_ones() -> None:
    with pytest.raises(ScaffoldError, match=r"no context 'billing' \(known: audit, orders\)"):
        select_context(REPORT, "billing")


def test_malformed_json_is_a_one_line_error(tmp_path) -> None:
    path = tmp_path / "report.json"
    path.write_text('{"version": 1, "contexts": [')
    with pytest.raises(ScaffoldError, match="not JSON") as info:
        load_report(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"tables": {}}, "not an analysis report"),
        ({"version": 7, "contexts": []}, "version 7 is not supported"),
        ({"version": 1, "contexts": [{"name": "x"}]}, r"contexts\[0\] needs a name"),
    ],
)
def test_a_file_that_is_not_a_report_is_named(tmp_path, data, message) -> None:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ScaffoldError, match=message):
        load_report(path)


def test_a_missing_report_is_named(tmp_path) -> None:
    with pytest.raises(ScaffoldError, match="no such file"):
        load_report(tmp_path / "nope.json")
