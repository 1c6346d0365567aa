"""Real Debezium beside ours: same database, same broker, same changes.

Kafka Connect (standalone worker) runs Debezium's PostgreSQL connector
(io.debezium:debezium-connector-postgres from Maven Central, resolved by `make services`
from scripts/debezium/pom.xml into a cache outside the repository) against a throwaway
database. Our sink applies Debezium's topic into a second database, which must equal the
source; and our pgoutput capture's events for the same changes must equal Debezium's
field by field, apart from times, positions and the connector's name and version.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from cdc.capture_pg import PgCapture
from cdc.event import from_message
from cdc.pipeline import Pipeline
from cdc.sink import Sink
from cdc.transport_kafka import KafkaTransport
from tests.cdc.debezium import start_connect
from tests.cdc.helpers import checksum

DDL = """CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL, price numeric(10, 2),
added date, ok boolean, seen timestamptz, doc jsonb)"""


@pytest.fixture
def connect(tmp_path, kafka, postgres):
    """Start a Connect worker running Debezium on a fresh database; yield its facts."""
    src = postgres.create_database()
    with sa.create_engine(src).begin() as conn:
        conn.execute(sa.text(DDL))
        conn.execute(sa.text(
            "INSERT INTO items SELECT g, 'seed ' || g, g * 1.25, DATE '2024-01-01' + g,"
            " g % 2 = 0, TIMESTAMPTZ '2024-01-01 10:00:00+02' + g * INTERVAL '1 hour',"
            " jsonb_build_object('n', g) FROM generate_series(1, 20) g"
        ))  # fmt: skip
    prefix = f"dbz{uuid.uuid4().hex[:8]}"
    database = src.rsplit("/", 1)[-1]
    worker = start_connect(
        tmp_path, kafka.bootstrap, postgres, database, prefix=prefix, tables=["public.items"]
    )
    try:
        yield {"src": src, "topic": worker.topic("public.items"), "log": worker.log,
               "slot": f"{prefix}_slot"}  # fmt: skip
    finally:
        worker.stop()


def read_topic(transport: KafkaTransport, topic: str, count: int, log: Path) -> list:
    consumer = transport.consumer(f"read-{uuid.uuid4().hex[:6]}", [topic])
    records: list = []
    deadline = time.monotonic() + 240
    try:
        while len(records) < count and time.monotonic() < deadline:
            records.extend(consumer.poll(max_records=500, timeout_s=1.0))
    finally:
        consumer.close()
    assert len(records) >= count, (
        f"Debezium wrote {len(records)} of {count}; see {log}:\n"
        + (log.read_text(errors="replace")[-3000:])
    )
    return sorted(records, key=lambda r: (r.partition, r.offset))


CHANGES = (
    "INSERT INTO items VALUES (100, 'new', 9.99, '2025-02-03', true,"
    " '2025-02-03 04:05:06.5+00', '{\"k\": [1, 2]}')",
    "UPDATE items SET name = 'renamed', price = 0.10 WHERE id = 3",
    "DELETE FROM items WHERE id = 4",
    "UPDATE items SET id = 200 WHERE id = 5",
)

IGNORED_SOURCE = {"version", "name", "ts_ms", "ts_us", "ts_ns", "lsn", "sequence", "snapshot"}


def comparable(value: dict) -> dict:
    source = {k: v for k, v in value["source"].items() if k not in IGNORED_SOURCE}
    return {"op": value["op"], "before": value["before"], "after": value["after"],
            "source": source, "transaction": value.get("transaction")}  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_our_sink_applies_debeziums_topic_and_our_events_match_debeziums(connect, kafka, postgres,
                                                                          tmp_path):  # fmt: skip
    src, topic = connect["src"], connect["topic"]
    transport = KafkaTransport(kafka.bootstrap, partitions=1)
    ours = PgCapture(src, prefix="ours", slot=f"ours_{uuid.uuid4().hex[:8]}")
    ours.setup(["items"])  # streaming only: the snapshot is Debezium's part here
    read_topic(transport, topic, 20, connect["log"])  # Debezium's snapshot is done
    engine = sa.create_engine(src)
    for statement in CHANGES:
        with engine.begin() as conn:
            conn.execute(sa.text(statement))
    # r x20, then c; u; d + tombstone; d + tombstone + c for the key change
    records = read_topic(transport, topic, 27, connect["log"])
    theirs = [json.loads(r.message.value) for r in records if r.message.value]
    theirs = [v for v in theirs if v["op"] != "r"]
    mine = []
    deadline = time.monotonic() + 60
    while len(mine) < len(theirs) and time.monotonic() < deadline:
        batch = ours.next_batch(wait_s=0.5)
        mine.extend(e.value_json() for e in batch.events)
        ours.ack(batch)
    assert len(mine) == len(theirs)
    for our_event, their_event in zip(mine, theirs, strict=True):
        assert comparable(our_event) == comparable(their_event)
    keys = [json.loads(r.message.key) for r in records if r.message.value is None]
    assert keys == [{"id": 4}, {"id": 5}]  # tombstones after deletes, as ours

    dst = postgres.create_database()
    sink = Sink(dst, source=src, pipeline="dbz")
    pipeline = Pipeline(transport, sink=sink, topics=[topic])
    pipeline.run(threading.Event(), until_idle=True, idle_sleep_s=0.2)
    pipeline.close()
    assert sink.dead_letters() == []
    assert checksum(src, "items") == checksum(dst, "items")
    assert all(from_message(r.message) is None or r.message.value for r in records)
    ours.teardown()
    ours.close()
