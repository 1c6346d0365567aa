"""Schema introspection and analysis against a real PostgreSQL server (`postgres` fixture)."""

import json

import psycopg2
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from analysis.model import ForeignKey
from analysis.sources.database import read_database
from strangler.cli import main

DDL = """
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers(id));
CREATE TABLE order_lines (
  order_id int REFERENCES orders(id), sku text, PRIMARY KEY (order_id, sku)
);
"""


def _create(url: str) -> None:
    parsed = make_url(url)
    conn = psycopg2.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(DDL)
    conn.close()


def test_postgres_schema_is_introspected_with_composite_keys(postgres):
    url = postgres.create_database()
    _create(url)
    schema = read_database(url)
    assert schema.tables == ("customers", "order_lines", "orders")
    assert schema.primary_keys["order_lines"] == ("order_id", "sku")
    assert set(schema.foreign_keys) == {
        ForeignKey("orders", ("customer_id",), "customers", ("id",)),
        ForeignKey("order_lines", ("order_id",), "orders", ("id",)),
    }


def test_schema_only_analysis_of_a_live_postgres_database(postgres, tmp_path):
    url = postgres.create_database()
    _create(url)
    result = CliRunner().invoke(main, ["analyze", "--db", url, "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["mode"] == "schema-only"
    assert report["tables"]["order_lines"]["context"] == report["tables"]["orders"]["context"]
    assert report["tables"]["orders"]["owner_basis"] == "schema"
