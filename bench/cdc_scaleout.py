"""Sink scale-out: one sink process vs two `--worker i/2` processes on the same Kafka topic.

Starts a throwaway KRaft broker and PostgreSQL cluster (tests.services). A PostgreSQL
source gets N one-row changes (inserts, then updates of existing rows, then deletes of
existing rows; every change touches exactly one row), captured through pgoutput into
a Kafka topic of 4 partitions. Then, side by side in one run and each into a fresh
PostgreSQL target, `strangler cdc run --sink ... --topics ... --once` drains the topic
as one process and as two worker processes (`--worker 0/2`, `--worker 1/2`). The rate
is changes / wall time from the launch of the processes until the last one exits
(process start-up included in both), beside the CPU time the sink processes used per
10,000 changes (what a second worker costs, whatever else runs on the machine); rounds
alternate which goes first; each target must equal the source.

    .venv/bin/python bench/cdc_scaleout.py                   # about 2 minutes
    .venv/bin/python bench/cdc_scaleout.py --changes 40000 --rounds 1
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cdc.bootstrap import pipeline_from, transport_from  # noqa: E402
from cdc.capture_pg import PgCapture, _dsn  # noqa: E402
from cdc.config import CdcConfig  # noqa: E402
from tests.cdc.helpers import checksum  # noqa: E402

PARTITIONS = 4


def write_changes(dsn: str, changes: int) -> None:
    """Inserts (half), updates (a third) and deletes (the rest) of existing rows, one row
    each, 500 to a transaction."""
    inserts, updates = changes // 2, changes // 3
    deletes = changes - inserts - updates
    conn = psycopg2.connect(dsn)
    with conn.cursor() as cur:
        for start in range(0, inserts, 500):
            cur.execute(
                "INSERT INTO items SELECT g, 'n' || g, g %% 100 FROM generate_series(%s, %s) g",
                (start, min(start + 500, inserts) - 1),
            )
            conn.commit()
        for start in range(0, updates, 500):
            cur.execute(
                "UPDATE items SET qty = qty + 1 WHERE id BETWEEN %s AND %s",
                (start, min(start + 500, updates) - 1),
            )
            conn.commit()
        for start in range(inserts - deletes, inserts, 500):
            cur.execute(
                "DELETE FROM items WHERE id BETWEEN %s AND %s",
                (start, min(start + 500, inserts) - 1),
            )
            conn.commit()
    conn.close()


def publish_all(cfg: CdcConfig, changes: int) -> str:
    """Create the slot, write `changes` changes and capture them all into Kafka; return
    the topic."""
    capture = PgCapture(cfg.source or "", prefix=cfg.prefix, slot=cfg.slot)
    transport = transport_from(cfg)
    try:
        capture.setup(["items"], create_slot=False)
        pipeline = pipeline_from(cfg, transport, capture=capture)
        pipeline.start()  # the slot, and the initial snapshot of the still empty table
        while not capture.has_position():
            pipeline.capture_once()
        writer = threading.Thread(target=write_changes, args=(_dsn(cfg.source or ""), changes))
        writer.start()
        published = 0
        deadline = time.monotonic() + 900
        while published < changes and time.monotonic() < deadline:
            published += pipeline.capture_once()[0]
        writer.join()
        if published != changes:
            raise SystemExit(f"{published:,} events captured for {changes:,} changes")
        return pipeline.topics[0]
    finally:
        transport.close()
        capture.close()


def drain(cfg: CdcConfig, topic: str, dst: str, workers: int) -> tuple[float, float]:
    """Apply the whole topic into `dst` with `workers` sink processes; return the wall
    seconds and the CPU seconds the processes used together."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "STRANGLER_CDC_TRANSPORT": cfg.transport,
        "STRANGLER_CDC_BATCH": str(cfg.batch),
        "STRANGLER_CDC_GROUP": f"g{uuid.uuid4().hex[:8]}",
    }
    code = "from strangler.cli.cdc import cdc; cdc()"
    with tempfile.TemporaryDirectory() as tmp:
        logs = [Path(tmp) / f"worker{i}.log" for i in range(workers)]
        started = time.perf_counter()
        procs = []
        for i, log in enumerate(logs):
            with log.open("w") as out:
                command = [sys.executable, "-c", code, "run", "--sink", dst, "--topics", topic,
                           "--once", "--worker", f"{i}/{workers}"]  # fmt: skip
                procs.append(subprocess.Popen(command, env=env, stdout=out, stderr=out))
        cpu = 0.0
        for proc, log in zip(procs, logs, strict=True):
            _, status, usage = os.wait4(proc.pid, 0)  # the child's own CPU time
            proc.returncode = os.waitstatus_to_exitcode(status)
            cpu += usage.ru_utime + usage.ru_stime
            if proc.returncode != 0 or "0 dead-lettered" not in log.read_text():
                raise SystemExit(f"a sink worker failed: {log.read_text()[-2000:]}")
        return time.perf_counter() - started, cpu


def run(args: argparse.Namespace) -> None:
    from tests.services import ServiceError, kafka_and_postgres

    with contextlib.ExitStack() as stack:
        try:
            kafka, postgres = stack.enter_context(kafka_and_postgres())
        except ServiceError as exc:
            raise SystemExit(f"cannot start the benchmark's services: {exc}") from None
        src = postgres.create_database()
        conn = psycopg2.connect(_dsn(src))
        with conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE items (id integer PRIMARY KEY, name text, qty integer)")
        conn.close()
        cfg = CdcConfig(
            source=src, transport=f"kafka:{kafka.bootstrap}", partitions=PARTITIONS,
            prefix=f"b{uuid.uuid4().hex[:6]}", slot=f"s{uuid.uuid4().hex[:8]}", batch=5000,
        )  # fmt: skip
        topic = publish_all(cfg, args.changes)
        print(f"{args.changes:,} changes on {PARTITIONS} partitions of {topic}; "
              f"{os.cpu_count()} cores shared with the broker and PostgreSQL")  # fmt: skip
        ratios = []
        for n in range(args.rounds):
            rates, cpu = {}, {}
            for workers in (1, 2) if n % 2 == 0 else (2, 1):  # alternate which goes first
                dst = postgres.create_database()
                seconds, cpu_s = drain(cfg, topic, dst, workers)
                if checksum(src, "items") != checksum(dst, "items"):
                    raise SystemExit(f"the target of {workers} worker(s) differs from the source")
                rates[workers] = args.changes / seconds
                cpu[workers] = cpu_s / args.changes * 10_000
            ratios.append(rates[2] / rates[1])
            load = os.getloadavg()[0]
            print(f"round {n + 1}: one sink {rates[1]:,.0f} changes/s, two workers "
                  f"{rates[2]:,.0f} changes/s -> x{ratios[-1]:.2f}; sink CPU per 10,000 "
                  f"changes {cpu[1]:.2f} s vs {cpu[2]:.2f} s; load {load:.1f}")  # fmt: skip
        spread = f"x{min(ratios):.2f}-x{max(ratios):.2f}"
        print(f"two workers vs one: {spread} over {len(ratios)} rounds")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--changes", type=int, default=120_000)
    parser.add_argument("--rounds", type=int, default=3)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
