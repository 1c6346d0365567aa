"""PostgreSQL capture through pgoutput: real logical decoding on a throwaway cluster."""

from __future__ import annotations

import json
import threading
import uuid

import psycopg2
import pytest
import sqlalchemy as sa

from cdc.capture_pg import PgCapture
from cdc.errors import CdcError
from cdc.event import to_messages
from cdc.pipeline import Options, Pipeline
from cdc.sink import Sink
from cdc.transport_embedded import EmbeddedLog
from tests.cdc.helpers import checksum


@pytest.fixture
def source(postgres):
    url = postgres.create_database()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE products (id integer PRIMARY KEY, name text NOT NULL,"
            " price numeric(10, 2), added date, seen timestamptz, tags jsonb, ok boolean)"
        ))  # fmt: skip
        conn.execute(sa.text("CREATE TABLE notes (id bigint PRIMARY KEY, body text)"))
    slot = f"s_{uuid.uuid4().hex[:8]}"
    capture = PgCapture(url, prefix="pg", slot=slot)
    yield url, engine, capture
    capture.teardown()
    capture.close()


def run_sql(engine, *statements: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))


def read_all(capture: PgCapture, expected: int):
    events = []
    for _ in range(50):
        batch = capture.next_batch(wait_s=0.2)
        events.extend(batch.events)
        capture.ack(batch)
        if len(events) >= expected:
            break
    return events


def test_committed_changes_arrive_in_debezium_form_with_transaction_ids(source):
    _url, engine, capture = source
    capture.setup(["products", "notes"])
    run_sql(
        engine,
        "INSERT INTO products VALUES (1, 'Lamp', 3.50, '2024-01-01',"
        " '2019-05-28 10:45:04.863123+02', '{\"a\": 1}', true)",
        "UPDATE products SET name = 'Desk lamp' WHERE id = 1",
    )
    run_sql(engine, "DELETE FROM products WHERE id = 1")
    create, update, delete = read_all(capture, 3)
    assert (create.op, update.op, delete.op) == ("c", "u", "d")
    assert create.after == {
        "id": 1, "name": "Lamp", "price": "AV4=", "added": 19723,
        "seen": "2019-05-28T08:45:04.863123Z", "tags": '{"a": 1}', "ok": True,
    }  # fmt: skip
    assert create.topic == "pg.public.products"
    assert create.key == {"id": 1}
    assert create.source.tx_id == update.source.tx_id != delete.source.tx_id
    # REPLICA IDENTITY DEFAULT: key only; NOT NULL columns get an empty value, as Debezium does
    assert (delete.before["id"], delete.before["name"], delete.before["price"]) == (1, "", None)
    assert create.position < update.position < delete.position


def test_rolled_back_transactions_are_not_captured(source):
    _url, engine, capture = source
    capture.setup(["notes"])
    conn = psycopg2.connect(capture.dsn)
    with conn.cursor() as cur:
        cur.execute("INSERT INTO notes VALUES (1, 'ghost')")
    conn.rollback()
    conn.close()
    run_sql(engine, "INSERT INTO notes VALUES (2, 'real')")
    (event,) = read_all(capture, 1)
    assert event.key == {"id": 2}


def test_replica_identity_full_gives_full_before_images(source):
    _url, engine, capture = source
    capture.setup(["notes"], replica_identity_full=True)
    run_sql(engine, "INSERT INTO notes VALUES (1, 'a')", "UPDATE notes SET body = 'b'")
    _, update = read_all(capture, 2)
    assert update.before == {"id": 1, "body": "a"}


def test_truncate_is_an_op_t_event(source):
    _url, engine, capture = source
    capture.setup(["notes"])
    run_sql(engine, "INSERT INTO notes VALUES (1, 'a')")
    run_sql(engine, "TRUNCATE notes")
    _, truncate = read_all(capture, 2)
    assert (truncate.op, truncate.key) == ("t", None)


