"""Build analyses from plain (endpoint, sql) pairs, without files."""

from __future__ import annotations

from analysis.access import AccessModel, build_access
from analysis.cluster import DEFAULT_RESOLUTION, communities
from analysis.contexts import Assignment, assign
from analysis.graph import table_graph
from analysis.overrides import Overrides
from analysis.sources.ddl import schema_from_text
from analysis.sources.pg_log_lines import Part
from analysis.workload import WorkloadBuilder

SHOP = [
    ("GET /customers/<id>", "SELECT * FROM customers c JOIN addresses a ON a.customer_id = c.id"),
    ("POST /customers", "INSERT INTO customers (name) VALUES (?)"),
    ("POST /customers", "INSERT INTO addresses (customer_id, city) VALUES (?, ?)"),
    ("PUT /addresses/<id>", "UPDATE addresses SET city = ? WHERE id = ?"),
    ("GET /products", "SELECT * FROM products p JOIN categories c ON c.id = p.category_id"),
    ("POST /products", "INSERT INTO products (name, category_id) VALUES (?, ?)"),
    ("POST /categories", "INSERT INTO categories (name) VALUES (?)"),
    ("GET /stock/<id>", "SELECT * FROM stock_levels s JOIN warehouses w ON w.id = s.warehouse_id"),
    ("POST /stock/<id>/receive", "UPDATE stock_levels SET qty = qty + ? WHERE id = ?"),
    ("POST /stock/<id>/receive", "INSERT INTO stock_movements (stock_id, qty) VALUES (?, ?)"),
    ("POST /warehouses", "INSERT INTO warehouses (name) VALUES (?)"),
    ("GET /orders/<id>", "SELECT * FROM orders o JOIN order_lines l ON l.order_id = o.id"),
    ("POST /checkout", "INSERT INTO orders (customer_id) VALUES (?)"),
    ("POST /checkout", "INSERT INTO order_lines (order_id, product_id) VALUES (?, ?)"),
    ("POST /checkout", "UPDATE stock_levels SET qty = qty - ? WHERE product_id = ?"),
    ("POST /checkout", "SELECT * FROM products p JOIN customers c ON c.id = ?"),
    ("GET /orders", "SELECT * FROM orders o JOIN order_lines l ON l.order_id = o.id"),
    ("PUT /orders/<id>/cancel", "UPDATE orders SET status = ? WHERE id = ?"),
]
SHOP_DDL = """
CREATE TABLE customers (id int PRIMARY KEY);
CREATE TABLE addresses (id int, customer_id int REFERENCES customers(id));
CREATE TABLE categories (id int PRIMARY KEY);
CREATE TABLE products (id int, category_id int REFERENCES categories(id));
CREATE TABLE warehouses (id int PRIMARY KEY);
CREATE TABLE stock_levels (id int, warehouse_id int REFERENCES warehouses(id),
  product_id int REFERENCES products(id));
CREATE TABLE stock_movements (id int, stock_id int REFERENCES stock_levels(id));
CREATE TABLE orders (id int, customer_id int REFERENCES customers(id));
CREATE TABLE order_lines (id int, order_id int REFERENCES orders(id),
  product_id int REFERENCES products(id));
CREATE TABLE legacy_flags (id int);
"""


def model_of(
    pairs: list[tuple[str, str]], ddl: str | None = None, overrides: Overrides | None = None
) -> AccessModel:
    builder = WorkloadBuilder()
    for endpoint, sql in pairs:
        builder.add(endpoint, sql)
    overrides = overrides or Overrides()
    schema = schema_from_text(ddl, None) if ddl else None
    workload = builder.build(None) if pairs else None
    return build_access(schema, workload, overrides.ignore, overrides.ignore_endpoints)


def split_of(model: AccessModel, overrides: Overrides | None = None) -> Assignment:
    overrides = overrides or Overrides()
    graph = table_graph(model)
    groups = communities(graph, overrides.resolution or DEFAULT_RESOLUTION, 42, overrides.contexts)
    return assign(model, graph, groups, overrides)


def assert_same_scans(fast: list[Part], slow: list[Part]) -> None:
    """Two readings of the same log ranges (pg_log._scan) counted, sampled and located the
    same statements, in the same order."""
    for one, other in zip(fast, slow, strict=True):
        assert list(one.counts.items()) == list(other.counts.items())
        assert list(one.samples.items()) == list(other.samples.items())
        assert list(one.sources.items()) == list(other.sources.items())
        assert (one.statements, one.malformed, one.rejected) == (
            other.statements,
            other.malformed,
            other.rejected,
        )
