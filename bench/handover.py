"""Handover figures: the catalog handed to its service and back under a mixed load.

One stack on loopback (tests/extracted/handover_stack.py): ShopCo and the catalog
service on SQLite, the router in front, the catalog's CDC worker on the embedded log (or,
with --stack pg, each on a PostgreSQL database and the worker on Kafka: a throwaway
cluster and broker are started, as bench/cdc_postgres.py does),
`monolith traffic` plus a write probe (new categories, renamed products) and a read
probe through the router. Each cycle hands the catalog over, waits, hands it back. At
the end forward CDC converges and every acknowledged probe write is looked up in the
monolith (the owner again) and the moved tables are compared row for row.

Printed side by side from the same run: the time writes were held (X-Strangler-Held-Ms)
against the latency of the writes that were not held, the commands' own durations, and
the failure / lost / duplicate counts (all must be 0).

    .venv/bin/python bench/handover.py                # 3 cycles, about 40 s
    .venv/bin/python bench/handover.py --cycles 5
    .venv/bin/python bench/handover.py --stack pg     # PostgreSQL + Kafka
    .venv/bin/python bench/handover.py --stack both   # both, one after the other, compared
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.cdc_pipeline import start_services
from handover.plan import HANDOVER, ROLLBACK
from handover.run import perform
from tests.extracted.handover_stack import CATALOG, Stack, p99

TABLES = CATALOG.tables  # (monolith query, service query), equal after convergence


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--owned-seconds", type=float, default=2.0, help="service owns it")
    parser.add_argument("--stack", choices=("sqlite", "pg", "both"), default="sqlite",
                        help="pg: PostgreSQL + Kafka, throwaway servers started here; "
                             "both: one after the other, compared")  # fmt: skip
    args = parser.parse_args()
    figures: dict[str, dict[str, float]] = {}
    with contextlib.ExitStack() as services:
        for kind in ("sqlite", "pg") if args.stack == "both" else (args.stack,):
            with tempfile.TemporaryDirectory() as folder:
                if kind == "pg":
                    broker, server = start_services(services)
                    stack = Stack(Path(folder), server, broker.bootstrap)
                else:
                    stack = Stack(Path(folder))
                print(f"-- stack: {STACKS[kind]}")
                try:
                    stack.wait_worker()
                    figures[kind] = run(stack, args.cycles, args.owned_seconds)
                finally:
                    stack.close()
    if len(figures) == 2:
        sqlite, pg = figures["sqlite"], figures["pg"]
        print("-- PostgreSQL + Kafka / SQLite + embedded log, same run: "
              + ", ".join(f"{name} {pg[name] / max(sqlite[name], 0.001):.2f}x"
                          for name in sqlite))  # fmt: skip


STACKS = {"sqlite": "SQLite + embedded log", "pg": "PostgreSQL + Kafka"}


def run(stack: Stack, cycles: int, owned: float) -> dict[str, float]:
    stack.start_load(seconds=2 + cycles * (owned + 2) + 1)
    durations: dict[str, list[float]] = {HANDOVER: [], ROLLBACK: []}
    time.sleep(2)
    for _ in range(cycles):
        for op, pause in ((HANDOVER, owned), (ROLLBACK, 2.0)):
            started = time.perf_counter()
            perform(stack.settings(), op)
            durations[op].append(time.perf_counter() - started)
            time.sleep(pause)
    stack.join_load()
    stack.converge()
    return report(stack, durations)


def report(stack: Stack, durations: dict[str, list[float]]) -> dict[str, float]:
    traffic = stack.traffic
    assert traffic is not None
    writes, reads = stack.writes, stack.reads
    held, unheld = writes.held_ms(), writes.unheld_ms()
    mono, svc = stack.monolith_url, stack.synced.url
    categories = stack.rows(mono, TABLES[0][0])
    present = {(i, n) for i, n, _ in categories}
    names = Counter(n for _, n, _ in categories)
    acked = [a.detail for a in writes.answers if a.kind == "POST category" and a.status == 201]
    lost = sum(1 for d in acked if d not in present)
    duplicated = sum(1 for d in acked if names[d[1]] > 1)
    unequal = [m for m, s in TABLES if stack.rows(mono, m) != stack.rows(svc, s)]
    print(f"requests: {traffic.requests} traffic + {len(writes.answers)} probe writes + "
          f"{len(reads.answers)} probe reads; served writes by {writes.served_by()}")  # fmt: skip
    failed = traffic.server_errors + traffic.transport_errors
    print(f"failed: traffic {failed}, probe writes {len(writes.failures())}, "
          f"probe reads {len(reads.failures())}")  # fmt: skip
    print(f"acknowledged new categories: {len(acked)}; lost {lost}; duplicated {duplicated}; "
          f"tables unequal after convergence: {len(unequal)}")  # fmt: skip
    print(f"reads held: {len(reads.held_ms())} of {len(reads.answers)}")
    print(
        f"writes held: {len(held)}; held ms p50 {_median(held):.0f}, p99 {p99(held):.0f}, "
        f"max {max(held, default=0):.0f}  |  writes not held: {len(unheld)}, latency ms "
        f"p50 {_median(unheld):.1f}, p99 {p99(unheld):.1f}  |  held p99 / unheld p99 = "
        f"{p99(held) / max(p99(unheld), 0.001):.1f}x"
    )
    for op, values in durations.items():
        print(f"{op}: {len(values)} runs, command s median {_median(values):.2f}, "
              f"max {max(values):.2f}")  # fmt: skip
    return {
        "held p99": p99(held), "unheld write p99": p99(unheld),
        "handover median": _median(durations[HANDOVER]),
        "rollback median": _median(durations[ROLLBACK]),
    }  # fmt: skip


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


if __name__ == "__main__":
    main()
