"""Nothing lost, nothing duplicated in effect: SIGKILL the pipeline at random moments.

A randomized workload of at least 100,000 committed changes (inserts, updates, deletes,
multi-row statements, rollbacks, primary-key updates) runs against the source while
`strangler cdc run` (capture + embedded log + sink in one process) is killed with SIGKILL
and restarted several times. Afterwards the target equals the source, table by table.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.cdc.helpers import checksum
from tests.cdc.test_pipeline import DDL

REPO = Path(__file__).resolve().parents[2]
CHANGES = 100_000


def run_cdc(*args: str, cwd: Path) -> subprocess.Popen[str]:
    code = "from strangler.cli.cdc import cdc; cdc()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def write_changes(path: Path, target: int, seed: int, done: threading.Event) -> int:
    """Commit at least `target` row changes in small random transactions."""
    rng = random.Random(seed)
    conn = sqlite3.connect(path, isolation_level=None, timeout=60)
    conn.execute("PRAGMA synchronous=NORMAL")
    committed = 0
    while committed < target:
        conn.execute("BEGIN IMMEDIATE")
        changed = sum(step(conn, rng) for _ in range(rng.randrange(1, 30)))
        if rng.random() < 0.08:
            conn.execute("ROLLBACK")
        else:
            conn.execute("COMMIT")
            committed += changed
    conn.close()
    done.set()
    return committed


def step(conn: sqlite3.Connection, rng: random.Random) -> int:
    """Run one random statement; return the rows it changed (trigger writes not counted)."""
    key, pick = rng.randrange(2000), rng.random()
    if pick < 0.35:
        price = rng.randrange(100000) / 100
        sql = "INSERT OR REPLACE INTO products VALUES (?, ?, ?, '2024-02-03', ?)"
        args: tuple[object, ...] = (key, f"p{rng.randrange(10**6)}", price, pick < 0.2)
    elif pick < 0.5:  # multi-row
        sql, args = "UPDATE products SET price = ROUND(price + 1, 2) WHERE id % 97 = ?", (key % 97,)
    elif pick < 0.6:
        sql, args = "DELETE FROM products WHERE id BETWEEN ? AND ?", (key, key + 3)
    elif pick < 0.85:
        sql, args = "INSERT OR REPLACE INTO lines VALUES (?, ?, ?)", (key, key % 5, key)
    elif pick < 0.95:  # primary-key update
        sql, args = "UPDATE OR IGNORE lines SET line = line + 5 WHERE order_id = ?", (key,)
    else:
        sql, args = "DELETE FROM lines WHERE order_id % 50 = ?", (key % 50,)
    return max(0, conn.execute(sql, args).rowcount)


def seeded_source(tmp_path: Path, products: int) -> tuple[Path, str, str]:
    """The source database with `products` rows: (its path, its URL, the target's URL)."""
    src_path = tmp_path / "mono.db"
    conn = sqlite3.connect(src_path, isolation_level=None)
    conn.executescript(DDL)
    conn.executemany(
        "INSERT INTO products VALUES (?, ?, 1.0, '2024-01-01', 1)",
        [(i, f"s{i}") for i in range(products)],
    )
    conn.close()
    return src_path, f"sqlite:///{src_path}", f"sqlite:///{tmp_path / 'svc.db'}"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_sigkill_at_random_moments_loses_and_duplicates_nothing(tmp_path):
    src_path, src, dst = seeded_source(tmp_path, 500)
    transport = f"embedded:{tmp_path / 'log.db'}"
    setup = run_cdc("setup", "--source", src, "--tables", "products,lines", cwd=tmp_path)
    assert setup.wait(timeout=60) == 0
    done = threading.Event()
    writer = threading.Thread(target=write_changes, args=(src_path, CHANGES, 11, done))
    writer.start()
    rng = random.Random(5)
    kills = 0
    while not done.is_set() or kills < 5:
        proc = run_cdc(
            "run", "--source", src, "--sink", dst, "--transport", transport, cwd=tmp_path
        )
        time.sleep(rng.uniform(0.5, 3.0))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        kills += 1
        assert kills < 200, "the writer did not finish"
    writer.join()
    final = run_cdc("run", "--source", src, "--sink", dst, "--transport", transport, "--once",
                    cwd=tmp_path)  # fmt: skip
    out, err = final.communicate(timeout=600)
    assert final.returncode == 0, err
    assert "0 dead-lettered" in out
    with sqlite3.connect(src_path) as check:
        (captured,) = check.execute("SELECT SUM(delivered) FROM _cdc_tables").fetchone()
    assert captured >= CHANGES
    assert kills >= 5
    assert checksum(src, "products") == checksum(dst, "products")
    assert checksum(src, "lines", "order_id, line") == checksum(dst, "lines", "order_id, line")
