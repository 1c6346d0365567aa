"""Cost of the SQL attribution log: monolith requests/s with and without it, in one run.

Three measurements, side by side in alternating rounds (A B A B ...) on one seeded
SQLite database, so that machine noise hits both alike:

1. In process (the headline figure): two ShopCo apps, one with the log, one without,
   driven through Flask's test client with the same request mix; requests per second of
   *process CPU time*, which other load on a shared machine barely disturbs.
2. Over HTTP: two `strangler monolith serve` processes, one with `--sql-log`, driven by
   4 client threads; requests per second of each *server's* CPU time, and wall-clock
   requests/s (noisier, closer to what a user sees).
3. Worst case: a tight loop of tiny statements on one connection, per CPU-second.

Each round pays for its own logging. The log encodes and writes its records on a
flush thread (every 0.5 s); a round that stopped the clock before the flush would leave
its tail to be encoded during the next round, which alternates with a round without the
log. So an in-process round ends with an explicit flush inside the timed region, a
server's CPU is read after a pause longer than the flush interval (both servers alike),
and the worst case closes its writer before the clock stops.

On a loaded machine single rounds move by ±30 %: use more, shorter rounds
(`--rounds 30 --requests 150`) and read the median of the per-pair ratios.

Target: overhead under 10 %.

    .venv/bin/python bench/sqllog_overhead.py [--rounds 6] [--seconds 3] [--clients 4]
"""

from __future__ import annotations

import argparse
import http.client
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from monolith.app import create_app
from monolith.config import MonolithConfig
from monolith.migrate import upgrade
from monolith.seed import seed
from monolith.sqllog import install_sql_log

