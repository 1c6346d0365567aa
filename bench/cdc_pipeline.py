"""CDC throughput and lag, side by side with baselines measured in the same run.

Scenarios (all on this machine, in one process unless noted):
  1. trigger overhead: the same write workload on the source with and without capture
     triggers installed (ratio = cost of capture for the application).
  2. end to end: SQLite -> embedded log -> SQLite, draining a backlog of N changes
     (changes/s), against a plain bulk copy of the same number of rows (rows/s).
  3. lag: a steady 1,000 changes/s for some seconds while the pipeline runs; p50/p99 of
     commit-to-apply lag (source.ts_ms to the end of the sink transaction).
  4. optional, with --kafka HOST:PORT and --postgres URL: scenario 2 and 3 through Apache
     Kafka into PostgreSQL, capturing from SQLite (bench/cdc_postgres.py captures with pgoutput).

    .venv/bin/python bench/cdc_pipeline.py                  # about 1 minute
    .venv/bin/python bench/cdc_pipeline.py --changes 20000  # quicker
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import queue
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import workload
from bench.workload import ChangeMix
from cdc import fastjson
from cdc.bootstrap import open_pipeline, open_transport
from cdc.capture_pg import PgCapture
from cdc.capture_sqlite import SqliteCapture
from cdc.config import CdcConfig
from cdc.pipeline import Options, Pipeline
from cdc.sink import Sink
from cdc.transport import Record, Transport
from cdc.transport_embedded import EmbeddedLog
from cdc.transport_kafka import KafkaTransport

if TYPE_CHECKING:
    from tests.services import KafkaBroker, PostgresServer

DDL = """CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER,
price NUMERIC(10, 2), updated DATETIME)"""


def make_source(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(DDL)


def write(path: Path, changes: int, mix: ChangeMix | None = None, per_txn: int = 100) -> float:
    """Write `changes` one-row changes of `mix` (60% insert, 30% update, 10% delete of live
    rows; a fresh seeded mix by default); return seconds."""
    mix = mix or ChangeMix()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=NORMAL")
    cursor = conn.cursor()
    start = time.perf_counter()
    done = 0
    while done < changes:
        cursor.execute("BEGIN")
        batch = min(per_txn, changes - done)
        workload.write(cursor, mix, batch, workload.SQLITE)
        cursor.execute("COMMIT")
        done += batch
    conn.close()
    return time.perf_counter() - start


def tally(url: str) -> tuple[int, ...]:
    """Row count and sums of `items` at a SQLAlchemy URL (the source must equal the target)."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(sa.text(workload.TALLY)).one()
    engine.dispose()
    return tuple(int(value) for value in row)


def check_applied(source: str, target: str) -> None:
    """Fail the run unless the target holds exactly what the source holds."""
    if (want := tally(source)) != (got := tally(target)):
        raise SystemExit(f"target {got} != source {want} (rows, sum qty, sum id)")


def bulk_copy(src: Path, dst: Path, rows: int) -> float:
    """Baseline: copy `rows` rows with one executemany (no CDC at all)."""
    data = [
        (i, f"item {i}", i % 100, (i % 10**5) / 100, "2026-01-01 00:00:00") for i in range(rows)
    ]
    start = time.perf_counter()
    with sqlite3.connect(dst) as conn:
        conn.execute(DDL)
        conn.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?)", data)
    return time.perf_counter() - start


class LagSink(Sink):
    """A sink that records commit-to-apply lag per applied event."""

    lags: list[int]

    def apply(self, records: list[Record]) -> object:  # type: ignore[override]
        result = super().apply(records)
        now = int(time.time() * 1000)
        for record in records:
            if record.message.value:
                doc = fastjson.loads(record.message.value)
                if doc.get("op") in ("c", "u", "d"):
                    self.lags.append(now - int(doc["source"]["ts_ms"]))
        return result


def group(prefix: str) -> str:
    """One consumer group per scenario: on Kafka, a member joining a group whose previous
    member's leave went unseen waits for that member's session timeout (45 s)."""
    return f"g-{prefix}"


def drain(pipeline: Pipeline) -> tuple[float, float]:
    """Run the pipeline until idle; return (wall seconds, this process's CPU seconds).

    The CPU time (every thread of this process) moves much less than the wall time
    when other load shares the cores."""
    start, cpu = time.perf_counter(), time.process_time()
    pipeline.run(threading.Event(), until_idle=True, idle_sleep_s=0.01)
    return time.perf_counter() - start, time.process_time() - cpu


def prepare_target(target: str, source: str, topic: str, pipeline: str) -> None:
    """Create the target table as the sink does on first use (a copy of the source table),
    so that a sink run without a source (`cdc run --sink --topics`) finds it."""
    sink = Sink(target, source=source, pipeline=pipeline)
    with sink.engine.begin() as conn:
        sink.targets.get(conn, sink.mapping.for_table("items", topic), None, None)
    sink.engine.dispose()


