"""Capture and sink as two processes (docs/cdc.md "Throughput"): the same guarantees.

`strangler cdc run --source` (capture only) and `strangler cdc run --sink --topics`
(sink only) run beside each other on one embedded log while a writer changes the source;
each is SIGKILLed at random moments and restarted. Afterwards the target equals the
source: nothing lost, nothing applied twice in effect.
"""

from __future__ import annotations

import random
import signal
import threading
import time

import pytest

from tests.cdc.helpers import checksum
from tests.cdc.test_reliability import run_cdc, seeded_source, write_changes

CHANGES = 20_000
TOPICS = "strangler.main.products,strangler.main.lines"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_capture_and_sink_killed_apart_lose_and_duplicate_nothing(tmp_path):
    src_path, src, dst = seeded_source(tmp_path, 300)
    transport = ("--transport", f"embedded:{tmp_path / 'log.db'}")
    capture_args = ("run", "--source", src, *transport)
    sink_args = ("run", "--sink", dst, "--topics", TOPICS, *transport)
    assert (
        run_cdc("setup", "--source", src, "--tables", "products,lines", cwd=tmp_path).wait(60) == 0
    )
    # One run with both creates the target tables as copies of the source's (a sink
    # without --source would infer them from the first events).
    first = run_cdc(*capture_args, "--sink", dst, "--once", cwd=tmp_path)
    assert first.wait(timeout=120) == 0, first.communicate()[1]

    done = threading.Event()
    writer = threading.Thread(target=write_changes, args=(src_path, CHANGES, 23, done))
    writer.start()
    rng = random.Random(7)
    procs = {
        "capture": run_cdc(*capture_args, cwd=tmp_path),
        "sink": run_cdc(*sink_args, cwd=tmp_path),
    }
    kills = {"capture": 0, "sink": 0}
    while not done.is_set() or min(kills.values()) < 3:
        time.sleep(rng.uniform(0.3, 2.0))
        side = rng.choice(sorted(procs))
        procs[side].send_signal(signal.SIGKILL)
        procs[side].communicate(timeout=60)
        kills[side] += 1
        procs[side] = run_cdc(*(capture_args if side == "capture" else sink_args), cwd=tmp_path)
        assert sum(kills.values()) < 200, "the writer did not finish"
    writer.join()
    for proc in procs.values():
        proc.send_signal(signal.SIGTERM)  # stops after its batch, positions committed
        proc.communicate(timeout=120)
    for args in (capture_args, sink_args):  # capture everything, then apply everything
        final = run_cdc(*args, "--once", cwd=tmp_path)
        out, err = final.communicate(timeout=300)
        assert final.returncode == 0, err
    assert "0 dead-lettered" in out
    assert min(kills.values()) >= 3
    assert checksum(src, "products") == checksum(dst, "products")
    assert checksum(src, "lines", "order_id, line") == checksum(dst, "lines", "order_id, line")
