"""PostgreSQL + Kafka: SIGKILL the pipeline at random moments, lose and duplicate nothing.

A randomized workload (inserts, updates, deletes, multi-row statements, rollbacks, a
primary-key update) of at least 100,000 committed row changes runs on a PostgreSQL source
while `strangler cdc run --transport kafka:...` (pgoutput capture, initial snapshot,
Kafka, PostgreSQL sink) is killed with SIGKILL and restarted; once, the Kafka broker is
stopped and started again under a running pipeline, which must ride it out. Afterwards
the target equals the source by checksum.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg2
import pytest
import sqlalchemy as sa

from cdc.capture_pg import _dsn
from cdc.pipeline import wait_for
from tests.cdc.helpers import checksum

REPO = Path(__file__).resolve().parents[2]
CHANGES = 100_000


def pg_workload(dsn: str, target: int, done: threading.Event) -> None:
    rng = random.Random(3)
    conn = psycopg2.connect(dsn)
    committed = 0
    with conn.cursor() as cur:
        while committed < target:
            changed = 0
            for _ in range(rng.randrange(1, 40)):
                key, pick = rng.randrange(3000), rng.random()
                if pick < 0.4:
                    cur.execute(
                        "INSERT INTO items VALUES (%s, %s, %s) ON CONFLICT (id) DO UPDATE"
                        " SET name = excluded.name, qty = excluded.qty",
                        (key, f"n{rng.randrange(10**6)}", rng.randrange(1000)),
                    )
                elif pick < 0.55:
                    cur.execute("UPDATE items SET qty = qty + 1 WHERE id %% 101 = %s", (key % 101,))
                elif pick < 0.7:
                    cur.execute("DELETE FROM items WHERE id BETWEEN %s AND %s", (key, key + 2))
                elif pick < 0.75:
                    cur.execute(
                        "UPDATE items SET id = id + 5000 WHERE id = %s"
                        " AND NOT EXISTS (SELECT 1 FROM items WHERE id = %s)",
                        (key, key + 5000),
                    )
                else:
                    cur.execute("UPDATE items SET name = name || 'x' WHERE id = %s", (key,))
                changed += max(0, cur.rowcount)
            if rng.random() < 0.08:
                conn.rollback()
            else:
                conn.commit()
                committed += changed
    conn.close()
    done.set()


def applied_offsets(url: str) -> int:
    """Sum of the sink's next offsets over all partitions (0 before its first apply)."""
    with sa.create_engine(url).connect() as conn:
        if conn.execute(sa.text("SELECT to_regclass('_cdc_applied')")).scalar() is None:
            return 0
        return int(conn.execute(sa.text("SELECT COALESCE(sum(next_offset), 0) FROM _cdc_applied"))
                   .scalar())  # fmt: skip


def run_cdc(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    code = "from strangler.cli.cdc import cdc; cdc()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, **env, "PYTHONPATH": str(REPO)},
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_sigkill_with_postgres_and_kafka_loses_and_duplicates_nothing(postgres, kafka):
    src, dst = postgres.create_database(), postgres.create_database()
    with sa.create_engine(src).begin() as conn:
        conn.execute(sa.text("CREATE TABLE items (id integer PRIMARY KEY, name text, qty integer)"))
        conn.execute(
            sa.text("INSERT INTO items SELECT g, 'seed', 0 FROM generate_series(1, 2000) g")
        )
    env = {
        "STRANGLER_CDC_SLOT": f"s_{uuid.uuid4().hex[:8]}",
        "STRANGLER_CDC_PREFIX": f"r{uuid.uuid4().hex[:8]}",
        "STRANGLER_CDC_TRANSPORT": f"kafka:{kafka.bootstrap}",
        "STRANGLER_CDC_CHUNK_ROWS": "300",
    }
    setup = run_cdc("setup", "--source", src, "--tables", "items", env=env)
    assert setup.wait(timeout=60) == 0, setup.stderr.read() if setup.stderr else ""
    done = threading.Event()
    writer = threading.Thread(target=pg_workload, args=(_dsn(src), CHANGES, done))
    writer.start()
    rng = random.Random(9)
    kills = 0
    while not done.is_set() or kills < 5:
        started_at = applied_offsets(dst)
        proc = run_cdc("run", "--source", src, "--sink", dst, env=env)
        time.sleep(rng.uniform(1.0, 4.0))
        if kills == 2:
            try:
                # Under a running pipeline: one that has reached the broker and applies (a
                # process still starting up would meet a dead bootstrap address instead).
                running = wait_for(lambda s=started_at: applied_offsets(dst) > s, timeout_s=120)
                assert running, f"the pipeline applied nothing: {proc.poll()}"
                kafka.restart()  # mid-workload
                before = applied_offsets(dst)
                moved = wait_for(lambda b=before: applied_offsets(dst) > b, timeout_s=90)
                alive = proc.poll() is None
                assert alive, f"the pipeline died with the broker: {proc.communicate()}"
                assert moved, "the pipeline did not apply anything after the broker came back"
            except BaseException:
                proc.kill()  # never leave a pipeline running into the next tests
                raise
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        kills += 1
        assert kills < 300, "the writer did not finish"
    writer.join()
    final = run_cdc("run", "--source", src, "--sink", dst, "--once", env=env)
    out, err = final.communicate(timeout=900)
    assert final.returncode == 0, err
    assert "0 dead-lettered" in out
    assert checksum(src, "items") == checksum(dst, "items")
    teardown = run_cdc("teardown", "--source", src, env=env)
    assert teardown.wait(timeout=60) == 0
