import random

import pytest

import analysis.fingerprint as fingerprint_module
from analysis.fingerprint import fingerprint, fingerprint_many
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


_ODD = [
    "SELECT a FROM t WHERE id = 5",
    "SELECT 'it''s', 3.5e2, -7, x1.2 FROM t1 WHERE b IN (1, 2,3)",
    "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')",
    "SELECT $1, :name, %s, ? /* c */ -- d",
    "SELECT E'a\\n', e'b', N'c', 'name', X'ff' FROM t",
    "SELECT 'unterminated",
    "SELECT $$ 'odd $$, '٣', ٣, 'é'",
    "SELECT a\n  FROM t WHERE b = 'x\ny'",
    "select\tname from  t\rwhere  id=42;",
    "",
]


def test_fingerprint_many_is_fingerprint_of_each():
    assert fingerprint_many(_ODD) == [fingerprint(sql) for sql in _ODD]
    assert fingerprint_many([]) == []
    cache: dict[str, str] = {}
    assert fingerprint_many(_ODD, cache) == [fingerprint(sql) for sql in _ODD]
    assert cache["SELECT $1, :name, %s, ? /* c */ -- d"] == fingerprint(_ODD[3])


def test_fingerprint_many_agrees_on_random_statements():
    # seeded: literals, placeholders, comments, prefixes, newlines and odd quotes mixed,
    # many statements at once (one statement's text must never leak into the next)
    rng = random.Random(5)
    atoms = ["SELECT", " ", "a", "col_1", "t2", "1", "23", "4.5", "1e3", "'", "''", "'x'",
             "E'y'", "b'", "?", "$1", "$a$", ":x", "::int", "--", "/*", "*/", "\n", "(",
             ")", ",", " IN (1, 2)", ".", "٣", "é1", "-", ";"]  # fmt: skip
    for _ in range(300):
        batch = [
            "".join(rng.choice(atoms) for _ in range(rng.randint(0, 20)))
            for _ in range(rng.randint(1, 20))
        ]
        assert fingerprint_many(batch) == [fingerprint(sql) for sql in batch]


def test_fingerprint_many_by_skeleton_keeps_the_digits_of_names(monkeypatch):
    # Thousands of texts of a few shapes: numbers are then replaced once per skeleton
    # (digits made 0) and digits of names; names differing only in digits (col_17 and
    # col_18, t1 and t2) share a skeleton and must still give different fingerprints.
    monkeypatch.setattr(fingerprint_module, "_SKELETONS", {})
    rng = random.Random(3)
    templates = [
        "SELECT a.col_{0}, b.x{1} FROM t{1} a JOIN t{0} b ON b.id = a.id WHERE a.v = {2}",
        "UPDATE t{0} SET col_{1} = {2}, y = 'it''s {2}' WHERE id = {3}.5e{0} AND z = -{3}",
        "INSERT INTO t{0} (c{1}) VALUES ({2}), ({3})",
        "SELECT * FROM t{0} WHERE x IN ({2}, {3}) AND t{0}.c_{1} > {2}.{3} LIMIT {1}",
    ]
    texts = [
        rng.choice(templates).format(
            rng.choice([1, 2, 17, 18]),
            rng.choice([3, 4]),
            rng.randint(100, 999),
            rng.randint(10, 99),
        )
        for _ in range(3000)
    ]
    assert fingerprint_many(texts) == [fingerprint(sql) for sql in texts]
    assert fingerprint_module._SKELETONS  # the skeleton path was taken
    assert len(set(fingerprint_many(texts))) == len({fingerprint(sql) for sql in texts}) > 20
    monkeypatch.setattr(fingerprint_module, "_SKELETON_LIMIT", 10)  # a full cache starts over
    assert fingerprint_many(texts[:500]) == [fingerprint(sql) for sql in texts[:500]]
