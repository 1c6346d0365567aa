"""PostgreSQL -> Kafka -> PostgreSQL CDC throughput and lag, beside the embedded log.

Starts a throwaway KRaft broker and PostgreSQL cluster (as the tests do, through
tests.services). Scenarios, in one run:
  1. drain a backlog of N changes (60% inserts, 30% updates, 10% deletes of live rows,
     100 per transaction; each changes exactly one row, see bench/workload.py) captured
     through pgoutput: PG -> embedded log -> PG (baseline) and PG -> Kafka -> PG;
     changes/s and their ratio; the run fails unless each target equals its source;
  2. commit-to-apply lag at a steady rate (default 1,000 changes/s) through Kafka.
The same leg through real Debezium, side by side with ours: bench/cdc_debezium.py.

    .venv/bin/python bench/cdc_postgres.py                    # about 2 minutes
    .venv/bin/python bench/cdc_postgres.py --changes 20000 --seconds 5
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import workload
from bench.cdc_pipeline import (
    LagSink,
    check_applied,
    drain_backlog,
    group,
    pct,
    start_services,
)
from bench.workload import ChangeMix
from cdc.capture_pg import PgCapture
from cdc.pipeline import Options, Pipeline
from cdc.transport import Transport

DDL = """CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL, qty integer,
price numeric(10, 2), updated timestamp DEFAULT now())"""


def pg_write(dsn: str, changes: int, mix: ChangeMix, per_txn: int = 100) -> None:
    """Write `changes` one-row changes of `mix`, `per_txn` to a transaction."""
    # The fixture cluster runs with synchronous_commit=off (for test speed); logical
    # decoding then sees a commit only once the WAL writer flushes it (wal_writer_delay,
    # 200 ms). Applications write with PostgreSQL's default, on.
    conn = psycopg2.connect(dsn, options="-c synchronous_commit=on")
    done = 0
    with conn.cursor() as cur:
        while done < changes:
            batch = min(per_txn, changes - done)
            workload.write(cur, mix, batch, workload.POSTGRES)
            conn.commit()
            done += batch
    conn.close()


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


def drain_rate(
    create_database, transport: Transport, changes: int, *, split: bool = False
) -> tuple[float, float]:
    """Drain a fresh backlog of `changes`; return (changes/s, our CPU microseconds per change).

    With `split`, the capture and the sink run in two processes (CPU: both of them)."""
    src, dst, capture = fresh_pair(create_database)
    pg_write(capture.dsn, changes, ChangeMix())
    seconds, cpu = drain_backlog(transport, capture, src, dst, split=split)
    capture.teardown()
    check_applied(src, dst)
    return changes / seconds, cpu / changes * 1e6


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
    mix, tick = ChangeMix(), time.perf_counter()
    deadline = tick + seconds
    while time.perf_counter() < deadline:
        pg_write(capture.dsn, per_tick, mix, per_txn=per_tick)
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
    from cdc.bootstrap import open_transport

    with contextlib.ExitStack() as stack:
        broker, server = start_services(stack)
        create = server.create_database
        root = Path(tempfile.mkdtemp(prefix="cdc-pg-bench-"))
        log = open_transport(f"embedded:{root / 'log.db'}")
        embedded, embedded_cpu = drain_rate(create, log, args.changes)
        embedded2, embedded2_cpu = drain_rate(create, log, args.changes, split=True)
        kafka = open_transport(f"kafka:{broker.bootstrap}", partitions=3)
        through_kafka, kafka_cpu = drain_rate(create, kafka, args.changes)
        kafka2, kafka2_cpu = drain_rate(create, kafka, args.changes, split=True)
        print(f"1. PostgreSQL (pgoutput) -> embedded log -> PostgreSQL: one process "
              f"{embedded:,.0f} changes/s ({embedded_cpu:.0f} us of our CPU per change), "
              f"capture and sink in two processes {embedded2:,.0f} changes/s "
              f"({embedded2_cpu:.0f} us, both processes)")  # fmt: skip
        print(f"   PostgreSQL -> Kafka -> PostgreSQL (target >= 6,000/s): one process "
              f"{through_kafka:,.0f} changes/s ({kafka_cpu:.0f} us), two processes "
              f"{kafka2:,.0f} changes/s ({kafka2_cpu:.0f} us); "
              f"two/one {kafka2 / through_kafka:.2f}; "
              f"Kafka/embedded ratio {through_kafka / embedded:.3f} (one process), "
              f"{kafka2 / embedded2:.3f} (two)")  # fmt: skip
        lags = steady(create, kafka, args.rate, args.seconds)
        print(f"2. PostgreSQL -> Kafka -> PostgreSQL at a steady {args.rate}/s for "
              f"{args.seconds:.0f}s: {len(lags):,} events ({len(lags) / args.seconds:,.0f}/s "
              f"written), lag p50 {pct(lags, 50):.0f} ms, "
              f"p99 {pct(lags, 99):.0f} ms (target p99 <= 250 ms)")  # fmt: skip
        kafka.close()


if __name__ == "__main__":
    main()
