"""Whole transactions on real services: PostgreSQL pgoutput -> Kafka -> PostgreSQL."""

from __future__ import annotations

import random
import threading
import uuid

import pytest
import sqlalchemy as sa

from cdc.capture_pg import PgCapture
from cdc.pipeline import Options, Pipeline
from cdc.sink import Sink
from cdc.transport_kafka import KafkaTransport
from tests.cdc.helpers import checksum

ACCOUNTS, START = 12, 100
DDL = (
    "CREATE TABLE accounts (id integer PRIMARY KEY, balance integer NOT NULL)",
    "CREATE TABLE ledger (id integer PRIMARY KEY, src integer, dst integer, amount integer)",
    "CREATE TABLE counter (id integer PRIMARY KEY, n integer NOT NULL)",
)
WHOLE = (
    "SELECT (SELECT SUM(balance) FROM accounts), (SELECT COUNT(*) FROM ledger),"
    " (SELECT n FROM counter WHERE id = 1)"
)  # one statement: one snapshot


# Known open bug (issue 5 stays open): in 2 of 4 fresh-clone CI runs on 2026-11-27 this
# test never went idle (pytest-timeout) -- the final drain with --atomic-transactions on
# PostgreSQL + Kafka waited for good; it passed in every standalone run. Not yet
# diagnosed: a transaction the sink holds as incomplete is the suspect. Not strict, so a
# pass still counts; the timeout keeps a hang from costing the suite 5 minutes.
@pytest.mark.timeout(120)
def test_a_reader_of_the_postgres_target_never_sees_half_a_transaction(postgres, kafka):
    src, dst = postgres.create_database(), postgres.create_database()
    source, target = sa.create_engine(src), sa.create_engine(dst)
    for engine in (source, target):
        with engine.begin() as conn:
            for statement in DDL:
                conn.execute(sa.text(statement))
    capture = PgCapture(src, prefix=f"t{uuid.uuid4().hex[:6]}", slot=f"s_{uuid.uuid4().hex[:8]}")
    capture.setup(["accounts", "ledger", "counter"])
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
        with target.connect() as conn:
            if conn.execute(sa.text(WHOLE)).one() == (ACCOUNTS * START, 0, 0):
                break
    stop, done = threading.Event(), threading.Event()
    halves: list[tuple[int, int, int]] = []
    reads = [0]

    def reader() -> None:
        while not done.is_set():
            with target.connect() as conn:
                total, ledger, n = conn.execute(sa.text(WHOLE)).one()
            if total != ACCOUNTS * START or ledger != n:
                halves.append((total, ledger, n))
            reads[0] += 1

    def writer() -> None:
        rng = random.Random(9)
        for i in range(300):
            a, b = rng.sample(range(ACCOUNTS), 2)
            amount = rng.randrange(1, 20)
            with source.connect() as conn:
                tx = conn.begin()
                conn.execute(
                    sa.text(f"UPDATE accounts SET balance = balance - {amount} WHERE id = {a}")
                )
                conn.execute(
                    sa.text(f"UPDATE accounts SET balance = balance + {amount} WHERE id = {b}")
                )
                conn.execute(sa.text(f"INSERT INTO ledger VALUES ({i}, {a}, {b}, {amount})"))
                conn.execute(sa.text("UPDATE counter SET n = n + 1 WHERE id = 1"))
                (tx.rollback if i % 11 == 0 else tx.commit)()

    threads = [threading.Thread(target=reader), threading.Thread(target=writer)]
    runner = threading.Thread(target=flow.run, args=(stop,), kwargs={"idle_sleep_s": 0.02})
    runner.start()
    for t in threads:
        t.start()
    threads[1].join()
    stop.set()
    runner.join()
    flow.run(threading.Event(), until_idle=True, idle_sleep_s=0.05)
    done.set()
    threads[0].join()
    flow.close()
    capture.teardown()
    capture.close()
    assert reads[0] > 20
    assert halves == []
    for table in ("accounts", "ledger", "counter"):
        assert checksum(src, table) == checksum(dst, table)
