"""Whole source transactions: Debezium transaction metadata and atomic apply in the sink."""

from __future__ import annotations

import json
import logging
import random
import signal
import sqlite3
import threading
import time

import pytest

from cdc.capture_sqlite import SqliteCapture
from cdc.event import ChangeEvent, Source, to_messages
from cdc.pipeline import Options, Pipeline
from cdc.position import Position
from cdc.sink import Sink
from cdc.transport import Record
from cdc.transport_embedded import EmbeddedLog
from cdc.txn import Assembler, is_transaction_topic, with_transactions
from tests.cdc.helpers import (
    ACCOUNTS,
    BANK_DDL,
    BANK_TABLES,
    START,
    checksum,
    run_while_transferring,
    transfer,
    whole,
)


@pytest.fixture
def bank(tmp_path):
    src_path = tmp_path / "bank.db"
    conn = sqlite3.connect(src_path, isolation_level=None)
    for statement in BANK_DDL:
        conn.execute(statement)
    conn.executemany("INSERT INTO accounts VALUES (?, ?)", [(i, START) for i in range(ACCOUNTS)])
    conn.execute("INSERT INTO counter VALUES (1, 0)")
    SqliteCapture(f"sqlite:///{src_path}", prefix="bank").setup(list(BANK_TABLES))
    target = sqlite3.connect(tmp_path / "target.db")
    for statement in BANK_DDL:  # so the empty ledger exists before its first event
        target.execute(statement)
    target.close()
    yield conn, f"sqlite:///{src_path}", f"sqlite:///{tmp_path / 'target.db'}", tmp_path
    conn.close()


def pipeline(src: str, dst: str, log_path, *, atomic: bool = True, **options) -> Pipeline:
    return Pipeline(
        EmbeddedLog(log_path, partitions=3),
        capture=SqliteCapture(src, prefix="bank"),
        sink=Sink(dst, source=src, pipeline="bank"),
        options=Options(atomic_transactions=atomic, **options),
    )


def drain(flow: Pipeline) -> None:
    flow.run(threading.Event(), until_idle=True, idle_sleep_s=0.01)


def same(src: str, dst: str) -> bool:
    return all(checksum(src, t) == checksum(dst, t) for t in BANK_TABLES)


def publish_all(flow: Pipeline) -> None:
    while flow.capture_once()[0]:
        pass


def apply_step_by_step(flow: Pipeline, dst: str) -> list[bool]:
    """Apply one small sink batch at a time; after each, note whether the target is whole."""
    seen = []
    for _ in range(1000):
        result = flow.sink_once()
        if not (result.applied or result.skipped or result.dead) and flow.caught_up():
            break
        seen.append(whole(dst))
    return seen


def test_the_target_never_shows_half_a_transaction_between_batches(bank):
    conn, src, dst, tmp = bank
    flow = pipeline(src, dst, tmp / "log.db", batch=3, chunk_rows=5)
    drain(flow)  # initial snapshot (not transactional) and settle
    rng = random.Random(11)
    for i in range(40):
        transfer(conn, rng, rollback=i % 9 == 0)
        if i % 4 == 0:
            flow.capture_once()  # several epochs, some holding several transactions
    publish_all(flow)
    seen = apply_step_by_step(flow, dst)
    assert len(seen) > 5 and all(seen)
    assert same(src, dst)
    flow.close()


def test_without_the_option_the_same_batches_do_show_half_transactions(bank):
    # The check above can fail: with the option off, per-partition batches split transfers.
    conn, src, dst, tmp = bank
    flow = pipeline(src, dst, tmp / "log.db", atomic=False, batch=3, chunk_rows=5)
    drain(flow)
    rng = random.Random(11)
    for _ in range(40):
        transfer(conn, rng)
    publish_all(flow)
    seen = apply_step_by_step(flow, dst)
    assert not all(seen)
    assert same(src, dst)
    flow.close()