def test_acknowledged_changes_are_not_read_again_after_a_restart(source):
    _url, engine, capture = source
    capture.setup(["notes"])
    run_sql(engine, "INSERT INTO notes VALUES (1, 'a')")
    assert len(read_all(capture, 1)) == 1
    run_sql(engine, "INSERT INTO notes VALUES (2, 'b')")
    unacked = capture.next_batch(wait_s=1.0)
    assert [e.key for e in unacked.events] == [{"id": 2}]
    capture.close_stream()  # "crash" before ack
    again = read_all(capture, 1)
    assert [e.key for e in again] == [{"id": 2}]
    assert capture.retained_wal_bytes() is not None


def test_postgres_to_embedded_log_to_sqlite_makes_equal_tables(source, tmp_path):
    url, engine, capture = source
    capture.setup(["notes"])
    run_sql(engine, *[f"INSERT INTO notes VALUES ({i}, 'n{i}')" for i in range(50)])
    run_sql(
        engine,
        "UPDATE notes SET body = body || '!' WHERE id % 3 = 0",
        "DELETE FROM notes WHERE id % 5 = 0",
        "UPDATE notes SET id = id + 1000 WHERE id = 1",
    )
    dst = f"sqlite:///{tmp_path / 'svc.db'}"
    pipeline = Pipeline(
        EmbeddedLog(tmp_path / "log.db"), capture=capture, sink=Sink(dst), topics=capture.topics()
    )
    pipeline.run(threading.Event(), until_idle=True, idle_sleep_s=0.05)
    pipeline.close()
    assert checksum(url, "notes") == checksum(dst, "notes")


def test_missing_table_is_a_clear_error(source):
    _, _, capture = source
    with pytest.raises(CdcError, match="does not exist"):
        capture.setup(["ghost"])


def test_cli_captures_postgres_into_sqlite_and_reports_the_slot(source, tmp_path):
    from click.testing import CliRunner

    from strangler.cli.cdc import cdc

    url, engine, capture = source
    env = {"STRANGLER_CDC_SLOT": capture.slot}
    runner = CliRunner()
    run_sql(engine, *[f"INSERT INTO notes VALUES ({i}, 'old {i}')" for i in range(12)])
    result = runner.invoke(cdc, ["setup", "--source", url, "--tables", "notes"], env=env)
    assert result.exit_code == 0, result.output
    assert f"through slot {capture.slot}" in result.output
    run_sql(engine, *[f"INSERT INTO notes VALUES ({i}, 'n{i}')" for i in range(12, 20)])
    dst = f"sqlite:///{tmp_path / 'svc.db'}"
    args = ["run", "--source", url, "--sink", dst, "--transport",
            f"embedded:{tmp_path / 'log.db'}", "--once"]  # fmt: skip
    result = runner.invoke(cdc, args, env=env)
    assert result.exit_code == 0, result.output
    assert checksum(url, "notes") == checksum(dst, "notes")
    status = runner.invoke(cdc, ["status", "--source", url, "--sink", dst, "--json"], env=env)
    (row,) = __import__("json").loads(status.output)["tables"]
    assert row["applied"] == 20
    assert row["position"].startswith(f"slot {capture.slot}, retained WAL")


def test_initial_snapshot_in_the_exported_snapshot_hands_off_to_streaming(source, tmp_path):
    url, engine, capture = source
    run_sql(engine, *[f"INSERT INTO notes VALUES ({i}, 'before')" for i in range(25)])
    capture.setup(["notes"], create_slot=False)
    assert not capture.has_position()
    capture.request_snapshot()
    run_sql(
        engine, "UPDATE notes SET body = 'during' WHERE id < 5", "DELETE FROM notes WHERE id = 24"
    )
    first = capture.next_batch(chunk_rows=10)
    assert [e.op for e in first.events] == ["r"] * 10
    assert {e.after["body"] for e in first.events} == {"before"}  # as of the slot's point
    dst = f"sqlite:///{tmp_path / 'svc.db'}"
    log = EmbeddedLog(tmp_path / "log.db")
    log.publish([m for e in first.events for m in to_messages(e)])
    pipeline = Pipeline(log, capture=capture, sink=Sink(dst, source=url), topics=capture.topics())
    pipeline.run(threading.Event(), until_idle=True, idle_sleep_s=0.05)
    pipeline.close()
    assert capture.has_position()
    assert checksum(url, "notes") == checksum(dst, "notes")


