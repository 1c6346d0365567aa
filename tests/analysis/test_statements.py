import pytest

from analysis.statements import ShapeError, describe


def test_dml_target_is_written_and_subquery_tables_are_read():
    shape = describe("UPDATE inventory SET qty = qty - 1 WHERE itemid IN (SELECT itemid FROM item)")
    assert shape.kind == "update"
    assert shape.writes == {"inventory"}
    assert shape.reads == {"item"}


def test_cte_names_are_not_tables_but_their_sources_are():
    shape = describe(
        "WITH recent AS (SELECT * FROM orders WHERE created_at > ?) "
        "SELECT c.name FROM recent r JOIN customers c ON c.id = r.customer_id"
    )
    assert shape.reads == {"orders", "customers"}
    assert shape.joins == {("customers", "orders")}


def test_insert_select_union_and_schema_qualified_names():
    sql = "INSERT INTO archive (id) SELECT id FROM sales.orders UNION SELECT id FROM old"
    shape = describe(sql)
    assert shape.writes == {"archive"}
    assert shape.reads == {"sales.orders", "old"}


def test_comma_joins_and_derived_tables_are_join_pairs():
    assert describe("SELECT * FROM a, b WHERE a.id = b.id").joins == {("a", "b")}
    shape = describe("SELECT * FROM a JOIN (SELECT * FROM b JOIN c ON b.x = c.x) d ON a.y = d.y")
    assert shape.joins == {("a", "b"), ("a", "c"), ("b", "c")}


@pytest.mark.parametrize(
    ("sql", "dialect", "kind", "writes", "reads"),
    [
        ("DELETE FROM cart_items WHERE cart_id = ?", None, "delete", {"cart_items"}, set()),
        ("DELETE FROM a USING b WHERE a.x = b.x", "postgres", "delete", {"a"}, {"b"}),
        (
            "INSERT INTO stock (id, qty) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET qty = ?",
            "postgres",
            "upsert",
            {"stock"},
            set(),
        ),
        (
            "INSERT INTO stock (id, qty) VALUES (?, ?) ON DUPLICATE KEY UPDATE qty = ?",
            "mysql",
            "upsert",
            {"stock"},
            set(),
        ),
        (
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET x = s.x",
            None,
            "merge",
            {"t"},
            {"s"},
        ),
        ("UPDATE a SET x = b.x FROM b WHERE a.id = b.id", "postgres", "update", {"a"}, {"b"}),
        ("TRUNCATE TABLE a, b", None, "truncate", {"a", "b"}, set()),
        ("CREATE TABLE x (id int)", None, "ddl", set(), set()),
        ("BEGIN", None, "other", set(), set()),
    ],
)
def test_statement_kinds(sql, dialect, kind, writes, reads):
    shape = describe(sql, dialect)
    assert (shape.kind, shape.writes, shape.reads) == (kind, writes, reads)


def test_unparseable_sql_raises_with_the_parsers_reason():
    with pytest.raises(ShapeError, match="Line 1"):
        describe("SELEC x FROM")
    with pytest.raises(ShapeError, match="Unexpected token"):
        describe("FROBNICATE the database")
