"""PostgreSQL incremental snapshots (signal table, watermarks) while the source keeps changing."""

from __future__ import annotations

import json
import threading
import uuid

import psycopg2

from cdc.capture_pg import PgCapture
from cdc.event import to_messages
from cdc.pipeline import Options, Pipeline
from cdc.sink import Sink
from cdc.transport_embedded import EmbeddedLog
from tests.cdc.helpers import checksum, run_sql


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
    pg_source, tmp_path
):
    url, engine, capture = pg_source
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


def test_incremental_snapshot_progress_survives_a_restart(pg_source, tmp_path):
    url, engine, capture = pg_source
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


def test_cli_snapshot_of_a_streaming_source_publishes_the_table_by_itself(pg_source, tmp_path):
    from click.testing import CliRunner

    from strangler.cli.cdc import cdc

    url, engine, capture = pg_source
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


def test_cli_snapshot_is_published_by_the_run_that_holds_the_slot(pg_source, tmp_path):
    from click.testing import CliRunner

    from strangler.cli.cdc import cdc

    url, engine, capture = pg_source
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
