"""Benchmark `strangler analyze` on generated logs, against parsing every line and pgBadger.

Scenarios, generated deterministically into a temporary folder:
  * hot:    1,000,000 attribution-log lines, about 500 statement shapes (a busy app)
  * broad:  100,000 attribution-log lines, 20,000 distinct shapes (many ad-hoc queries)
  * pglog:  300,000 PostgreSQL stderr-log lines, every statement with fresh inlined
            literals (no two lines alike), plus pgBadger on the same file
  * pglog-1m: the same at 1,000,000 lines, for peak memory

Each runs the real CLI (`strangler analyze ... --out ...`) in a child process and reports
wall time, lines/s and that child's own peak RSS (os.wait4 on it: the largest process of
its tree, the analyzer or one of its log readers; not a maximum over earlier children).
The baseline, measured in the same run on a sample of the same lines, is what a naive
analyzer does: parse every statement with sqlglot. Its per-statement cost, times the
number of statements (every line of an attribution log; in a PostgreSQL log, the
statement lines, not the duration lines), is compared with ours. pgBadger (Debian's
`pgbadger`, if installed) runs with `-j` equal to the processes the analyzer uses
(`--jobs`).

    nice -n -10 .venv/bin/python bench/analyze_log.py              # everything
    .venv/bin/python bench/analyze_log.py --only pglog --jobs 2     # one scenario
    .venv/bin/python bench/analyze_log.py --scale 0.1               # a quick smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlglot

from analysis.mojo import mojofm

DOMAINS = ("customer", "catalog", "inventory", "cart", "order", "payment", "shipping", "review")
TABLES_PER_DOMAIN = 6
COLUMNS = tuple(f"col_{i}" for i in range(40))


def _tables() -> dict[str, list[str]]:
    return {d: [f"{d}_t{i}" for i in range(TABLES_PER_DOMAIN)] for d in DOMAINS}


def _statement(rng: random.Random, domain: str, tables: dict[str, list[str]], wide: bool) -> str:
    """One statement shape of a domain; `wide` draws from many column subsets (more shapes)."""
    own = tables[domain]
    columns = rng.sample(COLUMNS, rng.randint(2, 12 if wide else 4))
    cols = ", ".join(columns)
    kind = rng.random()
    t = rng.choice(own)
    if kind < 0.45:
        other = rng.choice(own if rng.random() < 0.85 else tables[rng.choice(DOMAINS)])
        return (
            f"SELECT {', '.join('a.' + c for c in columns)} FROM {t} AS a JOIN {other} AS b "
            f"ON b.id = a.{columns[0]} WHERE a.id = ? AND b.{columns[-1]} > ? LIMIT ?"
        )
    if kind < 0.65:
        return f"SELECT {cols} FROM {t} WHERE {columns[0]} = ? ORDER BY {columns[-1]}"
    if kind < 0.8:
        return f"INSERT INTO {t} ({cols}) VALUES ({', '.join('?' for _ in columns)})"
    if kind < 0.95:
        sets = ", ".join(f"{c} = ?" for c in columns[1:] or columns)
        return f"UPDATE {t} SET {sets} WHERE id = ?"
    return f"DELETE FROM {t} WHERE id = ?"


def generate(path: Path, lines: int, shapes: int, seed: int = 7) -> None:
    """Write `lines` attribution-log lines drawn from `shapes` statement shapes."""
    rng = random.Random(seed)
    tables = _tables()
    endpoints = [f"GET /api/{d}/e{i}" for d in DOMAINS for i in range(15)]
    templates: list[tuple[str, str]] = []
    seen: set[str] = set()
    while len(templates) < shapes:
        endpoint = rng.choice(endpoints)
        domain = endpoint.split("/")[2]
        sql = _statement(rng, domain, tables, wide=shapes > 1000)
        if sql not in seen:
            seen.add(sql)
            templates.append((endpoint, sql))
    weights = [1 / (i + 1) for i in range(len(templates))]  # a few hot shapes, a long tail
    # every shape at least once, the rest drawn with a long tail, in a shuffled order
    picks = list(range(len(templates))) + rng.choices(
        range(len(templates)), weights=weights, k=max(0, lines - len(templates))
    )
    rng.shuffle(picks)
    with path.open("w", encoding="utf-8") as fh:
        for n, index in enumerate(picks):
            endpoint, sql = templates[index]
            if n % 10 == 0:  # some drivers inline literals: same shape, new text
                sql = sql.replace("?", str(n % 997), 1)
            record = {
                "ts": f"2026-11-26T10:{n // 60000 % 60:02d}:{n // 1000 % 60:02d}.{n % 1000:03d}Z",
                "endpoint": endpoint,
                "sql": sql,
                "duration_ms": round(0.1 + (n % 50) / 10, 1),
            }
            fh.write(json.dumps(record) + "\n")


def baseline_per_line(path: Path, sample: int) -> float:
    """Seconds per line to json-decode and sqlglot-parse every line, on the first lines."""
    with path.open(encoding="utf-8") as fh:
        lines = [next(fh) for _ in range(sample)]
    started = time.perf_counter()
    for line in lines:
        sqlglot.parse_one(json.loads(line)["sql"])
    return (time.perf_counter() - started) / sample


CPU: dict[str, float] = {}  # command name -> CPU seconds of its last run (whole tree)


def run_child(command: list[str]) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS in MiB of that child's own tree).

    Its CPU seconds (user + system, the child and the processes it waited for) go to CPU.
    """
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{command[0]} failed with status {status}")
    CPU[Path(command[0]).name] = usage.ru_utime + usage.ru_stime
    return wall, usage.ru_maxrss / 1024


