"""SQLite capture: triggers record every committed change, snapshots are chunked and resumable."""

from __future__ import annotations

import json
import sqlite3

import pytest

from cdc.capture_sqlite import SqliteCapture
from cdc.errors import CdcError
from cdc.event import to_messages
from cdc.position import Position


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "shop.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(
        """
        CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
            price NUMERIC(10, 2), added DATE, photo BLOB, active BOOLEAN);
        CREATE TABLE lines (order_id INTEGER, line INTEGER, qty INTEGER,
            PRIMARY KEY (order_id, line));
        CREATE TABLE notes (body TEXT);
        """
    )
    yield f"sqlite:///{path}", conn
    conn.close()


def capture_of(url: str, tables=("products", "lines")) -> SqliteCapture:
    capture = SqliteCapture(url, prefix="shop")
    capture.setup(list(tables))
    return capture


def drain(capture: SqliteCapture, **kw):
    events = []
    while True:
        batch = capture.next_batch(**kw)
        if not batch.events and batch.last_change_id is None and batch.chunk is None:
            return events
        events.extend(batch.events)
        capture.ack(batch)


def test_insert_update_delete_become_c_u_d_with_full_images(source):
    url, conn = source
    capture = capture_of(url)
    conn.execute("INSERT INTO products VALUES (1, 'Lamp', 3.50, '2024-01-01', x'00ff', 1)")
    conn.execute("UPDATE products SET name = 'Desk lamp' WHERE id = 1")
    conn.execute("DELETE FROM products WHERE id = 1")
    create, update, delete = drain(capture)
    assert (create.op, update.op, delete.op) == ("c", "u", "d")
    assert create.after == {
        "id": 1, "name": "Lamp", "price": "AV4=", "added": 19723, "photo": "AP8=", "active": True,
    }  # fmt: skip
    assert update.before["name"] == "Lamp" and update.after["name"] == "Desk lamp"
    assert delete.before["name"] == "Desk lamp" and delete.after is None
    assert create.key == {"id": 1}
    assert create.topic == "shop.main.products"
    assert create.source.connector == "sqlite"
    assert create.position < update.position < delete.position


def test_rolled_back_changes_are_never_captured(source):
    url, conn = source
    capture = capture_of(url)
    conn.execute("BEGIN")
    conn.execute("INSERT INTO products (id, name) VALUES (1, 'ghost')")
    conn.execute("ROLLBACK")
    assert drain(capture) == []


def test_composite_keys_and_key_changes(source):
    url, conn = source
    capture = capture_of(url)
    conn.execute("INSERT INTO lines VALUES (7, 1, 2)")
    conn.execute("UPDATE lines SET line = 2 WHERE order_id = 7")
    create, delete, recreate = drain(capture)
    assert create.key == {"order_id": 7, "line": 1}
    assert (delete.op, delete.key) == ("d", {"order_id": 7, "line": 1})
    assert (recreate.op, recreate.key) == ("c", {"order_id": 7, "line": 2})
    messages = [m for e in (delete, recreate) for m in to_messages(e)]
    assert [m.value is None for m in messages] == [False, True, False]


def test_delivered_changes_are_trimmed_from_the_change_table(source):
    url, conn = source
    capture = capture_of(url)
    conn.executemany("INSERT INTO lines VALUES (?, 1, 1)", [(i,) for i in range(5)])
    batch = capture.next_batch()
    assert len(batch.events) == 5
    assert conn.execute("SELECT COUNT(*) FROM _cdc_changes").fetchone() == (5,)
    capture.ack(batch)
    assert conn.execute("SELECT COUNT(*) FROM _cdc_changes").fetchone() == (0,)
    assert capture.delivered_counts()["lines"] == 5


def test_writes_inside_an_origin_marked_transaction_are_not_captured(source):
    url, conn = source
    capture = capture_of(url)
    conn.execute("BEGIN")
    conn.execute("INSERT INTO _cdc_origin VALUES ('sink')")
    conn.execute("INSERT INTO lines VALUES (1, 1, 1)")
    conn.execute("DELETE FROM _cdc_origin")
    conn.execute("COMMIT")
    conn.execute("INSERT INTO lines VALUES (2, 1, 1)")
    assert [e.key for e in drain(capture)] == [{"order_id": 2, "line": 1}]


