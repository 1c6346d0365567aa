import pytest

from analysis.fingerprint import fingerprint
from analysis.statements import describe


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT name FROM products WHERE id = ?",
        "SELECT name FROM products WHERE id = $1",
        "SELECT name FROM products WHERE id = %s",
        "SELECT name FROM products WHERE id = %(product_id)s",
        "SELECT name FROM products WHERE id = :product_id",
        "SELECT name FROM products WHERE id = #{productId}",
        "SELECT name FROM products WHERE id = ${productId}",
        "SELECT name FROM products WHERE id = 42",
        "select  name\n FROM products   where id = 42 -- hot path",
    ],
)
def test_every_placeholder_style_gives_the_same_parseable_shape(sql):
    assert fingerprint(sql).lower() == "select name from products where id = ?"
    assert describe(fingerprint(sql)).reads == {"products"}


def test_string_literals_with_quotes_and_comment_markers_are_one_placeholder():
    sql = "SELECT id FROM notes WHERE body = 'it''s -- not a comment' AND tag = 'a'"
    assert fingerprint(sql) == "SELECT id FROM notes WHERE body = ? AND tag = ?"


def test_in_lists_and_multi_row_values_collapse_to_one_shape():
    assert fingerprint("SELECT * FROM t WHERE id IN (1, 2, 3)") == fingerprint(
        "SELECT * FROM t WHERE id IN (7)"
    )
    assert fingerprint("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')") == fingerprint(
        "INSERT INTO t (a, b) VALUES (?, ?)"
    )


def test_casts_and_identifiers_with_digits_are_kept():
    fp = fingerprint("SELECT t1.total::numeric FROM orders_2024 t1 WHERE t1.id = 5")
    assert fp == "SELECT t1.total::numeric FROM orders_2024 t1 WHERE t1.id = ?"
