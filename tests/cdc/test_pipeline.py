"""End to end: SQLite capture -> embedded log -> sink, forward and in reverse at once."""

from __future__ import annotations

import random
import sqlite3
import threading

import pytest

from cdc.capture_sqlite import SqliteCapture
from cdc.pipeline import Options, Pipeline
from cdc.sink import Sink
from cdc.transport_embedded import EmbeddedLog
from tests.cdc.helpers import checksum

DDL = """
CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(10, 2),
                       added DATE, active BOOLEAN);
CREATE TABLE lines (order_id INTEGER, line INTEGER, qty INTEGER, PRIMARY KEY (order_id, line));
"""


def make_db(path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(DDL)
    return conn


def drain(pipeline: Pipeline) -> None:
    pipeline.run(threading.Event(), until_idle=True, idle_sleep_s=0.01)


def workload(conn: sqlite3.Connection, rng: random.Random, steps: int) -> None:
    for _ in range(steps):
        pick = rng.random()
        key = rng.randrange(60)
        conn.execute("BEGIN")
        if pick < 0.4:
            conn.execute(
                "INSERT OR REPLACE INTO products VALUES (?, ?, ?, '2024-02-03', ?)",
                (key, f"p{rng.randrange(999)}", rng.randrange(10000) / 100, rng.random() < 0.5),
            )
        elif pick < 0.6:
            bump = "UPDATE products SET price = ROUND(price + 1, 2) WHERE id % 7 = ?"
            conn.execute(bump, (key % 7,))
        elif pick < 0.7:
            conn.execute("DELETE FROM products WHERE id = ?", (key,))
        elif pick < 0.9:
            conn.execute("INSERT OR REPLACE INTO lines VALUES (?, ?, ?)", (key, key % 3, key))
        else:
            conn.execute("UPDATE OR IGNORE lines SET line = line + 10 WHERE order_id = ?", (key,))
        conn.execute("ROLLBACK" if rng.random() < 0.1 else "COMMIT")


@pytest.fixture
def forward(tmp_path):
    src_path, dst_path = tmp_path / "mono.db", tmp_path / "svc.db"
    conn = make_db(src_path)
    conn.executemany(
        "INSERT INTO products VALUES (?, ?, 1.5, '2024-01-01', 1)",
        [(i, f"seed{i}") for i in range(30)],
    )
    capture = SqliteCapture(f"sqlite:///{src_path}", prefix="mono")
    capture.setup(["products", "lines"])
    log = EmbeddedLog(tmp_path / "log.db")
    sink = Sink(f"sqlite:///{dst_path}", source=f"sqlite:///{src_path}", pipeline="fwd")
    pipeline = Pipeline(log, capture=capture, sink=sink, options=Options(batch=50, chunk_rows=7))
    yield conn, pipeline, f"sqlite:///{src_path}", f"sqlite:///{dst_path}"
    pipeline.close()
    conn.close()


def test_initial_snapshot_then_streaming_makes_the_target_equal(forward):
    conn, pipeline, src, dst = forward
    pipeline.start()
    workload(conn, random.Random(1), 50)  # changes before and during the snapshot
    pipeline.step()
    workload(conn, random.Random(2), 300)
    drain(pipeline)
    for table, key in (("products", "id"), ("lines", "order_id, line")):
        assert checksum(src, table, key) == checksum(dst, table, key)


def test_a_restarted_pipeline_resumes_without_loss_or_duplicate_effect(forward, tmp_path):
    conn, pipeline, src, dst = forward
    pipeline.start()
    workload(conn, random.Random(3), 200)
    for _ in range(3):
        pipeline.step()
    pipeline.close()
    again = Pipeline(
        EmbeddedLog(tmp_path / "log.db"),
        capture=SqliteCapture(src, prefix="mono"),
        sink=Sink(dst, pipeline="fwd"),
    )
    workload(conn, random.Random(4), 200)
    drain(again)
    assert checksum(src, "products") == checksum(dst, "products")
    assert checksum(src, "lines", "order_id, line") == checksum(dst, "lines", "order_id, line")


def test_reverse_sync_with_both_directions_live_never_loops(forward, tmp_path):
    conn, pipeline, src, dst = forward
    drain(pipeline)  # the service database now has its copy
    svc_capture = SqliteCapture(dst, prefix="svc")
    svc_capture.setup(["products"])
    back = Pipeline(
        EmbeddedLog(tmp_path / "back.db"),
        capture=svc_capture,
        sink=Sink(src, pipeline="rev"),
    )
    back.capture.conn.execute("INSERT INTO _cdc_state VALUES ('delivered', '0')")  # no snapshot
    svc = sqlite3.connect(dst.removeprefix("sqlite:///"), isolation_level=None)
    conn.execute("UPDATE products SET name = 'from monolith' WHERE id = 1")
    svc.execute("UPDATE products SET name = 'from service' WHERE id = 2")
    svc.execute("INSERT INTO products VALUES (500, 'new in service', 2.0, '2024-05-01', 1)")
    for _ in range(5):
        drain(pipeline)
        drain(back)
    assert checksum(src, "products") == checksum(dst, "products")
    names = dict(conn.execute("SELECT id, name FROM products WHERE id IN (1, 2, 500)").fetchall())
    assert names == {1: "from monolith", 2: "from service", 500: "new in service"}
    # Quiet afterwards: the sinks' own writes were not captured again.
    assert pipeline.step().published == 0
    assert back.step().published == 0
    assert pipeline.capture.pending_changes() == {}
    assert svc_capture.pending_changes() == {}
    svc.close()


def test_group_offsets_are_committed_by_the_time_the_pipeline_closes(forward):
    conn, pipeline, _, _ = forward
    workload(conn, random.Random(5), 100)
    drain(pipeline)
    pipeline.close()
    ends = pipeline.transport.end_offsets(pipeline.topics)
    committed = pipeline.transport.committed("strangler-sink", pipeline.topics)
    assert committed == {tp: offset for tp, offset in ends.items() if offset}