def test_a_concurrent_reader_never_sees_half_a_transaction(bank):
    _conn, src, dst, tmp = bank
    flow = pipeline(src, dst, tmp / "log.db", batch=7)
    drain(flow)
    reads, halves = run_while_transferring(flow, src, dst, count=400, seed=5, rollback_every=13)
    assert reads > 20
    assert halves == []
    assert same(src, dst)
    flow.close()


def test_a_sink_restarted_while_holding_part_of_a_transaction_converges(bank):
    conn, src, dst, tmp = bank
    flow = pipeline(src, dst, tmp / "log.db", batch=2, chunk_rows=5)
    drain(flow)
    rng = random.Random(3)
    for _ in range(30):
        transfer(conn, rng)
    publish_all(flow)
    assert flow.assembler is not None
    for _ in range(50):  # stop ("kill") while a transaction is partly buffered
        flow.sink_once()
        if flow.assembler.buffered:
            break
    assert flow.assembler.buffered, "the sink should be holding part of a transaction"
    assert whole(dst)
    # A new process: new sink, new consumer, resuming from the offsets stored in the target.
    again = pipeline(src, dst, tmp / "log.db", batch=2, chunk_rows=5)
    seen = apply_step_by_step(again, dst)
    assert seen and all(seen)
    assert same(src, dst)
    again.close()


def test_a_transaction_bigger_than_the_buffer_is_applied_in_pieces(bank, caplog):
    conn, src, dst, tmp = bank
    flow = pipeline(src, dst, tmp / "log.db", batch=4, txn_buffer=6)
    drain(flow)
    conn.execute("BEGIN")
    for i in range(ACCOUNTS):  # one transaction of 24 events
        conn.execute("UPDATE accounts SET balance = balance + 1 WHERE id = ?", (i,))
        conn.execute("UPDATE accounts SET balance = balance - 1 WHERE id = ?", (i,))
    conn.execute("COMMIT")
    transfer(conn, random.Random(1))
    publish_all(flow)
    splits = 0
    with caplog.at_level(logging.WARNING, logger="cdc.txn"):
        for _ in range(200):
            progress = flow.step()
            splits += progress.split_transactions
            if flow.caught_up():
                break
    assert splits == 1 and flow.assembler is not None and flow.assembler.split_count == 1
    assert "applying it in pieces" in caplog.text
    assert same(src, dst) and whole(dst)
    flow.close()


def test_events_carry_debeziums_transaction_block_and_boundaries(bank):
    conn, src, _dst, tmp = bank
    log = EmbeddedLog(tmp / "log.db", partitions=3)
    flow = Pipeline(log, capture=SqliteCapture(src, prefix="bank"),
                    options=Options(atomic_transactions=True))  # fmt: skip
    flow.start()
    publish_all(flow)  # the snapshot: no transaction metadata
    transfer(conn, random.Random(2))
    transfer(conn, random.Random(3))
    publish_all(flow)
    assert "bank.transaction" in flow.topics
    consumer = log.consumer("t", flow.topics)
    records = consumer.poll(max_records=1000, timeout_s=0)
    boundaries = [json.loads(r.message.value) for r in records if r.topic == "bank.transaction"]
    assert {r.partition for r in records if r.topic == "bank.transaction"} == {0}
    assert [b["status"] for b in boundaries] == ["BEGIN", "END"]  # one epoch, two transfers
    begin, end = boundaries
    assert list(begin) == ["status", "id", "ts_ms", "event_count", "data_collections"]
    assert begin["event_count"] is None and begin["data_collections"] is None
    assert end["id"] == begin["id"] and end["event_count"] == 8
    assert end["data_collections"] == [
        {"data_collection": "main.accounts", "event_count": 4},
        {"data_collection": "main.ledger", "event_count": 2},
        {"data_collection": "main.counter", "event_count": 2},
    ]
    data = [json.loads(r.message.value) for r in records if r.topic != "bank.transaction"]
    snapshot = [d for d in data if d["op"] == "r"]
    streamed = sorted((d for d in data if d["op"] != "r"),
                      key=lambda d: d["transaction"]["total_order"])  # fmt: skip
    assert snapshot and all(d["transaction"] is None for d in snapshot)
    assert [d["transaction"]["total_order"] for d in streamed] == list(range(1, 9))
    accounts = [d["transaction"]["data_collection_order"] for d in streamed
                if d["source"]["table"] == "accounts"]  # fmt: skip
    assert accounts == [1, 2, 3, 4]
    assert all(d["transaction"]["id"] == begin["id"] == str(d["source"]["txId"]) for d in streamed)


