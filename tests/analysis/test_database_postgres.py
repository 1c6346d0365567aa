"""Schema introspection and analysis against a real PostgreSQL server (`postgres` fixture)."""

import json

import psycopg2
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from analysis.model import ForeignKey
from analysis.sources.database import read_database
from analysis.sources.pg_log import read_pg_log
from analysis.workload import WorkloadBuilder
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


def test_a_real_postgres_server_log_is_read_and_attributed(postgres, tmp_path):
    """log_statement=all on a real server; statements attributed by backend pid (%p)."""
    url = postgres.create_database()
    _create(url)
    parsed = make_url(url)
    admin = postgres.connect()
    with admin.cursor() as cur:
        cur.execute(f"ALTER DATABASE \"{parsed.database}\" SET log_statement = 'all'")
        cur.execute("SELECT current_setting('data_directory'), current_setting('log_line_prefix')")
        data_directory, prefix = cur.fetchone()
    admin.close()
    pids = {}
    open_connections = []
    for unit, statements in {
        "orders": [
            "INSERT INTO customers (name) VALUES ('ada')",
            "INSERT INTO orders (customer_id)\n  SELECT id FROM customers WHERE name = 'ada'",
        ],
        "report": [
            "SELECT c.name, count(*) FROM customers c"
            " JOIN orders o ON o.customer_id = c.id GROUP BY c.name"
        ],
    }.items():
        conn = psycopg2.connect(
            host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database
        )
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pids[str(cur.fetchone()[0])] = unit
            for sql in statements:
                cur.execute(sql)
        open_connections.append(conn)  # kept open so the two sessions never share a pid
    for conn in open_connections:
        conn.close()
    admin = postgres.connect()
    with admin.cursor() as cur:
        cur.execute("SELECT pg_read_file(%s)", (f"{data_directory}/../postgres.log",))
        text = cur.fetchone()[0]
    admin.close()
    log = tmp_path / "postgresql.log"
    log.write_text(text)
    builder = WorkloadBuilder()
    read_pg_log(log, builder, prefix, attribute_by="p")
    workload = builder.build("postgres")
    mine = [o for o in workload.observations if o.endpoint in pids]
    by_unit = {}
    for obs in mine:
        by_unit.setdefault(pids[obs.endpoint], set()).add(obs.fingerprint)
    assert by_unit["orders"] == {
        "SELECT pg_backend_pid()",
        "INSERT INTO customers(name) VALUES(?)",
        "INSERT INTO orders(customer_id) SELECT id FROM customers WHERE name = ?",
    }
    (report,) = by_unit["report"] - {"SELECT pg_backend_pid()"}
    assert workload.shapes[report].joins == {("customers", "orders")}
