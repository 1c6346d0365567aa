"""PostgreSQL -> Kafka: our pgoutput capture beside real Debezium, same backlog, one run.

Starts a throwaway PostgreSQL cluster and KRaft broker (as the test fixtures do). For each
leg a fresh database gets a replication slot first, then the same backlog of N row
changes (60% inserts, 30% updates, 10% deletes of live rows, 100 per transaction; every
statement changes exactly one row, so N events are expected); then the capture starts
and a consumer counts the events (tombstones aside) arriving in the leg's topic:

  ours      `strangler cdc run --source ... --transport kafka:...` without a sink,
            as a subprocess (pgoutput capture, Kafka transport, idempotent producer);
  Debezium  Kafka Connect standalone with debezium-connector-postgres 3.6.1
            (tests/cdc/debezium), snapshot.mode=no_data on the pre-made slot, default
            connector and producer settings, the JVM's default JIT and GC.

Printed per leg: the whole leg (process launch to the N-th event, so start-up included)
and the streaming rate (first event to N-th event), then ours as a ratio of Debezium's.
Both topics have the same partition count. Legs alternate over --rounds.

    .venv/bin/python bench/cdc_debezium.py                   # about 2 minutes
    .venv/bin/python bench/cdc_debezium.py --changes 20000 --rounds 1
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cdc.capture_pg import PgCapture, _dsn
from cdc.transport_kafka import KafkaTransport
from tests.cdc.debezium import start_connect
from tests.services.postgres import PostgresServer

DDL = """CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL, qty integer,
price numeric(10, 2), updated timestamp DEFAULT now())"""
TABLE = "public.items"
REPO = Path(__file__).resolve().parents[1]


def workload(dsn: str, changes: int, seed: int, per_txn: int = 100) -> None:
    """Write exactly `changes` one-row changes (the live ids are tracked here)."""
    rng = random.Random(seed)
    live: list[int] = []
    next_id, done = 1, 0
    conn = psycopg2.connect(dsn)
    with conn.cursor() as cur:
        while done < changes:
            for _ in range(min(per_txn, changes - done)):
                pick = rng.random()
                if pick < 0.6 or len(live) < 10:
                    cur.execute(
                        "INSERT INTO items (id, name, qty, price) VALUES (%s, %s, %s, %s)",
                        (
                            next_id,
                            f"item {next_id}",
                            rng.randrange(100),
                            rng.randrange(10**5) / 100,
                        ),
                    )
                    live.append(next_id)
                    next_id += 1
                elif pick < 0.9:
                    key = live[rng.randrange(len(live))]
                    cur.execute("UPDATE items SET qty = qty + 1 WHERE id = %s", (key,))
                else:
                    index = rng.randrange(len(live))
                    live[index], live[-1] = live[-1], live[index]
                    cur.execute("DELETE FROM items WHERE id = %s", (live.pop(),))
                done += 1
            conn.commit()
    conn.close()


@dataclass
class Counter:
    """Count non-tombstone records of one topic from its beginning, noting arrival times."""

    bootstrap: str
    topic: str
    goal: int
    first: float = 0.0
    last: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        import kafka

        self.consumer = kafka.KafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=20
        )
        parts = [kafka.TopicPartition(self.topic, p)
                 for p in sorted(self.consumer.partitions_for_topic(self.topic) or ())]  # fmt: skip
        self.consumer.assign(parts)
        self.consumer.seek_to_beginning(*parts)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while self.count < self.goal:
            batches = self.consumer.poll(timeout_ms=200, max_records=5000)
            seen = sum(1 for items in batches.values() for r in items if r.value is not None)
            if seen:
                now = time.perf_counter()
                self.first = self.first or now
                self.count += seen
                self.last = now
        self.done.set()

    def close(self) -> None:
        self.consumer.close()


@dataclass(frozen=True)
class Leg:
    whole_s: float  # launch to the N-th event
    stream_s: float  # first event to the N-th event
    events: int

    def rates(self) -> tuple[float, float]:
        return self.events / self.whole_s, self.events / self.stream_s


def fresh_source(server: PostgresServer, slot: str, publication: str | None = None) -> str:
    """A fresh database with the table and a slot: ours, or (publication given) Debezium's."""
    src = server.create_database()
    capture = PgCapture(src, slot=slot)
    capture._query(DDL)
    if publication is None:
        capture.setup([TABLE])  # publication + slot, no initial snapshot (empty table)
    else:
        capture._query(f'CREATE PUBLICATION "{publication}" FOR TABLE items')
        capture._query("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,))
    capture.close()
    return src


def measure(
    counter: Counter, start: float, process: subprocess.Popen[bytes],
    stop: Callable[[], None], label: str, log: Path,
) -> Leg:  # fmt: skip
    """Wait for the N-th event (failing fast if the capture process died); stop it."""
    try:
        deadline = time.monotonic() + 600
        while not counter.done.wait(1.0):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"{label}: {counter.count} of {counter.goal} events, exit code "
                    f"{process.poll()}; see {log}"
                )
    finally:
        stop()
        counter.close()
    return Leg(counter.last - start, counter.last - counter.first, counter.goal)