def _event(n: int, table: str, key: int, tx: int | None, lsn: int = 900) -> ChangeEvent:
    source = Source(name="p", db="d", schema="public", table=table, ts_ms=5, tx_id=tx, lsn=lsn)
    return ChangeEvent(op="c", source=source, ts_ms=6, key={"id": key}, after={"id": key},
                       position=Position(lsn, n))  # fmt: skip


def test_postgres_ids_and_untouched_events_outside_transactions():
    events = [_event(0, "a", 1, 571), _event(3, "b", 2, 571)]
    plain = _event(0, "a", 3, None)
    messages = with_transactions([*events, plain], prefix="p")
    assert [m.topic for m in messages] == [
        "p.transaction", "p.public.a", "p.public.b", "p.transaction", "p.public.a",
    ]  # fmt: skip
    assert json.loads(messages[0].value)["id"] == "571:900"
    assert messages[-1] == to_messages(plain)[0]  # no transaction: byte for byte as before
    assert is_transaction_topic("p.transaction") and not is_transaction_topic("p.s.transaction")


def test_the_assembler_releases_whole_transactions_in_commit_order_only():
    t1 = [_event(0, "a", 1, 1, lsn=10), _event(3, "a", 2, 1, lsn=10)]
    t2 = [_event(0, "a", 3, 2, lsn=20), _event(3, "a", 4, 2, lsn=20)]
    messages = with_transactions([*t1, *t2], prefix="p")
    begin1, a1, b1, end1, begin2, a2, b2, end2 = messages
    offsets: dict[tuple[str, int], int] = {}

    def rec(message, partition: int) -> Record:
        tp = (message.topic, partition)
        offsets[tp] = offsets.get(tp, -1) + 1
        return Record(message, partition, offsets[tp])

    # t1's events on partitions 0 and 1, t2's on 1 and 2; t2 arrives complete first.
    tx = [rec(begin1, 0), rec(end1, 0), rec(begin2, 0), rec(end2, 0)]
    p0, p1a, p1b, p2 = rec(a1, 0), rec(b1, 1), rec(a2, 1), rec(b2, 2)
    asm = Assembler("p.transaction")
    asm.add([*tx, p0, p2])
    assert asm.ready() == []  # t1 lacks b1; t2 lacks a2
    asm.add([p1a])
    out = asm.ready()
    assert set(out) == {tx[0], tx[1], p0, p1a}  # t1 whole, t2 still waits for a2
    asm.add([p1b])
    assert set(asm.ready()) == {tx[2], tx[3], p1b, p2}
    assert asm.buffered == 0


def test_a_restart_in_the_middle_of_a_split_transaction_converges(bank):
    conn, src, dst, tmp = bank
    flow = pipeline(src, dst, tmp / "log.db", batch=3, txn_buffer=4)
    drain(flow)
    conn.execute("BEGIN")
    for i in range(ACCOUNTS):  # 24 events, more than the buffer holds
        conn.execute("UPDATE accounts SET balance = balance + 7 WHERE id = ?", (i,))
        conn.execute("UPDATE accounts SET balance = balance - 7 WHERE id = ?", (i,))
    conn.execute("COMMIT")
    rng = random.Random(8)
    for _ in range(5):
        transfer(conn, rng)
    publish_all(flow)
    assert flow.assembler is not None
    for _ in range(100):  # stop once part of the big transaction is applied
        flow.sink_once()
        if flow.assembler.split_count:
            flow.sink_once()
            break
    assert flow.assembler.split_count == 1 and not flow.caught_up()
    again = pipeline(src, dst, tmp / "log.db", batch=3, txn_buffer=4)
    drain(again)
    assert same(src, dst) and whole(dst)
    again.close()


