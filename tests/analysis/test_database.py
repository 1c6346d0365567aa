import sqlite3

import pytest

from analysis.errors import AnalysisError
from analysis.model import ForeignKey
from analysis.sources.database import read_database


def test_sqlite_database_is_introspected_with_keys(tmp_path):
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);"
            "CREATE TABLE orders (id INTEGER PRIMARY KEY,"
            " customer_id INTEGER REFERENCES customers(id));"
        )
    schema = read_database(f"sqlite:///{path}")
    assert schema.tables == ("customers", "orders")
    assert schema.columns["orders"] == ("id", "customer_id")
    assert schema.primary_keys["customers"] == ("id",)
    assert schema.foreign_keys == (ForeignKey("orders", ("customer_id",), "customers", ("id",)),)


def test_missing_file_bad_url_and_empty_database_are_clear_errors(tmp_path):
    with pytest.raises(AnalysisError, match="no such SQLite database file"):
        read_database(f"sqlite:///{tmp_path}/missing.db")
    with pytest.raises(AnalysisError, match="not a database URL"):
        read_database("just words")
    with pytest.raises(AnalysisError, match="unsupported database URL"):
        read_database("nosuchdb://host/db")
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    with pytest.raises(AnalysisError, match="has no tables"):
        read_database(f"sqlite:///{empty}")
