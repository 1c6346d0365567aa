from pathlib import Path

import pytest

from analysis.errors import AnalysisError
from analysis.model import ForeignKey
from analysis.sources.ddl import read_schema_path, schema_from_text

DATA = Path(__file__).parent / "data"


def test_inline_table_level_and_alter_foreign_keys_are_found():
    schema = schema_from_text(
        "CREATE TABLE customers (id int PRIMARY KEY);\n"
        "CREATE TABLE orders (id int, customer_id int REFERENCES customers(id),"
        " PRIMARY KEY (id));\n"
        "CREATE TABLE order_lines (order_id int, product_id int,"
        " FOREIGN KEY (order_id) REFERENCES orders (id));\n"
        "ALTER TABLE order_lines ADD CONSTRAINT fk_p"
        " FOREIGN KEY (product_id) REFERENCES products(id);",
        "postgres",
    )
    assert schema.tables == ("customers", "order_lines", "orders")
    assert schema.primary_keys["orders"] == ("id",)
    assert set(schema.foreign_keys) == {
        ForeignKey("orders", ("customer_id",), "customers", ("id",)),
        ForeignKey("order_lines", ("order_id",), "orders", ("id",)),
        ForeignKey("order_lines", ("product_id",), "products", ("id",)),
    }


def test_one_unparseable_statement_does_not_lose_the_others():
    schema = schema_from_text(
        "CREATE TABLE a (id int);\nTHIS IS NOT SQL;\n"
        "DROP TABLE x IF EXISTS;\nCREATE TABLE b (id int);",
        None,
    )
    assert schema.tables == ("a", "b")
    assert schema.statements == 4
    assert len(schema.unparsed) == 2
    assert schema.unparsed[0].source == "<ddl>:2"
    assert schema.unparsed[0].reason == "not a SQL statement"
    assert "Unexpected token" in schema.unparsed[1].reason


def test_dialect_specific_table_options_are_recovered():
    schema = schema_from_text(
        "CREATE TABLE b (id int, x_id int REFERENCES x(id)) ENGINE=InnoDB FROBNICATE;", None
    )
    assert schema.tables == ("b",)
    assert schema.foreign_keys == (ForeignKey("b", ("x_id",), "x", ("id",)),)


def test_mysql_petclinic_schema_reads_with_all_keys():
    schema = read_schema_path(DATA / "petclinic" / "schema.sql", "mysql")
    assert len(schema.tables) == 7
    assert len(schema.foreign_keys) == 5
    assert not schema.unparsed


def test_a_folder_of_ddl_files_is_read_whole(tmp_path):
    (tmp_path / "01.sql").write_text("CREATE TABLE a (id int);")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "02.sql").write_text("CREATE TABLE b (a_id int REFERENCES a(id));")
    assert read_schema_path(tmp_path, None).tables == ("a", "b")


def test_missing_empty_and_tableless_schemas_are_clear_errors(tmp_path):
    with pytest.raises(AnalysisError, match="no such file"):
        read_schema_path(tmp_path / "nope.sql", None)
    with pytest.raises(AnalysisError, match=r"no \.sql files"):
        read_schema_path(tmp_path, None)
    (tmp_path / "empty.sql").write_text("  \n-- only a comment\n")
    with pytest.raises(AnalysisError, match="empty input"):
        read_schema_path(tmp_path / "empty.sql", None)
    (tmp_path / "garbage.sql").write_text("hello world;")
    with pytest.raises(AnalysisError, match="creates a table"):
        read_schema_path(tmp_path / "garbage.sql", None)
