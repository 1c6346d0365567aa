"""Two sink workers on one Kafka topic set, under load, one SIGKILLed and restarted.

PostgreSQL source -> `strangler cdc run` capture process -> Kafka (4 partitions) -> two
`strangler cdc run --worker i/2` sink processes -> one PostgreSQL target. While a
randomized workload runs on the source, a worker is killed with SIGKILL and restarted
several times. Afterwards the target equals the source by checksum, nothing was
dead-lettered, and the two workers' stored offsets cover every partition.
"""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from cdc.capture_pg import _dsn
from cdc.pipeline import wait_for
from tests.cdc.helpers import checksum
from tests.cdc.test_reliability_pg import applied_offsets, pg_workload, run_cdc

CHANGES = 15_000
PARTITIONS = 4


def _stop(proc: subprocess.Popen[str], sig: signal.Signals = signal.SIGTERM) -> str:
    if proc.poll() is None:
        proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    return out + err


@pytest.mark.postgres
@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_two_workers_with_one_killed_and_restarted_make_the_target_equal_the_source(
    postgres, kafka
):
    src, dst = postgres.create_database(), postgres.create_database()
    with sa.create_engine(src).begin() as conn:
        conn.execute(sa.text("CREATE TABLE items (id integer PRIMARY KEY, name text, qty integer)"))
        conn.execute(
            sa.text("INSERT INTO items SELECT g, 'seed', 0 FROM generate_series(1, 2000) g")
        )
    prefix = f"w{uuid.uuid4().hex[:8]}"
    env = {
        "STRANGLER_CDC_SLOT": f"s_{uuid.uuid4().hex[:8]}",
        "STRANGLER_CDC_PREFIX": prefix,
        "STRANGLER_CDC_TRANSPORT": f"kafka:{kafka.bootstrap}",
        "STRANGLER_CDC_PARTITIONS": str(PARTITIONS),
        "STRANGLER_CDC_BATCH": "500",
    }
    topics = f"{prefix}.public.items"
    setup = run_cdc("setup", "--source", src, "--tables", "items", env=env)
    assert setup.wait(timeout=60) == 0, setup.stderr.read() if setup.stderr else ""
    capture = run_cdc("run", "--source", src, env=env)
    procs: list[subprocess.Popen[str]] = [capture]

    def worker(i: int, *more: str) -> subprocess.Popen[str]:
        proc = run_cdc("run", "--sink", dst, "--topics", topics, "--worker", f"{i}/2", *more,
                       env=env)  # fmt: skip
        procs.append(proc)
        return proc

    try:
        workers = [worker(0), worker(1)]
        assert wait_for(lambda: applied_offsets(dst) > 0, timeout_s=120), "nothing applied"
        done = threading.Event()
        writer = threading.Thread(target=pg_workload, args=(_dsn(src), CHANGES, done))
        writer.start()
        rng = random.Random(11)
        kills = 0
        while not done.is_set() or kills < 3:
            time.sleep(rng.uniform(0.5, 2.5))
            victim = kills % 2
            _stop(workers[victim], signal.SIGKILL)
            workers[victim] = worker(victim)
            kills += 1
            assert kills < 200, "the writer did not finish"
        writer.join()
        assert "stopped:" in _stop(capture)  # SIGTERM: stops after its batch, all acked
        for proc in workers:
            _stop(proc, signal.SIGKILL)  # a restarted one may not have its SIGTERM handler yet
        publish = run_cdc("run", "--source", src, "--once", env=env)
        out, err = publish.communicate(timeout=300)
        assert publish.returncode == 0, err
        for i in range(2):
            final = worker(i, "--once")
            out, err = final.communicate(timeout=300)
            assert final.returncode == 0, err
            assert "0 dead-lettered" in out
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=60)
    assert checksum(src, "items") == checksum(dst, "items")
    with sa.create_engine(dst).connect() as conn:
        owned = conn.execute(sa.text("SELECT topic, partition FROM _cdc_applied")).all()
    assert sorted(owned) == [(topics, p) for p in range(PARTITIONS)]
    teardown = run_cdc("teardown", "--source", src, env=env)
    assert teardown.wait(timeout=60) == 0
