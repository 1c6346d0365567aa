"""PostgreSQL -> Kafka -> PostgreSQL CDC throughput and lag, beside the embedded log.

Starts a throwaway KRaft broker and PostgreSQL cluster (as the tests do) unless --kafka
and --postgres-admin are given. Scenarios, in one run:
  1. drain a backlog of N changes (60% inserts, 30% updates, 10% deletes, 100 per
     transaction) captured through pgoutput: PG -> embedded log -> PG (baseline) and
     PG -> Kafka -> PG; changes/s and their ratio;
  2. commit-to-apply lag at a steady rate (default 1,000 changes/s) through Kafka.
The same leg through real Debezium, side by side with ours: bench/cdc_debezium.py.

    .venv/bin/python bench/cdc_postgres.py                    # about 2 minutes
    .venv/bin/python bench/cdc_postgres.py --changes 20000 --seconds 5
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.cdc_pipeline import LagSink, group, pct
from cdc.capture_pg import PgCapture
from cdc.pipeline import Options, Pipeline
from cdc.sink import Sink
from cdc.transport import Transport
from cdc.transport_embedded import EmbeddedLog

DDL = """CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL, qty integer,
price numeric(10, 2), updated timestamp DEFAULT now())"""


def pg_write(dsn: str, changes: int, seed: int, per_txn: int = 100, start_id: int = 1) -> int:
    """Write `changes` row changes; return the next free id."""
    rng = random.Random(seed)
    # The fixture cluster runs with synchronous_commit=off (for test speed); logical
    # decoding then sees a commit only once the WAL writer flushes it (wal_writer_delay,
    # 200 ms). Applications write with PostgreSQL's default, on.
    conn = psycopg2.connect(dsn, options="-c synchronous_commit=on")
    next_id, done = start_id, 0
    with conn.cursor() as cur:
        while done < changes:
            for _ in range(min(per_txn, changes - done)):
                pick = rng.random()
                if pick < 0.6 or next_id < start_id + 10:
                    cur.execute(
                        "INSERT INTO items (id, name, qty, price) VALUES (%s, %s, %s, %s)",
                        (
                            next_id,
                            f"item {next_id}",
                            rng.randrange(100),
                            rng.randrange(10**5) / 100,
                        ),
                    )
                    next_id += 1
                elif pick < 0.9:
                    cur.execute(
                        "UPDATE items SET qty = qty + 1 WHERE id = %s",
                        (rng.randrange(start_id, next_id),),
                    )
                else:
                    cur.execute(
                        "DELETE FROM items WHERE id = %s", (rng.randrange(start_id, next_id),)
                    )
                done += 1
            conn.commit()
    conn.close()
    return next_id


def fresh_pair(create_database) -> tuple[str, str, PgCapture]:
    src, dst = create_database(), create_database()
    conn = psycopg2.connect(PgCapture(src, slot="probe").dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(DDL)
    conn.close()
    capture = PgCapture(src, prefix=f"b{uuid.uuid4().hex[:6]}", slot=f"s{uuid.uuid4().hex[:8]}")
    capture.setup(["items"])
    return src, dst, capture


def drain_rate(create_database, transport: Transport, changes: int) -> float:
    src, dst, capture = fresh_pair(create_database)
    pg_write(capture.dsn, changes, seed=1)
    sink = Sink(dst, source=src, pipeline=capture.prefix)
    pipeline = Pipeline(
        transport,
        capture=capture,
        sink=sink,
        options=Options(batch=5000, group=group(capture.prefix)),
    )
    start = time.perf_counter()
    pipeline.run(threading.Event(), until_idle=True, idle_sleep_s=0.01)
    seconds = time.perf_counter() - start
    pipeline.close()
    capture.teardown()
    return changes / seconds


def steady(create_database, transport: Transport, rate: int, seconds: float) -> list[int]:
    src, dst, capture = fresh_pair(create_database)
    sink = LagSink(dst, source=src, pipeline=capture.prefix)
    sink.lags = []
    pipeline = Pipeline(
        transport,
        capture=capture,
        sink=sink,
        options=Options(batch=2000, group=group(capture.prefix)),
    )
    stop = threading.Event()
    runner = threading.Thread(target=pipeline.run, args=(stop,), kwargs={"idle_sleep_s": 0.01})
    runner.start()
    per_tick = max(1, rate // 50)
    next_id, seed, tick = 1, 0, time.perf_counter()
    deadline = tick + seconds
    while time.perf_counter() < deadline:
        seed += 1
        next_id = pg_write(capture.dsn, per_tick, seed, per_txn=per_tick, start_id=next_id)
        tick += per_tick / rate
        time.sleep(max(0.0, tick - time.perf_counter()))
    time.sleep(1.0)
    stop.set()
    runner.join()
    pipeline.close()
    capture.teardown()
    return sink.lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=50_000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    from cdc.transport_kafka import KafkaTransport
    from tests.services import kafka_and_postgres

    with kafka_and_postgres() as (broker, server):
        create = server.create_database
        root = Path(tempfile.mkdtemp(prefix="cdc-pg-bench-"))
        embedded = drain_rate(create, EmbeddedLog(root / "log.db"), args.changes)
        kafka = KafkaTransport(broker.bootstrap, partitions=3)
        through_kafka = drain_rate(create, kafka, args.changes)
        print(f"1. PostgreSQL (pgoutput) -> embedded log -> PostgreSQL: {embedded:,.0f} changes/s; "
              f"-> Kafka -> PostgreSQL: {through_kafka:,.0f} changes/s (target >= 6,000); "
              f"Kafka/embedded ratio {through_kafka / embedded:.3f}")  # fmt: skip
        lags = steady(create, kafka, args.rate, args.seconds)
        print(f"2. PostgreSQL -> Kafka -> PostgreSQL at a steady {args.rate}/s for "
              f"{args.seconds:.0f}s: {len(lags):,} events, lag p50 {pct(lags, 50):.0f} ms, "
              f"p99 {pct(lags, 99):.0f} ms (target p99 <= 250 ms)")  # fmt: skip
        kafka.close()


if __name__ == "__main__":
    main()