def test_a_change_table_set_up_by_an_older_version_still_streams(bank):
    conn, src, dst, tmp = bank
    for table in BANK_TABLES:  # the schema before epochs: no tx column, triggers without it
        for op in ("ins", "upd", "del"):
            conn.execute(f'DROP TRIGGER "_cdc_{op}_{table}"')
    conn.executescript(
        "DROP TABLE _cdc_changes;"
        "CREATE TABLE _cdc_changes (change_id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " tbl TEXT NOT NULL, op TEXT NOT NULL, before TEXT, after TEXT, ts_ms INTEGER NOT NULL);"
        "CREATE TRIGGER _cdc_upd_accounts AFTER UPDATE ON accounts BEGIN"
        " INSERT INTO _cdc_changes (tbl, op, before, after, ts_ms) VALUES ('accounts', 'u',"
        " json_object('id', OLD.id, 'balance', OLD.balance),"
        " json_object('id', NEW.id, 'balance', NEW.balance), 0); END;"
    )
    flow = pipeline(src, dst, tmp / "log.db")
    drain(flow)
    conn.execute("UPDATE accounts SET balance = 5 WHERE id = 1")
    drain(flow)
    assert checksum(src, "accounts") == checksum(dst, "accounts")
    flow.close()
    SqliteCapture(src, prefix="bank").setup(list(BANK_TABLES))  # adds the column
    assert "tx" in [r[1] for r in conn.execute("PRAGMA table_info(_cdc_changes)")]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_sigkilled_runs_leave_only_whole_transactions_and_converge(bank, monkeypatch):
    from tests.cdc.test_reliability import run_cdc

    monkeypatch.setenv("STRANGLER_CDC_BATCH", "7")  # small sink batches cut transactions

    _conn, src, dst, tmp = bank
    transport = f"embedded:{tmp / 'log.db'}"
    args = ("run", "--source", src, "--sink", dst, "--transport", transport,
            "--atomic-transactions")  # fmt: skip
    done = threading.Event()

    def writer() -> None:
        rng = random.Random(21)
        writer_conn = sqlite3.connect(src.removeprefix("sqlite:///"), timeout=60,
                                      isolation_level=None)  # fmt: skip
        for i in range(4000):
            transfer(writer_conn, rng, rollback=i % 17 == 0)
            if i % 500 == 0:  # now and then one transaction touching every account
                writer_conn.execute("BEGIN")
                writer_conn.execute("UPDATE accounts SET balance = balance + 1")
                writer_conn.execute("UPDATE accounts SET balance = balance - 1")
                writer_conn.execute("COMMIT")
        writer_conn.close()
        done.set()

    first = run_cdc(*args, "--once", cwd=tmp)  # the initial snapshot is not transactional
    assert first.communicate(timeout=120) and first.returncode == 0
    thread = threading.Thread(target=writer)
    thread.start()
    rng = random.Random(4)
    kills = 0
    while not done.is_set() or kills < 5:
        proc = run_cdc(*args, cwd=tmp)
        time.sleep(rng.uniform(0.5, 2.0))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        kills += 1
        assert whole(dst), f"half a transaction in the target after kill {kills}"
        assert kills < 200, "the writer did not finish"
    thread.join()
    final = run_cdc(*args, "--once", cwd=tmp)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err
    assert "0 dead-lettered" in out
    assert same(src, dst) and whole(dst)
