"""Cost of `--atomic-transactions`: the same backlog drained with and without it, one run.

The bank of the whole-transaction tests (tests/cdc/helpers.py) on SQLite: every source
transaction is one transfer of four one-row changes over three tables (debit, credit, a
ledger row, a counter), so its events spread over the partitions. Each leg sets up a
fresh source, writes the same seeded backlog of N changes (N / 4 transactions) with
capture triggers installed, then drains it SQLite -> embedded log (3 partitions) ->
SQLite; the clock runs from the start of the drain until the sink is idle, and the leg
fails unless the target equals the source. Legs alternate over --rounds (A B, B A, ...);
the medians and their ratio are printed, for the wall-clock rate and for this process's
CPU time per change (the whole pipeline runs in this process, so on a machine shared
with other load the CPU figure is the steadier one).

    .venv/bin/python bench/cdc_atomic.py                     # about 1 minute
    .venv/bin/python bench/cdc_atomic.py --changes 8000 --rounds 2
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cdc.capture_sqlite import SqliteCapture
from cdc.pipeline import Options, Pipeline
from cdc.sink import Sink
from cdc.transport_embedded import EmbeddedLog
from tests.cdc.helpers import ACCOUNTS, BANK_DDL, BANK_TABLES, START, transfer

CHANGES_PER_TRANSFER = 4


def new_bank(path: Path) -> sqlite3.Connection:
    """A bank's tables with its opening balances (the same on the source and the target)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    for statement in BANK_DDL:
        conn.execute(statement)
    conn.executemany("INSERT INTO accounts VALUES (?, ?)", [(i, START) for i in range(ACCOUNTS)])
    conn.execute("INSERT INTO counter VALUES (1, 0)")
    return conn


def write_transfers(conn: sqlite3.Connection, transfers: int, seed: int = 1) -> None:
    """`transfers` committed transactions of four one-row changes each."""
    rng = random.Random(seed)
    for _ in range(transfers):
        transfer(conn, rng)


def contents(path: Path) -> list[list[tuple[object, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return [conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in BANK_TABLES]
    finally:
        conn.close()


def leg(root: Path, changes: int, atomic: bool) -> tuple[float, float]:
    """Drain a fresh backlog of `changes` changes; return (changes/s, CPU us per change)."""
    tag = uuid.uuid4().hex[:8]
    src, dst = root / f"src-{tag}.db", root / f"dst-{tag}.db"
    new_bank(dst).close()
    conn = new_bank(src)
    capture = SqliteCapture(f"sqlite:///{src}", prefix=f"a{tag}")
    capture.setup(list(BANK_TABLES))
    capture.start_without_snapshot()
    write_transfers(conn, changes // CHANGES_PER_TRANSFER)
    conn.close()
    pipeline = Pipeline(
        EmbeddedLog(root / f"log-{tag}.db", partitions=3),
        capture=capture,
        sink=Sink(f"sqlite:///{dst}", source=f"sqlite:///{src}", pipeline=capture.prefix),
        options=Options(batch=5000, atomic_transactions=atomic),
    )
    start, cpu = time.perf_counter(), time.process_time()
    pipeline.run(threading.Event(), until_idle=True, idle_sleep_s=0.01)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    pipeline.close()
    if contents(src) != contents(dst):
        raise SystemExit(f"atomic={atomic}: the target differs from the source after the drain")
    return changes / seconds, cpu / changes * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20_000, help="per leg (4 per transaction)")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    if args.changes < CHANGES_PER_TRANSFER or args.rounds < 1:
        parser.error("--changes must be at least 4 and --rounds at least 1")
    root = Path(tempfile.mkdtemp(prefix="cdc-atomic-bench-"))
    changes = args.changes - args.changes % CHANGES_PER_TRANSFER
    rates: dict[bool, list[float]] = {False: [], True: []}
    cpus: dict[bool, list[float]] = {False: [], True: []}
    leg(root, min(changes, 2000), atomic=False)  # warm-up: imports, caches
    for round_ in range(args.rounds):
        order = (False, True) if round_ % 2 == 0 else (True, False)
        for atomic in order:
            rate, cpu = leg(root, changes, atomic)
            rates[atomic].append(rate)
            cpus[atomic].append(cpu)
        print(f"round {round_ + 1}: without {rates[False][-1]:,.0f}/s ({cpus[False][-1]:.0f} us "
              f"CPU per change), with --atomic-transactions {rates[True][-1]:,.0f}/s "
              f"({cpus[True][-1]:.0f} us)", flush=True)  # fmt: skip
    plain, whole = statistics.median(rates[False]), statistics.median(rates[True])
    cpu_plain, cpu_whole = statistics.median(cpus[False]), statistics.median(cpus[True])
    ratios = [a / p for p, a in zip(rates[False], rates[True], strict=True)]
    print(f"SQLite -> embedded log -> SQLite, {changes:,} changes in "
          f"{changes // CHANGES_PER_TRANSFER:,} transactions of 4: median without the option "
          f"{plain:,.0f} changes/s, with it {whole:,.0f} changes/s; ratio {whole / plain:.3f} "
          f"(per round {min(ratios):.3f}-{max(ratios):.3f}); CPU per change {cpu_plain:.0f} -> "
          f"{cpu_whole:.0f} us, per CPU-second x{cpu_plain / cpu_whole:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
