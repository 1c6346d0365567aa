"""Sink workers: N sinks share the partitions of one topic set, each partition has one owner."""

from __future__ import annotations

import random
import sqlite3
import threading

import pytest
from click.testing import CliRunner

from cdc.capture_sqlite import SqliteCapture
from cdc.errors import CdcError
from cdc.pipeline import Options, Pipeline
from cdc.sink import Sink
from cdc.transport_embedded import EmbeddedLog
from cdc.workers import Worker
from strangler.cli.cdc import cdc
from tests.cdc.helpers import checksum

PARTITIONS = [(f"shop.main.t{t}", p) for t in range(4) for p in range(3)]


def test_every_partition_has_exactly_one_worker():
    shares = [Worker(i, 3).share(PARTITIONS) for i in range(3)]
    owned = [tp for share in shares for tp in share]
    assert sorted(owned) == sorted(PARTITIONS)
    assert all(4 <= len(share) <= 4 for share in shares)  # 12 partitions, 3 workers


def test_a_partition_keeps_its_worker_when_topics_and_partitions_are_added():
    more = [*PARTITIONS, ("shop.main.new", 0), ("shop.main.t0", 3)]
    for i in range(2):
        assert set(Worker(i, 2).share(PARTITIONS)) <= set(Worker(i, 2).share(more))


def test_a_lone_worker_owns_every_partition():
    assert Worker.parse("0/1").alone
    assert Worker().share(PARTITIONS) == sorted(PARTITIONS)


@pytest.mark.parametrize("text", ["2/2", "x", "1", "-1/2", "0/0", "a/b"])
def test_a_malformed_worker_is_refused_naming_it(text):
    with pytest.raises(CdcError, match="worker must be i/N"):
        Worker.parse(text)


@pytest.fixture
def shop(tmp_path):
    src = tmp_path / "shop.db"
    conn = sqlite3.connect(src, isolation_level=None)
    conn.executescript(
        "CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER);"
        "CREATE TABLE stock (id INTEGER PRIMARY KEY, qty INTEGER);"
    )
    capture = SqliteCapture(f"sqlite:///{src}", prefix="shop")
    capture.setup(["products", "stock"])
    yield conn, capture, f"sqlite:///{src}", tmp_path
    capture.close()
    conn.close()


def _write(conn: sqlite3.Connection, rng: random.Random, steps: int) -> None:
    for _ in range(steps):
        key, table = rng.randrange(80), rng.choice(["products", "stock"])
        pick = rng.random()
        if pick < 0.5:
            if table == "products":
                conn.execute(
                    "INSERT OR REPLACE INTO products VALUES (?, ?, ?)", (key, f"p{key}", key)
                )
            else:
                conn.execute("INSERT OR REPLACE INTO stock VALUES (?, ?)", (key, key))
        elif pick < 0.8:
            conn.execute(f"UPDATE {table} SET qty = qty + 1 WHERE id % 5 = ?", (key % 5,))
        else:
            conn.execute(f"DELETE FROM {table} WHERE id = ?", (key,))


def _publish(shop, seed: int, steps: int) -> tuple[EmbeddedLog, list[str]]:
    """Write `steps` random changes and publish them (with the initial snapshot) to a log."""
    conn, capture, _, tmp = shop
    log = EmbeddedLog(tmp / "log.db", partitions=3)
    publisher = Pipeline(log, capture=capture)
    publisher.start()
    _write(conn, random.Random(seed), steps)
    while publisher.capture_once()[0]:
        pass
    return log, publisher.topics


def test_two_workers_on_one_embedded_log_make_the_target_equal_the_source(shop):
    _, _, src, tmp = shop
    _, topics = _publish(shop, 4, 600)
    dst = f"sqlite:///{tmp / 'svc.db'}"
    workers = [
        Pipeline(
            EmbeddedLog(tmp / "log.db", partitions=3),
            sink=Sink(dst, source=src, pipeline="svc"),
            topics=topics,
            options=Options(worker=Worker(i, 2), batch=40),
        )
        for i in range(2)
    ]
    shares = [set(w.partitions() or ()) for w in workers]
    assert shares[0] and shares[1] and not shares[0] & shares[1]
    while not all(w.caught_up() for w in workers):  # interleaved, batch by batch
        for worker in workers:
            worker.sink_once()
    assert {tuple(r) for r in _applied(dst)} == shares[0] | shares[1]
    for worker in workers:
        worker.close()
    for table in ("products", "stock"):
        assert checksum(src, table) == checksum(dst, table)


def _applied(url: str) -> list[tuple[str, int]]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        return db.execute("SELECT topic, partition FROM _cdc_applied").fetchall()


def test_a_worker_applies_only_its_own_partitions(shop):
    tmp = shop[3]
    log, topics = _publish(shop, 5, 200)
    dst = f"sqlite:///{tmp / 'svc.db'}"
    worker = Pipeline(
        log, sink=Sink(dst, pipeline="svc"), topics=topics,
        options=Options(worker=Worker(1, 2)),
    )  # fmt: skip
    worker.run(threading.Event(), until_idle=True, idle_sleep_s=0.01)
    assert {tuple(r) for r in _applied(dst)} == set(worker.partitions() or ())


def test_a_worker_refuses_a_capture_in_the_same_pipeline(shop):
    _, capture, _, tmp = shop
    log = EmbeddedLog(tmp / "log.db")
    sink = Sink(f"sqlite:///{tmp / 'svc.db'}")
    with pytest.raises(CdcError, match="run the capture in its own process"):
        Pipeline(log, capture=capture, sink=sink, options=Options(worker=Worker(0, 2)))


def test_a_worker_refuses_atomic_transactions(shop):
    _, _, _, tmp = shop
    log = EmbeddedLog(tmp / "log.db")
    sink = Sink(f"sqlite:///{tmp / 'svc.db'}")
    options = Options(worker=Worker(0, 2), atomic_transactions=True)
    with pytest.raises(CdcError, match="cannot be split across workers"):
        Pipeline(log, sink=sink, topics=["shop.main.products"], options=options)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--worker", "2/2"], "worker must be i/N with 0 <= i < N, got 2/2"),
        (["--worker", "half"], "worker must be i/N (e.g. 0/2), got 'half'"),
        (["--worker", "0/2", "--source", "{src}"], "run the capture in its own process"),
        (["--worker", "1/2", "--atomic-transactions"], "cannot be split across workers"),
    ],
)
def test_run_with_a_wrong_worker_gives_one_clear_line(shop, monkeypatch, args, message):
    _, _, src, tmp = shop
    monkeypatch.chdir(tmp)
    monkeypatch.delenv("STRANGLER_CONFIG", raising=False)
    base = ["run", "--sink", f"sqlite:///{tmp / 'svc.db'}", "--topics", "shop.main.products"]
    result = CliRunner().invoke(cdc, [*base, *(a.format(src=src) for a in args)])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
