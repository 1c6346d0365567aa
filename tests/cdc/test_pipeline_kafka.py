"""SQLite capture -> Apache Kafka -> PostgreSQL sink, on real services."""

from __future__ import annotations

import random
import sqlite3
import threading
import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa

from cdc.capture_sqlite import SqliteCapture
from cdc.pipeline import Options, Pipeline
from cdc.sink import Sink
from cdc.transport_kafka import KafkaTransport
from tests.cdc.test_pipeline import DDL, workload


def rows(url: str, table: str, order: str) -> list[tuple[str, ...]]:
    with sa.create_engine(url).connect() as conn:
        result = conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY {order}"))
        return [tuple(str(v) for v in r) for r in result]


# The timeout turns a regression of the old hang (a group member that never got its
# partitions; fixed by assigning them directly) into a failure, not a stalled suite.
@pytest.mark.timeout(120)
def test_changes_flow_through_kafka_into_postgres(tmp_path, kafka, postgres):
    src_path = tmp_path / "mono.db"
    conn = sqlite3.connect(src_path, isolation_level=None)
    conn.executescript(DDL)
    conn.executemany(
        "INSERT INTO products VALUES (?, ?, 1.5, '2024-01-01', 1)",
        [(i, f"s{i}") for i in range(40)],
    )
    src = f"sqlite:///{src_path}"
    capture = SqliteCapture(src, prefix=f"k{uuid.uuid4().hex[:8]}")
    capture.setup(["products", "lines"])
    dst = postgres.create_database()
    pipeline = Pipeline(
        KafkaTransport(kafka.bootstrap, partitions=3),
        capture=capture,
        sink=Sink(dst, source=src),
        options=Options(batch=200, chunk_rows=16),
    )
    pipeline.start()
    workload(conn, random.Random(7), 300)
    pipeline.run(threading.Event(), until_idle=True, idle_sleep_s=0.05)
    pipeline.close()
    assert products(src) == products(dst)
    assert rows(dst, "lines", "1, 2") == rows(src, "lines", "1, 2")


def products(url: str) -> list[tuple]:
    """Rows as comparable values: SQLite keeps 1.5 where PostgreSQL numeric(10,2) has 1.50."""
    with sa.create_engine(url).connect() as conn:
        result = conn.execute(sa.text("SELECT id, name, price, added, active FROM products"))
        return sorted(
            (r[0], r[1], None if r[2] is None else Decimal(str(r[2])), str(r[3]), bool(r[4]))
            for r in result
        )
