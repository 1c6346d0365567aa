"""One contract for every transport: the embedded log and Apache Kafka behave alike."""

from __future__ import annotations

import time
import uuid

import pytest

from cdc.event import Message
from cdc.transport import Record, Transport, partition_for


@pytest.fixture(params=["embedded", pytest.param("kafka", marks=pytest.mark.kafka)])
def transport(request, tmp_path):
    if request.param == "embedded":
        from cdc.transport_embedded import EmbeddedLog

        log = EmbeddedLog(tmp_path / "log.db", partitions=3)
        yield log
        log.close()
    else:
        from cdc.transport_kafka import KafkaTransport

        broker = request.getfixturevalue("kafka")
        kafka_transport = KafkaTransport(broker.bootstrap, partitions=3)
        yield kafka_transport
        kafka_transport.close()


def topic() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def drain(consumer, expected: int, limit_s: float = 30.0) -> list[Record]:
    records: list[Record] = []
    deadline = time.monotonic() + limit_s
    while len(records) < expected and time.monotonic() < deadline:
        records.extend(consumer.poll(max_records=500, timeout_s=0.5))
    return records


def msg(name: str, key: int, n: int) -> Message:
    return Message(
        name, f'{{"id":{key}}}'.encode(), f'{{"n":{n}}}'.encode(), (("h", str(n).encode()),)
    )


def test_one_key_always_lands_in_one_partition_in_order(transport: Transport):
    name = topic()
    transport.ensure_topics([name])
    transport.publish([msg(name, key, n) for n in range(5) for key in range(6)])
    consumer = transport.consumer("g1", [name])
    try:
        records = drain(consumer, 30)
    finally:
        consumer.close()
    assert len(records) == 30
    for key in range(6):
        mine = [r for r in records if r.message.key == f'{{"id":{key}}}'.encode()]
        assert {r.partition for r in mine} == {partition_for(mine[0].message.key, 3)}
        assert [r.message.value for r in mine] == [f'{{"n":{n}}}'.encode() for n in range(5)]
        assert [r.message.header("h") for r in mine] == [str(n).encode() for n in range(5)]


def test_tombstones_and_keyless_messages_travel(transport: Transport):
    name = topic()
    transport.ensure_topics([name])
    transport.publish([Message(name, b'{"id":1}', None), Message(name, None, b'{"op":"t"}')])
    consumer = transport.consumer("g1", [name])
    try:
        records = drain(consumer, 2)
    finally:
        consumer.close()
    assert {(r.message.key, r.message.value) for r in records} == {
        (b'{"id":1}', None),
        (None, b'{"op":"t"}'),
    }


def test_a_group_resumes_after_its_committed_offsets(transport: Transport):
    name = topic()
    transport.ensure_topics([name])
    transport.publish([msg(name, 1, n) for n in range(4)])
    first = transport.consumer("g", [name])
    try:
        records = drain(first, 4)
        done = {(r.topic, r.partition): r.offset + 1 for r in records[:2]}
        first.commit(done)
    finally:
        first.close()
    assert transport.committed("g", [name]) == done
    second = transport.consumer("g", [name])
    try:
        again = drain(second, 2)
    finally:
        second.close()
    assert [r.message.value for r in again] == [b'{"n":2}', b'{"n":3}']


def test_seek_replays_from_a_stored_offset(transport: Transport):
    name = topic()
    transport.ensure_topics([name])
    transport.publish([msg(name, 1, n) for n in range(3)])
    part = partition_for(b'{"id":1}', 3)
    consumer = transport.consumer("g-seek", [name])
    try:
        consumer.seek({(name, part): 2})
        records = drain(consumer, 1)
    finally:
        consumer.close()
    assert [r.message.value for r in records] == [b'{"n":2}']


def test_end_offsets_count_what_was_written(transport: Transport):
    name = topic()
    transport.ensure_topics([name])
    transport.publish([msg(name, 1, n) for n in range(3)])
    ends = transport.end_offsets([name])
    assert sum(ends.values()) == 3
    assert ends[(name, partition_for(b'{"id":1}', 3))] == 3
