"""The real services the suite relies on: a CDC-ready PostgreSQL and a working Kafka broker."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from tests.services import KafkaBroker, PostgresServer, ServiceError, _common
from tests.services import kafka as kafka_service
from tests.services import postgres as postgres_service

# --- PostgreSQL ---------------------------------------------------------------------


def _engine(url: str) -> Iterator[Engine]:
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def test_postgres_is_ready_for_logical_decoding(postgres: PostgresServer) -> None:
    for engine in _engine(postgres.url):
        with engine.connect() as conn:
            assert conn.execute(text("SHOW wal_level")).scalar() == "logical"
            assert int(conn.execute(text("SHOW max_replication_slots")).scalar_one()) >= 10
            assert int(conn.execute(text("SHOW max_wal_senders")).scalar_one()) >= 10


def test_postgres_can_create_a_pgoutput_replication_slot(postgres: PostgresServer) -> None:
    for engine in _engine(postgres.create_database()):
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_create_logical_replication_slot('probe', 'pgoutput')"))
            slots = conn.execute(text("SELECT plugin FROM pg_replication_slots")).scalars()
            assert "pgoutput" in list(slots)
            conn.execute(text("SELECT pg_drop_replication_slot('probe')"))


def test_created_databases_are_isolated_from_each_other(postgres: PostgresServer) -> None:
    first, second = postgres.create_database(), postgres.create_database()
    assert first != second
    for engine in _engine(first):
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE marker (id integer primary key)"))
            conn.execute(text("INSERT INTO marker VALUES (1)"))
    for engine in _engine(second):
        with engine.connect() as conn:
            assert conn.execute(text("SELECT to_regclass('marker')")).scalar() is None


def test_create_database_rejects_an_unsafe_name(postgres: PostgresServer) -> None:
    with pytest.raises(ValueError, match="must match"):
        postgres.create_database('x"; DROP DATABASE postgres; --')


@pytest.mark.postgres  # starts a cluster of its own, not through the fixture
def test_a_cluster_whose_port_gets_taken_starts_again_on_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        ports = iter([taken])
        monkeypatch.setattr(
            postgres_service, "free_port", lambda: next(ports, None) or _common.free_port()
        )
        cluster = _common.start_with_retries("PostgreSQL", postgres_service.start_cluster)
    try:
        assert cluster.server.port != taken
        conn = cluster.server.connect()
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
        conn.close()
    finally:
        cluster.stop()


# --- Kafka --------------------------------------------------------------------------

KEYS = [f"order-{n}" for n in range(6)]


def _produce(broker: KafkaBroker, topic: str, seqs: range) -> None:
    producer = KafkaProducer(
        bootstrap_servers=broker.bootstrap,
        enable_idempotence=True,
        acks="all",
    )
    try:
        futures = [
            producer.send(
                topic, key=key.encode(), value=json.dumps({"key": key, "seq": seq}).encode()
            )
            for seq in seqs
            for key in KEYS
        ]
        producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=10)
    finally:
        producer.close(timeout=10)


def _consume(broker: KafkaBroker, topic: str, group: str, count: int) -> list[tuple[int, dict]]:
    """Read ``count`` messages in ``group``, commit them, return (partition, value) pairs."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=broker.bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    received: list[tuple[int, dict]] = []
    try:
        deadline = time.monotonic() + 60
        while len(received) < count and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                received += [(record.partition, json.loads(record.value)) for record in records]
        consumer.commit()
    finally:
        consumer.close()
    return received


def test_kafka_delivers_keyed_messages_in_order_per_key(kafka: KafkaBroker) -> None:
    topic = kafka.unique_topic("orders")
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    finally:
        admin.close()
    _produce(kafka, topic, range(10))

    received = _consume(kafka, topic, "orders-sink", len(KEYS) * 10)

    assert len(received) == len(KEYS) * 10
    seqs_by_key: dict[str, list[int]] = defaultdict(list)
    partitions_by_key: dict[str, set[int]] = defaultdict(set)
    for partition, value in received:
        seqs_by_key[value["key"]].append(value["seq"])
        partitions_by_key[value["key"]].add(partition)
    assert all(seqs == list(range(10)) for seqs in seqs_by_key.values())
    assert all(len(parts) == 1 for parts in partitions_by_key.values())
    assert {p for parts in partitions_by_key.values() for p in parts} <= {0, 1, 2}


def test_kafka_group_member_resumes_after_the_committed_offset(kafka: KafkaBroker) -> None:
    topic = kafka.unique_topic("resume")  # auto-created on first produce
    _produce(kafka, topic, range(5))
    first = _consume(kafka, topic, "resume-sink", len(KEYS) * 5)
    _produce(kafka, topic, range(5, 8))

    second = _consume(kafka, topic, "resume-sink", len(KEYS) * 3)

    assert sorted(value["seq"] for _, value in first) == sorted(list(range(5)) * len(KEYS))
    assert sorted(value["seq"] for _, value in second) == sorted(list(range(5, 8)) * len(KEYS))


# --- the skip policy ----------------------------------------------------------------


def test_missing_service_skips_with_one_line_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Kafka unavailable: no jars; run make"):
        _common.unavailable("Kafka", "no jars", "run make services")


def test_missing_service_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        _common.unavailable("Kafka", "no jars", "run make services")


# --- the marker guard ---------------------------------------------------------------
# These tests carry no marker on purpose: the guard stops them before any server starts.


def test_an_unmarked_test_that_reaches_postgres_fails_with_how_to_mark_it() -> None:
    server = PostgresServer("127.0.0.1", 1, "postgres")
    for reach in (server.connect, lambda: server.url, postgres_service.start_cluster):
        with pytest.raises(pytest.fail.Exception, match=r"is not marked `postgres`.*pytest\.param"):
            reach()


def test_an_unmarked_test_that_reaches_kafka_fails_with_how_to_mark_it() -> None:
    broker = KafkaBroker("127.0.0.1:1")
    for reach in (lambda: broker.bootstrap, kafka_service.start_broker):
        with pytest.raises(pytest.fail.Exception, match="is not marked `kafka`"):
            reach()


@pytest.mark.kafka
def test_a_marked_test_reaches_the_service() -> None:
    assert KafkaBroker("127.0.0.1:1").bootstrap == "127.0.0.1:1"


def test_a_script_is_not_checked_and_gets_a_service_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common._Running, "item", None)  # as in a bench/ script
    monkeypatch.delenv("CI", raising=False)
    assert PostgresServer("127.0.0.1", 1, "postgres").url.endswith("@127.0.0.1:1/postgres")
    with pytest.raises(ServiceError, match=r"^Kafka unavailable: no jars; run make services$"):
        _common.unavailable("Kafka", "no jars", "run make services")
    with pytest.raises(ServiceError, match=r"^Kafka failed to start: exit 1$"):
        _common.broken("Kafka", "exit 1")


def test_bench_scripts_import_the_services_package_from_the_repository_root() -> None:
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import tests.services as s; "
        "print(' '.join(sorted(s.__all__)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(_common.REPO_ROOT)],
        capture_output=True, text=True, cwd="/", check=True,
    )  # fmt: skip
    assert {"kafka_and_postgres", "start_cluster", "free_port", "ServiceError"} <= set(
        done.stdout.split()
    )
