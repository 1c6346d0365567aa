"""The embedded log: durable across processes, with retention by size and age."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from cdc.event import Message
from cdc.transport_embedded import EmbeddedLog


def fill(log: EmbeddedLog, topic: str, count: int, size: int = 100) -> None:
    log.publish([Message(topic, b"k", b"x" * size) for _ in range(count)])


def test_a_reader_in_another_process_sees_published_messages(tmp_path):
    path = tmp_path / "log.db"
    log = EmbeddedLog(path, partitions=2)
    log.ensure_topics(["t"])
    script = textwrap.dedent(
        f"""
        import time
        from cdc.transport_embedded import EmbeddedLog
        consumer = EmbeddedLog({str(path)!r}, partitions=2).consumer("g", ["t"])
        seen = []
        deadline = time.monotonic() + 30
        while len(seen) < 50 and time.monotonic() < deadline:
            seen += consumer.poll(timeout_s=0.2)
        consumer.commit({{(r.topic, r.partition): r.offset + 1 for r in seen}})
        print(len(seen))
        """
    )
    reader = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    for n in range(5):
        log.publish([Message("t", str(i).encode(), str(n).encode()) for i in range(10)])
        time.sleep(0.05)
    out, _ = reader.communicate(timeout=60)
    assert out.strip() == "50"
    assert sum(log.committed("g", ["t"]).values()) == 50


def test_two_writers_in_two_processes_never_reuse_an_offset(tmp_path):
    path = tmp_path / "log.db"
    EmbeddedLog(path, partitions=1).ensure_topics(["t"])
    script = textwrap.dedent(
        f"""
        from cdc.event import Message
        from cdc.transport_embedded import EmbeddedLog
        log = EmbeddedLog({str(path)!r}, partitions=1)
        for n in range(40):
            log.publish([Message("t", b"k", str(n).encode())])
        """
    )
    writers = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(2)]
    assert [w.wait(timeout=60) for w in writers] == [0, 0]
    log = EmbeddedLog(path, partitions=1)
    assert log.end_offsets(["t"]) == {("t", 0): 80}
    consumer = log.consumer("g", ["t"])
    offsets = [r.offset for r in consumer.poll(max_records=1000)]
    assert offsets == list(range(80))


def test_retention_by_size_keeps_the_newest_and_never_renumbers(tmp_path):
    log = EmbeddedLog(tmp_path / "log.db", partitions=1, retention_bytes=1000)
    fill(log, "t", 50)
    assert log.apply_retention() > 0
    records = log.consumer("g", ["t"]).poll(max_records=1000)
    assert 1 <= len(records) < 50
    assert records[-1].offset == 49
    fill(log, "t", 1)
    assert log.end_offsets(["t"]) == {("t", 0): 51}


def test_retention_by_age_drops_old_records(tmp_path):
    log = EmbeddedLog(tmp_path / "log.db", partitions=1, retention_ms=50)
    fill(log, "t", 5)
    time.sleep(0.1)
    fill(log, "t", 2)
    assert log.apply_retention() == 5
    assert [r.offset for r in log.consumer("g", ["t"]).poll()] == [5, 6]


def test_state_survives_reopening_the_file(tmp_path):
    path = tmp_path / "log.db"
    log = EmbeddedLog(path, partitions=4)
    fill(log, "t", 3)
    log.close()
    reopened = EmbeddedLog(path, partitions=1)  # the topic keeps its 4 partitions
    assert len(reopened.end_offsets(["t"])) == 4
    assert sum(reopened.end_offsets(["t"]).values()) == 3
