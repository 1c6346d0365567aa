import re
from pathlib import Path

import pytest

from analysis.pipeline import Inputs, run
from analysis.render_cml import cml_id, context_map_cml
from analysis.render_dot import contexts_dot, quote, tables_dot
from analysis.render_md import report_markdown
from analysis.report import build_report

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def jpetstore():
    app = DATA / "jpetstore"
    return run(Inputs(schema=(app / "schema.sql",), sql_dirs=(app / "actions",)))


def test_table_graph_has_one_cluster_per_context(jpetstore):
    dot = tables_dot(jpetstore)
    assert dot.count('subgraph "cluster_') == len(jpetstore.split.contexts)
    for context in jpetstore.split.contexts:
        assert f"label={quote(context.name)}" in dot


def test_shared_tables_are_highlighted_in_the_table_graph():
    app = DATA / "petclinic"
    analysis = run(Inputs(logs=(app / "traffic.jsonl",), dialect="mysql"))
    assert not any(info.shared for info in analysis.split.tables.values())
    assert "shared," not in tables_dot(analysis)


def test_context_map_labels_what_crosses_each_dependency(jpetstore):
    dot = contexts_dot(jpetstore)
    assert dot.startswith("digraph contexts {")
    # the order action writes inventory, which lives in the catalog context
    assert re.search(r'-> "[a-z]+" \[label="writes inventory', dot)


def test_dot_quoting_escapes_quotes_and_newlines():
    assert quote('a "b"\nc') == '"a \\"b\\"\\nc"'


def test_cml_export_has_a_bounded_context_per_context_with_valid_identifiers(jpetstore):
    cml = context_map_cml(jpetstore)
    assert cml.count("BoundedContext ") == len(jpetstore.split.contexts)
    assert "ContextMap SuggestedContextMap {" in cml
    assert "Entity Lineitem {" in cml
    for ident in re.findall(r"(?:BoundedContext|Aggregate|Entity) (\S+) \{", cml):
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", ident), ident
    assert re.search(r"\w+Context \[U\]->\[D\] \w+Context", cml)


def test_cml_identifiers_are_camel_case():
    assert cml_id("stock_levels") == "StockLevels"
    assert cml_id("sales.order-lines") == "SalesOrderLines"
    assert cml_id("2fa_codes") == "T2faCodes"


def test_markdown_report_has_every_section(jpetstore):
    text = report_markdown(build_report(jpetstore))
    for heading in ("## Contexts", "## Table ownership", "## Findings",
                    "## Extraction plan", "## Metrics"):  # fmt: skip
        assert heading in text
    assert "saga candidate" in text