def ours_leg(server: PostgresServer, bootstrap: str, changes: int, partitions: int) -> Leg:
    tag = uuid.uuid4().hex[:8]
    slot, prefix = f"ours_{tag}", f"ours{tag}"
    src = fresh_source(server, slot)
    workload(_dsn(src), changes, seed=1)
    topic = f"{prefix}.{TABLE}"
    KafkaTransport(bootstrap, partitions=partitions).ensure_topics([topic])
    counter = Counter(bootstrap, topic, changes)
    env = {**os.environ, "PYTHONPATH": str(REPO), "STRANGLER_CDC_SLOT": slot,
           "STRANGLER_CDC_PREFIX": prefix, "STRANGLER_CDC_PARTITIONS": str(partitions)}  # fmt: skip
    log = Path(tempfile.mkdtemp(prefix="cdc-dbz-bench-")) / "ours.log"
    start = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "strangler", "cdc", "run", "--source", src,
             "--transport", f"kafka:{bootstrap}"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip

    def stop() -> None:
        process.terminate()
        process.wait(timeout=60)

    return measure(counter, start, process, stop, "ours", log)


def debezium_leg(server: PostgresServer, bootstrap: str, changes: int, partitions: int) -> Leg:
    prefix = f"dbz{uuid.uuid4().hex[:8]}"
    src = fresh_source(server, f"{prefix}_slot", f"{prefix}_pub")
    workload(_dsn(src), changes, seed=1)
    connect_topic = f"{prefix}.{TABLE}"
    KafkaTransport(bootstrap, partitions=partitions).ensure_topics([connect_topic])
    counter = Counter(bootstrap, connect_topic, changes)
    workdir = Path(tempfile.mkdtemp(prefix="cdc-dbz-bench-"))
    start = time.perf_counter()
    connect = start_connect(
        workdir, bootstrap, server, src.rsplit("/", 1)[-1], prefix=prefix, tables=[TABLE],
        connector={"snapshot.mode": "no_data", "publication.autocreate.mode": "disabled"},
        jvm=("-Xmx1g",),
    )  # fmt: skip
    return measure(counter, start, connect.process, connect.stop, "Debezium", connect.log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--partitions", type=int, default=3)
    args = parser.parse_args()
    from tests.services import kafka_and_postgres

    with kafka_and_postgres() as (broker, server):
        bootstrap = broker.bootstrap
        for round_ in range(1, args.rounds + 1):
            legs = [("ours", ours_leg), ("Debezium", debezium_leg)]
            if round_ % 2 == 0:
                legs.reverse()  # alternate, so neither leg always runs on a warmer machine
            results = {name: leg(server, bootstrap, args.changes, args.partitions)
                       for name, leg in legs}  # fmt: skip
            for name, result in results.items():
                whole, stream = result.rates()
                print(f"round {round_}: {name:8} {result.events:,} events: whole leg "
                      f"{result.whole_s:6.2f}s = {whole:8,.0f} events/s; streaming "
                      f"{result.stream_s:6.2f}s = {stream:8,.0f} events/s")  # fmt: skip
            ours, theirs = results["ours"].rates(), results["Debezium"].rates()
            print(f"round {round_}: ours / Debezium: whole leg {ours[0] / theirs[0]:.2f}x, "
                  f"streaming {ours[1] / theirs[1]:.2f}x", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