def _side(
    cfg: CdcConfig, topics: list[str], ready: Any, go: Any, published: Any, results: Any
) -> None:
    """One process of a split drain: `cdc run --source` (capture only, `published` is set
    when it is done) or `cdc run --sink --topics` (sink only, done once it has applied
    everything published), built by the composition root as the CLI builds them."""
    with open_pipeline(cfg, topics=topics) as flow:
        ready.set()
        go.wait()
        cpu = time.process_time()
        if cfg.source:
            flow.run(threading.Event(), until_idle=True, idle_sleep_s=0.01)
            published.set()
        else:
            while True:  # caught up with the log; done once the capture had finished before
                finished = published.is_set()
                flow.run(threading.Event(), until_idle=True, idle_sleep_s=0.01)
                if finished:
                    break
        results.put((time.perf_counter(), time.process_time() - cpu))


def drain_split(capture: CdcConfig, sink: CdcConfig, topics: list[str]) -> tuple[float, float]:
    """Drain with the capture and the sink in two processes, as two `strangler cdc run`
    processes do; return (wall seconds, CPU seconds of both processes). Start-up (imports,
    connections) is left out, as it is for the one-process drain."""
    mp = multiprocessing.get_context("spawn")
    go, published, results = mp.Event(), mp.Event(), mp.Queue()
    readies = [mp.Event(), mp.Event()]
    sides = [
        mp.Process(target=_side, args=(cfg, topics, ready, go, published, results))
        for cfg, ready in zip((capture, sink), readies, strict=True)
    ]
    for side in sides:
        side.start()
    for ready, side in zip(readies, sides, strict=True):
        while not ready.wait(0.5):
            if not side.is_alive():
                raise SystemExit(f"a drain process failed to start (exit code {side.exitcode})")
    start = time.perf_counter()
    go.set()
    ends: list[tuple[float, float]] = []
    while len(ends) < len(sides):
        with contextlib.suppress(queue.Empty):
            ends.append(results.get(timeout=1.0))
            continue
        if any(side.exitcode not in (None, 0) for side in sides):
            raise SystemExit("a drain process failed (see its traceback above)")
    for side in sides:
        side.join()
    return max(end for end, _ in ends) - start, sum(cpu for _, cpu in ends)


def transport_spec(transport: Transport) -> str:
    """The `embedded:PATH` / `kafka:HOST:PORT` spec an open transport was made from."""
    if isinstance(transport, EmbeddedLog):
        return f"embedded:{transport.path}"
    assert isinstance(transport, KafkaTransport)
    return f"kafka:{transport.bootstrap}"


def end_to_end(
    root: Path, changes: int, transport: Transport, target: str, *, split: bool = False
) -> tuple[float, float]:
    """Drain a backlog of `changes`; return (changes/s, CPU microseconds per change).

    With `split`, the capture and the sink run in two processes (CPU: both of them)."""
    src = root / f"e2e-src-{type(transport).__name__}-{'split' if split else 'one'}.db"
    make_source(src)
    capture = SqliteCapture(f"sqlite:///{src}", prefix=f"b{int(time.time() * 1000) % 10**8}")
    capture.setup(["items"])
    capture.start_without_snapshot()
    write(src, changes)
    source = f"sqlite:///{src}"
    seconds, cpu = drain_backlog(transport, capture, source, target, split=split)
    check_applied(source, target)
    return changes / seconds, cpu / changes * 1e6


def drain_backlog(
    transport: Transport, capture: SqliteCapture | PgCapture, source: str, target: str,
    *, split: bool,
) -> tuple[float, float]:  # fmt: skip
    """Drain what `capture` has pending into `target`; return (wall s, CPU s). One process
    (capture and sink threads), or with `split` two: capture and sink on their own."""
    if split:
        (topic,) = capture.topics()
        prepare_target(target, source, topic, capture.prefix)
        common: dict[str, Any] = {
            "transport": transport_spec(transport), "prefix": capture.prefix, "batch": 5000,
            "pipeline": capture.prefix, "group": group(capture.prefix),
        }  # fmt: skip
        slot = {"slot": capture.slot} if isinstance(capture, PgCapture) else {}
        return drain_split(
            CdcConfig(source=source, **slot, **common), CdcConfig(sink=target, **common), [topic]
        )
    sink = Sink(target, source=source, pipeline=capture.prefix)
    options = Options(batch=5000, group=group(capture.prefix))
    pipeline = Pipeline(transport, capture=capture, sink=sink, options=options)
    result = drain(pipeline)
    pipeline.close()
    return result


