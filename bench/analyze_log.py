"""Benchmark `strangler analyze` on generated attribution logs, against parsing every line.

Two scenarios, generated deterministically into a temporary folder:
  * hot:   1,000,000 lines, about 500 statement shapes (a busy app: few shapes, many calls)
  * broad: 100,000 lines, 20,000 distinct shapes (an app with many ad-hoc queries)

Each runs the real CLI (`strangler analyze --log ... --out ...`) in a child process and
reports wall time, lines/s and the child's peak RSS. The baseline, measured in the same
run on a sample of the same lines, is what a naive analyzer does: json-decode each line and
parse its SQL with sqlglot. Its per-line cost, times the line count, is compared with ours.

    .venv/bin/python bench/analyze_log.py            # both scenarios
    .venv/bin/python bench/analyze_log.py --scale 0.1  # a quick smoke run
"""

from __future__ import annotations

import argparse
import json
import random
import resource
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


def run_cli(log: Path, out: Path) -> tuple[float, float]:
    """Run `strangler analyze` in a child; return (wall seconds, child peak RSS in MiB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from strangler.cli import main; main()",
            "analyze",
            "--log",
            str(log),
            "--out",
            str(out),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024


def scenario(name: str, lines: int, shapes: int, sample: int, work: Path) -> None:
    log = work / f"{name}.jsonl"
    generate(log, lines, shapes)
    wall, rss = run_cli(log, work / f"{name}-out")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply line counts")
    parser.add_argument("--only", choices=("hot", "broad"), help="run one scenario")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="analyze-bench-") as tmp:
        work = Path(tmp)
        if args.only in (None, "hot"):
            scenario("hot", int(1_000_000 * args.scale), 500, 2_000, work)
        if args.only in (None, "broad"):
            lines = int(100_000 * args.scale)
            scenario("broad", lines, min(20_000, lines // 5), 2_000, work)


if __name__ == "__main__":
    main()
