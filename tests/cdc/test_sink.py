"""The sink applies events to SQLite and PostgreSQL: exactly-once effect, dead letters."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from cdc.event import ChangeEvent, Message
from cdc.mapping import parse_mapping
from cdc.position import Position
from cdc.sink import Sink
from cdc.transport import Record
from tests.cdc.helpers import event, records, source


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def target_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'target.db'}"
    return request.getfixturevalue("postgres").create_database()


def rows(url: str, table: str) -> list[tuple]:
    with sa.create_engine(url).connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(f'SELECT * FROM "{table}" ORDER BY 1'))]


def test_missing_table_is_created_and_changes_are_applied(target_url):
    sink = Sink(target_url)
    result = sink.apply(
        records(
            [
                event("c", 1, 1, name="Lamp", stock=3),
                event("c", 2, 2, name="Desk", stock=1),
                event("u", 3, 1, name="Lamp", stock=2),
                event("d", 4, 2, name="Desk", stock=1),
            ]
        )
    )
    assert result.applied == 4
    assert rows(target_url, "products") == [(1, "Lamp", 2)]


def test_redelivered_records_are_skipped(target_url):
    sink = Sink(target_url)
    batch = records([event("c", 1, 1, name="a", stock=1), event("u", 2, 1, name="b", stock=2)])
    sink.apply(batch)
    again = sink.apply(batch)
    assert (again.applied, again.skipped) == (0, 2)
    assert sink.offsets() == {("shop.main.products", 0): 2}


def test_republished_events_at_new_offsets_are_skipped_by_position(target_url):
    sink = Sink(target_url)
    sink.apply(records([event("c", 1, 1, name="a", stock=1), event("u", 2, 1, name="b", stock=2)]))
    replay = sink.apply(records([event("c", 1, 1, name="a", stock=1)], start=2))
    assert replay.skipped == 1
    assert rows(target_url, "products") == [(1, "b", 2)]


def test_truncate_empties_the_target_table(target_url):
    sink = Sink(target_url)
    sink.apply(records([event("c", 1, 1, name="a", stock=1)]))
    truncate = ChangeEvent(op="t", source=source(), ts_ms=1, position=Position(2, 0))
    sink.apply(records([truncate], start=1))
    assert rows(target_url, "products") == []


def test_mapping_renames_drops_and_adds_columns(target_url):
    mapping = parse_mapping(
        {
            "tables": {
                "products": {
                    "target": "catalog_items",
                    "rename": {"name": "title"},
                    "drop": ["secret"],
                    "add": {
                        "origin": {"value": "monolith"},
                        "stock_x2": {"expr": "stock * 2", "type": "integer"},
                    },
                }
            }
        }
    )
    sink = Sink(target_url, mapping=mapping)
    sink.apply(records([event("c", 1, 1, name="Lamp", stock=4, secret="x")]))
    with sa.create_engine(target_url).connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM catalog_items")).mappings().one()
    assert dict(row) == {"id": 1, "title": "Lamp", "stock": 4, "origin": "monolith", "stock_x2": 8}


def test_poison_events_go_to_the_dead_letter_table_and_the_rest_applies(target_url):
    mapping = parse_mapping({"tables": {"products": {}}})
    sink = Sink(target_url, mapping=mapping)
    bad_json = Record(Message("shop.main.products", b'{"id":9}', b"{oops"), 0, 1)
    unmapped = records([event("c", 2, 5, table="orders", total=1)], start=0, partition=1)
    good = records([event("c", 3, 1, name="ok", stock=1)], start=2)
    result = sink.apply([bad_json, *unmapped, *good])
    assert (result.applied, result.dead) == (1, 2)
    reasons = sorted(d.reason for d in sink.dead_letters())
    assert reasons[0].startswith("no mapping for table 'orders'")
    assert reasons[1].startswith("not JSON")
    assert rows(target_url, "products") == [(1, "ok", 1)]


def test_a_value_the_target_type_rejects_is_dead_lettered_with_the_column(target_url):
    sink = Sink(target_url)
    sink.apply(records([event("c", 1, 1, name="a", stock=1)]))
    result = sink.apply(records([event("c", 2, 2, name="b", stock="many")], start=1))
    assert result.dead == 1
    (letter,) = sink.dead_letters()
    assert "column 'stock'" in letter.reason and "as int" in letter.reason
    assert json.loads(letter.message.value)["after"]["stock"] == "many"


def test_a_row_the_database_rejects_is_dead_lettered_and_others_in_the_batch_apply(target_url):
    engine = sa.create_engine(target_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"))
    sink = Sink(target_url)
    result = sink.apply(records([event("c", 1, 1, name="a"), event("c", 2, 2, name=None)]))
    assert (result.applied, result.dead) == (1, 1)
    (letter,) = sink.dead_letters()
    assert letter.reason.startswith("target rejected the change")
    assert rows(target_url, "products") == [(1, "a")]


def test_dead_letters_can_be_retried_once_the_cause_is_fixed(target_url):
    engine = sa.create_engine(target_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT)"))
    sink = Sink(target_url)
    sink.apply(records([event("c", 1, 1, name="a", color="red")]))
    assert "no column(s) ['color']" in sink.dead_letters()[0].reason
    assert sink.retry() == (0, 1)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE products ADD COLUMN color TEXT"))
    sink = Sink(target_url)
    assert sink.retry() == (1, 0)
    assert sink.dead_letters() == []
    assert rows(target_url, "products") == [(1, "a", "red")]


def test_copies_take_the_source_tables_types(tmp_path, target_url):
    src = f"sqlite:///{tmp_path / 'src.db'}"
    with sa.create_engine(src).begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE products (id INTEGER PRIMARY KEY, price NUMERIC(10, 2),"
                " added DATE, seen DATETIME)"
            )
        )
    sink = Sink(target_url, source=src)
    e = event("c", 1, 1, price="AV4=", added=19723, seen=1_500_000)
    sink.apply(records([e]))
    import datetime as dt
    from decimal import Decimal

    (row,) = rows(target_url, "products")
    assert row[0] == 1
    assert Decimal(str(row[1])) == Decimal("3.50")
    assert str(row[2]) == str(dt.date(2024, 1, 1))
    assert str(row[3]).startswith("1970-01-01 00:00:01.5")


def test_a_large_batch_upserts_and_deletes_in_bulk_by_single_and_composite_keys(target_url):
    sink = Sink(target_url)
    creates = [event("c", n, n, name=f"p{n}", stock=n) for n in range(1, 2501)]
    updates = [event("u", 2500 + n, n, name=f"q{n}", stock=-n) for n in range(1, 2501, 2)]
    deletes = [event("d", 5000 + n, n, name="", stock=0) for n in range(1, 2501, 3)]
    lines = []
    for n in range(1, 1201):
        image = {"order_id": n // 10, "line": n % 10, "qty": n}
        key = {"order_id": n // 10, "line": n % 10}
        op, before = ("d", image) if n % 4 == 0 else ("c", None)
        after = None if op == "d" else image
        lines.append(
            ChangeEvent(
                op=op,
                source=source("lines"),
                ts_ms=1,
                key=key,
                before=before,
                after=after,
                position=Position(10_000 + n, 0),
            )
        )
    with sa.create_engine(target_url).begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE lines (order_id INTEGER, line INTEGER, qty INTEGER, "
            "PRIMARY KEY (order_id, line))"
        ))  # fmt: skip
    result = sink.apply(records([*creates, *updates, *deletes, *lines]))
    assert result.applied == len(creates) + len(updates) + len(deletes) + len(lines)
    expected = {}
    for n in range(1, 2501):
        if n % 3 != 1:
            expected[n] = (n, f"q{n}", -n) if n % 2 == 1 else (n, f"p{n}", n)
    assert rows(target_url, "products") == [expected[k] for k in sorted(expected)]
    kept = [(n // 10, n % 10, n) for n in range(1, 1201) if n % 4]
    assert sorted(rows(target_url, "lines")) == sorted(kept)


def test_bookkeeping_tables_created_by_another_process_meanwhile_are_no_error(tmp_path):
    """`cdc status` opening the sink while `cdc run` creates its tables: SQLite reports
    "table ... already exists" (an OperationalError) for the loser of that race."""
    import sqlite3

    from cdc import sink_state

    path = tmp_path / "target.db"
    first = sink_state.META.sorted_tables[0]

    def other_process_creates_it(target, connection, **kw):
        ddl = str(sa.schema.CreateTable(target).compile(dialect=connection.dialect))
        with sqlite3.connect(path) as other:
            other.execute(ddl)

    sa.event.listen(first, "before_create", other_process_creates_it, once=True)
    try:
        Sink(f"sqlite:///{path}")
    finally:
        if sa.event.contains(first, "before_create", other_process_creates_it):
            sa.event.remove(first, "before_create", other_process_creates_it)
    assert first.name in sa.inspect(sa.create_engine(f"sqlite:///{path}")).get_table_names()
