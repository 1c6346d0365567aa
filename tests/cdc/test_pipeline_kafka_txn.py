"""Whole transactions on real services: PostgreSQL pgoutput -> Kafka -> PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from cdc.capture_pg import PgCapture
from cdc.pipeline import Options, Pipeline
from cdc.sink import Sink
from cdc.transport_kafka import KafkaTransport
from tests.cdc.helpers import (
    ACCOUNTS,
    BANK_DDL,
    BANK_TABLES,
    START,
    bank_totals,
    checksum,
    run_while_transferring,
)


# This test used to hang under CI load: the sink's group member sometimes never got its
# partitions (first assignment computed without a just-created topic). The consumer now
# assigns every partition directly; the timeout turns a regression into a failure.
@pytest.mark.timeout(120)
def test_a_reader_of_the_postgres_target_never_sees_half_a_transaction(postgres, kafka):
    src, dst = postgres.create_database(), postgres.create_database()
    source, target = sa.create_engine(src), sa.create_engine(dst)
    for engine in (source, target):
        with engine.begin() as conn:
            for statement in BANK_DDL:
                conn.execute(sa.text(statement))
    capture = PgCapture(src, prefix=f"t{uuid.uuid4().hex[:6]}", slot=f"s_{uuid.uuid4().hex[:8]}")
    capture.setup(list(BANK_TABLES))
    with source.begin() as conn:  # streamed: one transaction
        for i in range(ACCOUNTS):
            conn.execute(sa.text(f"INSERT INTO accounts VALUES ({i}, {START})"))
        conn.execute(sa.text("INSERT INTO counter VALUES (1, 0)"))
    flow = Pipeline(
        KafkaTransport(kafka.bootstrap, partitions=3),
        capture=capture,
        sink=Sink(dst, source=src),
        # A group of its own: other tests leave (SIGKILLed) members in the default one.
        options=Options(atomic_transactions=True, batch=50, group=f"g{uuid.uuid4().hex[:8]}"),
    )
    flow.start()
    for _ in range(400):  # the seed rows first
        flow.step(timeout_s=0.05)
        if bank_totals(target) == (ACCOUNTS * START, 0, 0):
            break
    reads, halves = run_while_transferring(
        flow,
        source,
        target,
        count=300,
        seed=9,
        rollback_every=11,
        idle_sleep_s=0.02,
        drain_sleep_s=0.05,
    )
    flow.close()
    capture.teardown()
    capture.close()
    assert reads > 20
    assert halves == []
    for table in BANK_TABLES:
        assert checksum(src, table) == checksum(dst, table)