def test_reverse_sync_between_postgres_and_sqlite_with_both_directions_live(source, tmp_path):
    from cdc.capture_sqlite import SqliteCapture

    url, engine, capture = source
    run_sql(engine, *[f"INSERT INTO notes VALUES ({i}, 'seed')" for i in range(10)])
    capture.setup(["notes"], create_slot=False)
    svc = f"sqlite:///{tmp_path / 'svc.db'}"
    to_svc = Sink(svc, source=url, pipeline="fwd")
    forward = Pipeline(
        EmbeddedLog(tmp_path / "fwd.db"), capture=capture, sink=to_svc, topics=capture.topics()
    )
    forward.run(threading.Event(), until_idle=True, idle_sleep_s=0.05)
    svc_capture = SqliteCapture(svc, prefix="svc")
    svc_capture.setup(["notes"])
    svc_capture.start_without_snapshot()
    backward = Pipeline(EmbeddedLog(tmp_path / "back.db"), capture=svc_capture,
                        sink=Sink(url, pipeline="rev"))  # fmt: skip
    run_sql(engine, "UPDATE notes SET body = 'from monolith' WHERE id = 1")
    run_sql(sa.create_engine(svc), "UPDATE notes SET body = 'from service' WHERE id = 2",
            "INSERT INTO notes VALUES (99, 'new in service')")  # fmt: skip
    for _ in range(3):
        forward.run(threading.Event(), until_idle=True, idle_sleep_s=0.05)
        backward.run(threading.Event(), until_idle=True, idle_sleep_s=0.05)
    assert checksum(url, "notes") == checksum(svc, "notes")
    with engine.connect() as conn:
        bodies = dict(
            conn.execute(sa.text("SELECT id, body FROM notes WHERE id IN (1, 2, 99)")).all()
        )
    assert bodies == {1: "from monolith", 2: "from service", 99: "new in service"}
    # Quiet afterwards: neither sink's writes were captured again.
    assert forward.step(timeout_s=0.5).published == 0
    assert backward.step().published == 0
    forward.close()
    backward.close()


def test_an_interrupted_initial_snapshot_resumes_without_resending_and_converges(source, tmp_path):
    url, engine, capture = source
    run_sql(engine, *[f"INSERT INTO notes VALUES ({i}, 'before')" for i in range(30)])
    capture.setup(["notes"], create_slot=False)
    capture.request_snapshot()
    first = capture.next_batch(chunk_rows=10)
    capture.ack(first)  # chunk 1 published and recorded
    lost = capture.next_batch(chunk_rows=10)  # chunk 2 read but never acknowledged
    assert [e.key["id"] for e in lost.events] == list(range(10, 20))
    capture._snapshot.conn.close()  # "crash"; meanwhile the source moves on
    capture._snapshot = None
    capture.close_stream()
    run_sql(engine, "DELETE FROM notes WHERE id IN (3, 15, 25)",
            "UPDATE notes SET body = 'after' WHERE id IN (4, 16, 26)")  # fmt: skip
    resumed = PgCapture(url, prefix="pg", slot=capture.slot)
    resumed.request_snapshot()
    again = resumed.next_batch(chunk_rows=10)
    assert again.events[0].key == {"id": 10}  # chunk 1 is not sent again
    assert again.events[0].position > lost.events[-1].position
    dst = f"sqlite:///{tmp_path / 'svc.db'}"
    log = EmbeddedLog(tmp_path / "log.db")
    log.publish([m for e in (*first.events, *lost.events) for m in to_messages(e)])
    log.publish([m for e in again.events for m in to_messages(e)])
    resumed.ack(again)
    pipeline = Pipeline(log, capture=resumed, sink=Sink(dst, source=url), topics=resumed.topics())
    pipeline.run(threading.Event(), until_idle=True, idle_sleep_s=0.05)
    pipeline.close()
    assert checksum(url, "notes") == checksum(dst, "notes")
    resumed.close_stream()


def read_log(log: EmbeddedLog, topics: list[str]) -> list:
    consumer = log.consumer(f"check-{uuid.uuid4().hex[:6]}", topics)
    records: list = []
    while batch := consumer.poll(max_records=5000, timeout_s=0.1):
        records.extend(batch)
    consumer.close()
    return sorted(records, key=lambda r: (r.partition, r.offset))