def run_cli(options: list[str], out: Path) -> tuple[float, float]:
    """Run `strangler analyze` in a child; return (wall seconds, its peak RSS in MiB)."""
    cli = [sys.executable, "-c", "from strangler.cli import main; main()", "analyze"]
    return run_child([*cli, *options, "--out", str(out)])


def scenario(name: str, lines: int, shapes: int, sample: int, work: Path) -> None:
    log = work / f"{name}.jsonl"
    generate(log, lines, shapes)
    wall, rss = run_cli(["--log", str(log)], work / f"{name}-out")
    per_line = baseline_per_line(log, sample)
    report = json.loads((work / f"{name}-out" / "report.json").read_text())
    stats = report["statements"]
    found = {t: info["context"] for t, info in report["tables"].items()}
    domains = {t: t.split("_t")[0] for t in found}  # the generator's ground truth
    print(
        f"{name}: {lines:,} lines, {stats['unique_shapes']:,} shapes "
        f"({stats['unparsed']} unparsed): {wall:.2f} s wall, {lines / wall:,.0f} lines/s, "
        f"peak RSS {rss:,.0f} MiB; {len(set(found.values()))} contexts, "
        f"MoJoFM {mojofm(found, domains)} against the generator's {len(DOMAINS)} domains"
    )
    print(
        f"  baseline (json + sqlglot per line, {sample:,}-line sample): {per_line * 1e3:.3f} "
        f"ms/line -> {per_line * lines:,.1f} s for all lines; ours is "
        f"{per_line * lines / wall:,.1f}x faster"
    )


def generate_pg_log(path: Path, lines: int, seed: int = 11) -> None:
    """A PostgreSQL stderr log (prefix '%m [%p] %a ', the handler as application_name)
    drawn from the same 500 statement shapes as `hot`, every literal fresh on every line
    (numbers, and quoted strings with an escaped quote), a duration line after every tenth."""
    rng = random.Random(seed)
    tables = _tables()
    endpoints = [f"{d}_e{i}" for d in DOMAINS for i in range(15)]
    templates: list[tuple[str, str]] = []
    seen: set[str] = set()
    while len(templates) < 500:
        endpoint = rng.choice(endpoints)
        sql = _statement(rng, endpoint.split("_e")[0], tables, wide=False)
        if sql not in seen:
            seen.add(sql)
            templates.append((endpoint, sql.replace("?", "{}")))
    weights = [1 / (i + 1) for i in range(len(templates))]
    with path.open("w", encoding="utf-8") as fh:
        n = 0
        for index in rng.choices(range(len(templates)), weights=weights, k=lines):
            if n >= lines:
                break
            endpoint, text = templates[index]
            values = [
                str(rng.randint(1, 10**6)) if k % 2 else f"'o''{rng.randint(1, 10**6)}'"
                for k in range(text.count("{}"))
            ]
            ts = f"2026-12-01 10:{n // 60000 % 60:02d}:{n // 1000 % 60:02d}.{n % 1000:03d} UTC"
            head = f"{ts} [{1000 + n % 64}] {endpoint} LOG:  "
            fh.write(f"{head}statement: {text.format(*values)}\n")
            n += 1
            if n % 10 == 0:
                fh.write(f"{head}duration: 0.{n % 1000:03d} ms\n")
                n += 1


_WARM_UP, _REPEATS = 300, 3  # sqlglot_per_statement's untimed statements, repeats