def test_snapshot_reads_existing_rows_in_chunks_as_r_events(source):
    url, conn = source
    conn.executemany(
        "INSERT INTO lines VALUES (?, ?, 1)", [(o, n) for o in range(5) for n in (1, 2)]
    )
    capture = capture_of(url)
    capture.request_snapshot()
    events = drain(capture, chunk_rows=3)
    assert [e.op for e in events] == ["r"] * 10
    assert [e.key for e in events][:3] == [
        {"order_id": 0, "line": 1}, {"order_id": 0, "line": 2}, {"order_id": 1, "line": 1},
    ]  # fmt: skip
    positions = [e.position for e in events]
    assert positions == sorted(positions) and len(set(positions)) == 10
    assert events[0].source.snapshot == "first_in_data_collection"


def test_snapshot_chunks_follow_changes_so_streaming_hands_off_without_loss(source):
    url, conn = source
    conn.executemany("INSERT INTO lines VALUES (?, 1, 0)", [(i,) for i in range(4)])
    capture = capture_of(url)
    capture.request_snapshot(["lines"])
    first = capture.next_batch(chunk_rows=2)
    capture.ack(first)
    conn.execute("UPDATE lines SET qty = 9 WHERE order_id = 3")  # not yet snapshotted
    conn.execute("UPDATE lines SET qty = 8 WHERE order_id = 0")  # already snapshotted
    rest = drain(capture, chunk_rows=2)
    assert [(e.op, e.key["order_id"]) for e in rest][:2] == [("u", 3), ("u", 0)]
    snap3 = next(e for e in rest if e.op == "r" and e.key["order_id"] == 3)
    assert snap3.after["qty"] == 9  # the chunk shows the row as of its read
    assert snap3.position > rest[1].position


def test_an_unacknowledged_chunk_is_read_again_and_finished_chunks_are_not(source):
    url, conn = source
    conn.executemany("INSERT INTO lines VALUES (?, 1, 0)", [(i,) for i in range(6)])
    capture = capture_of(url)
    capture.request_snapshot()
    capture.ack(capture.next_batch(chunk_rows=2))
    lost = capture.next_batch(chunk_rows=2)  # "crash": never acknowledged
    capture.close()
    again = SqliteCapture(url, prefix="shop")
    events = drain(again, chunk_rows=2)
    assert [e.key["order_id"] for e in events] == [2, 3, 4, 5]
    assert [e.position for e in events[:2]] == [e.position for e in lost.events]


def test_setup_refuses_tables_without_a_primary_key_or_missing(source):
    url, _ = source
    capture = SqliteCapture(url, prefix="shop")
    with pytest.raises(CdcError, match="no primary key"):
        capture.setup(["notes"])
    with pytest.raises(CdcError, match="does not exist"):
        capture.setup(["nope"])


def test_teardown_removes_triggers_and_tables(source):
    url, conn = source
    capture = capture_of(url)
    capture.teardown()
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE '_cdc%'")}
    assert names == set()
    conn.execute("INSERT INTO lines VALUES (1, 1, 1)")  # no trigger left to fail


def test_unknown_sqlite_file_is_a_clear_error(tmp_path):
    with pytest.raises(CdcError, match="does not exist"):
        SqliteCapture(f"sqlite:///{tmp_path / 'none.db'}")


def test_positions_are_unique_per_event(source):
    url, conn = source
    capture = capture_of(url)
    conn.execute("INSERT INTO lines VALUES (1, 1, 1)")
    conn.execute("UPDATE lines SET line = 5")
    events = drain(capture)
    assert len({e.position for e in events}) == len(events)
    assert events[0].position == Position(1, 0)
    assert json.loads(events[0].source.sequence) == ["1", "0"]