def writer(dsn: str, stop: threading.Event, seed: int) -> None:
    """Bump versions, delete rows and insert fresh keys (a few hundred a second) until told."""
    import random

    rng = random.Random(seed)
    conn = psycopg2.connect(dsn)
    new_id = seed * 1_000_000
    with conn.cursor() as cur:
        while not stop.wait(0.003):
            keys = sorted(rng.randrange(1, 1500) for _ in range(rng.randrange(1, 6)))
            for key in keys:  # in key order: the two writers never deadlock
                pick = rng.random()
                if pick < 0.8:
                    cur.execute("UPDATE counters SET v = v + 1 WHERE id = %s", (key,))
                elif pick < 0.9:
                    cur.execute("DELETE FROM counters WHERE id = %s", (key,))
                else:
                    new_id += 1
                    cur.execute("INSERT INTO counters VALUES (%s, 0, 'new')", (new_id,))
            conn.commit()
    conn.close()


def test_incremental_snapshot_under_concurrent_writes_converges_and_never_goes_back(
    source, tmp_path
):
    url, engine, capture = source
    run_sql(engine, "CREATE TABLE counters (id integer PRIMARY KEY, v integer NOT NULL, body text)",
            "INSERT INTO counters SELECT g, 0, 'seed' FROM generate_series(1, 1500) g")  # fmt: skip
    capture.setup(["counters"])  # streaming from here on: the seed rows are not in the stream
    run_sql(engine, "UPDATE counters SET v = v + 1 WHERE id <= 10")
    dst = f"sqlite:///{tmp_path / 'svc.db'}"
    log = EmbeddedLog(tmp_path / "log.db")
    pipeline = Pipeline(log, capture=capture, sink=Sink(dst, source=url),
                        options=Options(chunk_rows=100))  # fmt: skip
    stop = threading.Event()
    writers = [threading.Thread(target=writer, args=(capture.dsn, stop, n)) for n in (1, 2)]
    for thread in writers:
        thread.start()
    try:
        assert capture.request_snapshot(["counters"]) == ["counters"]
        for _ in range(2000):
            pipeline.step()
            if capture.snapshot_progress().get("counters", (0, False))[1]:
                break
    finally:
        stop.set()
        for thread in writers:
            thread.join()
    assert capture.snapshot_progress()["counters"][1]
    pipeline.run(threading.Event(), until_idle=True, idle_sleep_s=0.05)
    pipeline.close()
    assert checksum(url, "counters") == checksum(dst, "counters")
    records = read_log(log, capture.topics())
    values = [json.loads(r.message.value) for r in records if r.message.value]
    reads = [v for v in values if v["op"] == "r"]
    assert len(reads) > 1000 and {v["source"]["snapshot"] for v in reads} == {"incremental"}
    latest: dict[int, list[int]] = {}
    for record in records:  # per partition, positions only go up (the sink relies on it)
        if record.message.value:
            sequence = json.loads(json.loads(record.message.value)["source"]["sequence"])
            position = [int(part) for part in sequence]
            assert position > latest.get(record.partition, [-1]), record
            latest[record.partition] = position
    last: dict[int, int] = {}
    gone: set[int] = set()
    for value in values:  # per key, in log order: versions never go back, deletes stay
        row = value["after"] or value["before"]
        key = row["id"]
        if value["op"] == "d":
            gone.add(key)
            continue
        assert key not in gone, f"row {key} came back after its delete: {value}"
        assert value["after"]["v"] >= last.get(key, 0), f"stale row for {key}: {value}"
        last[key] = value["after"]["v"]