def steady_lag(
    root: Path, rate: int, seconds: float, transport: Transport, target: str
) -> list[int]:
    src = root / f"lag-src-{type(transport).__name__}.db"
    make_source(src)
    capture = SqliteCapture(f"sqlite:///{src}", prefix=f"l{int(time.time() * 1000) % 10**8}")
    capture.setup(["items"])
    capture.start_without_snapshot()
    sink = LagSink(target, source=f"sqlite:///{src}", pipeline=capture.prefix)
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
    per_tick = max(1, rate // 100)
    deadline = time.perf_counter() + seconds
    tick = time.perf_counter()
    mix = ChangeMix()
    while time.perf_counter() < deadline:
        write(src, per_tick, mix, per_txn=per_tick)
        tick += per_tick / rate
        time.sleep(max(0.0, tick - time.perf_counter()))
    time.sleep(1.0)
    stop.set()
    runner.join()
    pipeline.close()
    return sink.lags


def pct(values: list[int], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=1000, help="steady changes/s for the lag run")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--kafka", help="HOST:PORT of a Kafka broker for scenario 4")
    parser.add_argument("--postgres", help="SQLAlchemy URL of an empty PostgreSQL database")
    parser.add_argument(
        "--services", action="store_true",
        help="start a throwaway Kafka broker and PostgreSQL cluster (as the tests do) for 4",
    )  # fmt: skip
    args = parser.parse_args()
    args.fresh_database = None  # a factory of empty databases, with --services
    with contextlib.ExitStack() as services:
        if args.services:
            broker, server = start_services(services)
            args.kafka, args.postgres = broker.bootstrap, server.create_database()
            args.fresh_database = server.create_database
        run_all(args)


def start_services(stack: contextlib.ExitStack) -> tuple[KafkaBroker, PostgresServer]:
    """A throwaway broker and cluster (tests.services), stopped when `stack` closes; a
    missing or broken one ends the run with its one-line reason."""
    from tests.services import ServiceError, kafka_and_postgres

    try:
        return stack.enter_context(kafka_and_postgres())
    except ServiceError as exc:
        raise SystemExit(f"cannot start the benchmark's services: {exc}") from None


def run_all(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="cdc-bench-"))

    plain, trig = root / "plain.db", root / "trig.db"
    make_source(plain)
    make_source(trig)
    SqliteCapture(f"sqlite:///{trig}").setup(["items"])
    t_plain, t_trig = write(plain, args.changes), write(trig, args.changes)
    print(f"1. source writes, {args.changes:,} changes: without triggers "
          f"{args.changes / t_plain:,.0f}/s, with capture triggers {args.changes / t_trig:,.0f}/s "
          f"-> capture costs x{t_trig / t_plain:.2f} write time")  # fmt: skip

    copy_rate = args.changes / bulk_copy(plain, root / "copy.db", args.changes)
    log = open_transport(f"embedded:{root / 'log.db'}", partitions=3)
    rate, cpu = end_to_end(root, args.changes, log, f"sqlite:///{root / 'e2e-dst.db'}")
    split, split_cpu = end_to_end(
        root, args.changes, log, f"sqlite:///{root / 'e2e-split-dst.db'}", split=True
    )
    print(f"2. SQLite -> embedded log -> SQLite (target >= 10,000 changes/s), end to end: "
          f"one process (capture and sink threads) {rate:,.0f} changes/s, {cpu:.0f} us of "
          f"CPU per change; capture and sink in two processes {split:,.0f} changes/s, "
          f"{split_cpu:.0f} us (both processes); two/one {split / rate:.2f}; plain bulk copy "
          f"{copy_rate:,.0f} rows/s, ratio (two processes) {split / copy_rate:.3f}")  # fmt: skip

    lags = steady_lag(root, args.rate, args.seconds, open_transport(f"embedded:{root / 'lag.db'}"),
                      f"sqlite:///{root / 'lag-dst.db'}")  # fmt: skip
    print(f"3. embedded, steady {args.rate}/s for {args.seconds:.0f}s: {len(lags):,} events "
          f"({len(lags) / args.seconds:,.0f}/s written), "
          f"lag p50 {pct(lags, 50):.0f} ms, p99 {pct(lags, 99):.0f} ms")  # fmt: skip

    if args.kafka and args.postgres:
        kafka = open_transport(f"kafka:{args.kafka}", partitions=3)
        k_rate, k_cpu = end_to_end(root, args.changes, kafka, args.postgres)
        print(f"4a. SQLite -> Kafka -> PostgreSQL: one process {k_rate:,.0f} changes/s end to "
              f"end ({k_cpu:.0f} us of this process's CPU per change); "
              f"ratio to the embedded leg {k_rate / rate:.3f}")  # fmt: skip
        if args.fresh_database is not None:
            ks_rate, ks_cpu = end_to_end(
                root, args.changes, kafka, args.fresh_database(), split=True
            )
            print(f"    two processes {ks_rate:,.0f} changes/s ({ks_cpu:.0f} us of both "
                  f"processes' CPU per change); two/one {ks_rate / k_rate:.2f}")  # fmt: skip
        k_lags = steady_lag(root, args.rate, args.seconds, kafka, args.postgres)
        print(f"4b. Kafka + PostgreSQL, steady {args.rate}/s: lag p50 {pct(k_lags, 50):.0f} ms, "
              f"p99 {pct(k_lags, 99):.0f} ms (target p99 <= 250 ms)")  # fmt: skip
        kafka.close()


if __name__ == "__main__":
    main()