def sqlglot_per_statement(path: Path, sample: int) -> tuple[float, float, int]:
    """Wall and CPU seconds per statement to sqlglot-parse the statements of a log's first
    lines, and how many were timed.

    The first `_WARM_UP` statements are parsed untimed (sqlglot's first calls build its
    dialect and tokenizer tables: the first 2,000 ran a sixth slower); the next `sample` are then
    parsed `_REPEATS` times, and the fastest repeat counts (the least disturbed by other
    work on a shared machine), for wall and CPU time each.
    """
    statements = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if "statement: " in line:
                statements.append(line.split("statement: ", 1)[1])
            if len(statements) >= _WARM_UP + sample:
                break
    for sql in statements[:_WARM_UP]:
        sqlglot.parse_one(sql, read="postgres")
    timed = statements[_WARM_UP:]
    walls, cpus = [], []
    for _ in range(_REPEATS):
        started, cpu = time.perf_counter(), time.process_time()
        for sql in timed:
            sqlglot.parse_one(sql, read="postgres")
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - started)
    return min(walls) / len(timed), min(cpus) / len(timed), len(timed)


def pg_scenario(name: str, lines: int, jobs: int, work: Path, badger: bool) -> None:
    log = work / f"{name}.log"
    generate_pg_log(log, lines)
    options = ["--pg-log", str(log), "--jobs", str(jobs)]
    wall, rss = run_cli(options, work / f"{name}-out")
    cpu = CPU[Path(sys.executable).name]
    report = json.loads((work / f"{name}-out" / "report.json").read_text())
    stats = report["statements"]
    found = {t: info["context"] for t, info in report["tables"].items()}
    domains = {t: t.split("_t")[0] for t in found}  # the generator's ground truth
    print(
        f"{name}: {lines:,} log lines ({stats['total']:,} statements, all with inlined "
        f"literals), {stats['unique_shapes']:,} shapes: {wall:.2f} s wall with --jobs {jobs}, "
        f"{lines / wall:,.0f} lines/s, peak RSS {rss:,.0f} MiB; MoJoFM "
        f"{mojofm(found, domains)} against the generator's {len(DOMAINS)} domains"
    )
    # A naive analyzer parses each statement, not each line: about one line in eleven is
    # a duration line. So the ratio is the statements' sqlglot time over our time.
    statements = stats["total"]
    per_statement, per_statement_cpu, timed = sqlglot_per_statement(log, 2_000)
    print(
        f"  sqlglot.parse_one per statement (best of {_REPEATS} repeats of a {timed:,}-"
        f"statement sample, after {_WARM_UP} untimed): {per_statement * 1e3:.3f} ms wall, "
        f"{per_statement_cpu * 1e3:.3f} ms CPU -> {statements:,} statements in "
        f"{statements * per_statement:,.1f} s; ours is {statements * per_statement / wall:,.1f}x"
        f" that (wall); by CPU, {cpu:.2f} s for ours vs {statements * per_statement_cpu:,.1f} "
        f"s: {statements * per_statement_cpu / cpu:,.1f}x"
    )
    if not badger:
        return
    if shutil.which("pgbadger") is None:
        print("  pgBadger: not installed (apt-get install pgbadger); skipped")
        return
    command = ["pgbadger", "-q", "-j", str(jobs), "--prefix", "%m [%p] %a ", "-f", "stderr"]
    b_wall, b_rss = run_child([*command, "-o", str(work / f"{name}.html"), str(log)])
    b_cpu = CPU["pgbadger"]
    print(
        f"  pgBadger -j {jobs} on the same file: {b_wall:.2f} s wall, {lines / b_wall:,.0f} "
        f"lines/s, {b_cpu:.1f} s CPU, peak RSS {b_rss:,.0f} MiB; ours is "
        f"{b_wall / wall:.1f}x faster (wall), {b_cpu / cpu:.1f}x (CPU)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply line counts")
    parser.add_argument(
        "--only", choices=("hot", "broad", "pglog", "pglog-1m"), help="run one scenario"
    )
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="--jobs for the pg-log runs"
    )
    args = parser.parse_args()
    print(_load("before"))
    with tempfile.TemporaryDirectory(prefix="analyze-bench-") as tmp:
        work = Path(tmp)
        if args.only in (None, "hot"):
            scenario("hot", int(1_000_000 * args.scale), 500, 2_000, work)
        if args.only in (None, "broad"):
            lines = int(100_000 * args.scale)
            scenario("broad", lines, min(20_000, lines // 5), 2_000, work)
        if args.only in (None, "pglog"):
            pg_scenario("pglog", int(300_000 * args.scale), args.jobs, work, badger=True)
        if args.only in (None, "pglog-1m"):
            pg_scenario("pglog-1m", int(1_000_000 * args.scale), args.jobs, work, badger=False)
    print(_load("after"))


def _load(when: str) -> str:
    """The machine's load averages (1, 5, 15 min): other work on the cores skews walls."""
    one, five, fifteen = os.getloadavg()
    return f"load average {when}: {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


if __name__ == "__main__":
    main()