def test_incremental_snapshot_progress_survives_a_restart(source, tmp_path):
    url, engine, capture = source
    run_sql(engine, *[f"INSERT INTO notes VALUES ({i}, 'seed')" for i in range(35)])
    capture.setup(["notes"])
    capture.request_snapshot(["public.notes"])
    log = EmbeddedLog(tmp_path / "log.db")
    first: list = []
    for _ in range(50):
        batch = capture.next_batch(chunk_rows=10, wait_s=0.2)
        log.publish([m for e in batch.events for m in to_messages(e)])
        capture.ack(batch)
        first = [e for e in batch.events if e.op == "r"]
        if first:
            break
    assert [e.key["id"] for e in first] == list(range(10))
    capture.close()  # "crash" with the next chunk not read yet
    run_sql(engine, "UPDATE notes SET body = 'later' WHERE id IN (5, 15)")
    resumed = PgCapture(url, prefix="pg", slot=capture.slot)
    assert resumed.snapshot_progress() == {"notes": (10, False)}
    dst = f"sqlite:///{tmp_path / 'svc.db'}"
    pipeline = Pipeline(log, capture=resumed, sink=Sink(dst, source=url),
                        options=Options(chunk_rows=10))  # fmt: skip
    pipeline.run(threading.Event(), until_idle=True, idle_sleep_s=0.05)
    pipeline.close()
    assert resumed.snapshot_progress() == {"notes": (35, True)}
    reads = [json.loads(r.message.value) for r in read_log(log, resumed.topics())
             if r.message.value and json.loads(r.message.value)["op"] == "r"]  # fmt: skip
    assert sorted(v["after"]["id"] for v in reads) == list(range(35))  # no chunk sent twice
    assert checksum(url, "notes") == checksum(dst, "notes")
    capture.conn = resumed.conn  # the fixture's teardown


def test_cli_snapshot_of_a_streaming_source_publishes_the_table_by_itself(source, tmp_path):
    from click.testing import CliRunner

    from strangler.cli.cdc import cdc

    url, engine, capture = source
    env = {"STRANGLER_CDC_SLOT": capture.slot, "STRANGLER_CDC_CHUNK_ROWS": "7"}
    run_sql(engine, *[f"INSERT INTO notes VALUES ({i}, 'old {i}')" for i in range(30)])
    capture.setup(["notes"])  # streams from now on: the 30 rows only come by a snapshot
    transport = ["--transport", f"embedded:{tmp_path / 'log.db'}"]
    runner = CliRunner()
    args = ["snapshot", "--source", url, "--tables", "notes", *transport]
    result = runner.invoke(cdc, args, env=env)
    assert result.exit_code == 0, result.output
    assert "snapshot of notes: 30 rows published" in result.output
    dst = f"sqlite:///{tmp_path / 'svc.db'}"
    result = runner.invoke(cdc, ["run", "--source", url, "--sink", dst, "--once", *transport],
                           env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert checksum(url, "notes") == checksum(dst, "notes")


def test_cli_snapshot_is_published_by_the_run_that_holds_the_slot(source, tmp_path):
    from click.testing import CliRunner

    from strangler.cli.cdc import cdc

    url, engine, capture = source
    run_sql(engine, *[f"INSERT INTO notes VALUES ({i}, 'old {i}')" for i in range(40)])
    capture.setup(["notes"])
    dst = f"sqlite:///{tmp_path / 'svc.db'}"
    log = EmbeddedLog(tmp_path / "log.db")
    running = PgCapture(url, prefix="pg", slot=capture.slot)
    pipeline = Pipeline(log, capture=running, sink=Sink(dst, source=url),
                        options=Options(chunk_rows=15))  # fmt: skip
    stop = threading.Event()
    thread = threading.Thread(target=pipeline.run, args=(stop,), kwargs={"idle_sleep_s": 0.05})
    thread.start()
    try:
        for _ in range(100):
            if capture.slot_active():
                break
            stop.wait(0.1)
        args = ["snapshot", "--source", url, "--tables", "notes"]
        result = CliRunner().invoke(cdc, args, env={"STRANGLER_CDC_SLOT": capture.slot})
        assert result.exit_code == 0, result.output
        assert f"the process streaming slot {capture.slot} publishes it" in result.output
        assert "snapshot of notes: 40 rows published" in result.output
        run_sql(engine, "UPDATE notes SET body = 'after' WHERE id = 3")
        for _ in range(100):
            if checksum(url, "notes") == checksum(dst, "notes"):
                break
            stop.wait(0.1)
    finally:
        stop.set()
        thread.join()
        pipeline.close()
        running.close()
    assert checksum(url, "notes") == checksum(dst, "notes")