SETTLE_S = 0.8  # longer than the log's 0.5 s flush interval
PATHS = [
    "/api/products?page=1&per_page=20",
    "/api/products/3",
    "/api/customers/5",
    "/api/orders/7",
    "/api/categories",
    "/api/inventory/3",
    "/api/orders?page=1",
    "/api/reviews?product_id=3",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db_url: str, port: int, sql_log: Path | None) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "strangler", "monolith", "serve", "--port", str(port)]
    if sql_log is not None:
        cmd += ["--sql-log", str(sql_log)]
    env = {**os.environ, "DATABASE_URL": db_url, "LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"monolith on port {port} did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, all its threads (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drive(port: int, seconds: float, clients: int) -> tuple[int, float]:
    """Send the request mix from `clients` threads for `seconds`; return (requests, seconds)."""
    counts = [0] * clients
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        n = i
        while time.monotonic() < stop:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", PATHS[n % len(PATHS)])
            response = conn.getresponse()
            response.read()
            if response.status >= 500:
                raise SystemExit(f"server error {response.status} on {PATHS[n % len(PATHS)]}")
            conn.close()
            counts[i] += 1
            n += 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts), time.monotonic() - started


def statements_per_cpu_second(db_url: str, log: Path | None, statements: int = 5000) -> float:
    """Worst case: a tight loop of tiny statements, with or without the log listener;
    statements per second of process CPU time (the writer's close, which encodes and
    writes what is still queued, is part of the cost)."""
    engine = create_engine(db_url)
    with engine.connect() as conn:  # open the pool outside the measurement
        conn.execute(text("SELECT 1"))
    started = time.process_time()
    writer = install_sql_log(None, engine, log) if log is not None else None
    with engine.connect() as conn:
        for n in range(statements):
            conn.execute(text("SELECT name FROM products WHERE id = :id"), {"id": n % 50 + 1})
    if writer is not None:
        writer.close()
    rate = statements / (time.process_time() - started)
    engine.dispose()
    return rate


def in_process_rates(db_url: str, log: Path, rounds: int, requests: int) -> dict[str, list[float]]:
    """Requests per CPU-second through the test client, with and without the log."""
    apps = {
        "without log": create_app(MonolithConfig(database_url=db_url, log_level="WARNING")),
        "with log": create_app(
            MonolithConfig(database_url=db_url, log_level="WARNING", sql_log=str(log))
        ),
    }
    clients = {name: app.test_client() for name, app in apps.items()}
    writer = apps["with log"].extensions["sql_log"]
    rates: dict[str, list[float]] = {name: [] for name in apps}
    for r in range(rounds + 1):
        order = list(apps) if r % 2 == 0 else list(reversed(apps))
        for name in order:
            started = time.process_time()
            for i in range(requests):
                response = clients[name].get(PATHS[i % len(PATHS)])
                if response.status_code >= 500:
                    raise SystemExit(f"server error {response.status_code}")
            if name == "with log":
                writer.flush()  # this round's records, encoded and written in this round
            if r > 0:  # round 0 warms caches up
                rates[name].append(requests / (time.process_time() - started))
    writer.close()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=400, help="per in-process round")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="strangler-bench-"))
    db_url = f"sqlite:///{work / 'shopco.db'}"
    upgrade(db_url)
    seed(create_engine(db_url), scale=1)
    logging.disable(logging.WARNING)
    cpu = in_process_rates(db_url, work / "inproc.jsonl", args.rounds, args.requests)
    report("in process, requests per CPU-second", cpu)
    log = work / "sql.jsonl"
    ports = {"without log": free_port(), "with log": free_port()}
    plain = start_server(db_url, ports["without log"], None)
    logged = start_server(db_url, ports["with log"], log)
    pids = {"without log": plain.pid, "with log": logged.pid}
    rates: dict[str, list[float]] = {name: [] for name in ports}
    per_cpu: dict[str, list[float]] = {name: [] for name in ports}
    try:
        drive(ports["without log"], 1.0, args.clients)  # warm both up
        drive(ports["with log"], 1.0, args.clients)
        time.sleep(SETTLE_S)
        for r in range(args.rounds):
            order = list(ports) if r % 2 == 0 else list(reversed(ports))
            for name in order:
                cpu_before = cpu_seconds(pids[name])
                done, elapsed = drive(ports[name], args.seconds, args.clients)
                time.sleep(SETTLE_S)  # the log's flush thread writes this round's tail
                rates[name].append(done / elapsed)
                per_cpu[name].append(done / (cpu_seconds(pids[name]) - cpu_before))
    finally:
        for proc in (plain, logged):
            proc.terminate()
            proc.wait(10)
    report("over HTTP, requests per server CPU-second", per_cpu)
    report("over HTTP, wall-clock requests/s", rates)
    print(f"log lines written over HTTP: {sum(1 for _ in log.open()) if log.exists() else 0}")
    micro: dict[str, list[float]] = {"without log": [], "with log": []}
    for r in range(args.rounds):
        order = list(micro) if r % 2 == 0 else list(reversed(micro))
        for name in order:
            log_file = work / f"micro-{r}.jsonl" if name == "with log" else None
            micro[name].append(statements_per_cpu_second(db_url, log_file))
    report("worst case, tiny statements in a loop, per CPU-second", micro, target=False)
    bare, logged_rate = (statistics.median(micro[name]) for name in ("without log", "with log"))
    print(f"  {1e6 / logged_rate - 1e6 / bare:.1f} us of CPU per statement")
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(0)


def report(title: str, rates: dict[str, list[float]], *, target: bool = True) -> None:
    without = statistics.median(rates["without log"])
    with_log = statistics.median(rates["with log"])
    overhead = 1 - with_log / without
    print(f"{title}:")
    print(f"  without log: {without:8.1f}  (rounds: {_fmt(rates['without log'])})")
    print(f"  with log:    {with_log:8.1f}  (rounds: {_fmt(rates['with log'])})")
    met = "met" if overhead < 0.10 else "NOT met"
    verdict = f"target < 10 %: {met}" if target else "no target"
    ratio = with_log / without
    # Rounds run in A/B pairs, back to back: the pair's ratio cancels slow drifts in load.
    pairs = [b / a for a, b in zip(rates["without log"], rates["with log"], strict=True)]
    spread = f"{min(pairs):.3f}-{max(pairs):.3f}"
    print(f"  ratio {ratio:.3f}, overhead {overhead * 100:.1f} % ({verdict}); "
          f"per pair median {statistics.median(pairs):.3f} ({spread})")  # fmt: skip


def _fmt(values: list[float]) -> str:
    return " ".join(f"{v:.0f}" for v in values)


if __name__ == "__main__":
    main()
