"""PostgreSQL capture through pgoutput: real logical decoding on a throwaway cluster."""

from __future__ import annotations

import threading

import psycopg2
import pytest
import sqlalchemy as sa

from cdc.capture_pg import PgCapture
from cdc.errors import CdcError
from cdc.event import to_messages
from cdc.pipeline import Pipeline
from cdc.sink import Sink
from cdc.transport_embedded import EmbeddedLog
from tests.cdc.helpers import checksum, run_sql


def read_all(capture: PgCapture, expected: int):
    events = []
    for _ in range(50):
        batch = capture.next_batch(wait_s=0.2)
        events.extend(batch.events)
        capture.ack(batch)
        if len(events) >= expected:
            break
    return events


def test_committed_changes_arrive_in_debezium_form_with_transaction_ids(pg_source):
    _url, engine, capture = pg_source
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


def test_rolled_back_transactions_are_not_captured(pg_source):
    _url, engine, capture = pg_source
    capture.setup(["notes"])
    conn = psycopg2.connect(capture.dsn)
    with conn.cursor() as cur:
        cur.execute("INSERT INTO notes VALUES (1, 'ghost')")
    conn.rollback()
    conn.close()
    run_sql(engine, "INSERT INTO notes VALUES (2, 'real')")
    (event,) = read_all(capture, 1)
    assert event.key == {"id": 2}


def test_replica_identity_full_gives_full_before_images(pg_source):
    _url, engine, capture = pg_source
    capture.setup(["notes"], replica_identity_full=True)
    run_sql(engine, "INSERT INTO notes VALUES (1, 'a')", "UPDATE notes SET body = 'b'")
    _, update = read_all(capture, 2)
    assert update.before == {"id": 1, "body": "a"}


def test_truncate_is_an_op_t_event(pg_source):
    _url, engine, capture = pg_source
    capture.setup(["notes"])
    run_sql(engine, "INSERT INTO notes VALUES (1, 'a')")
    run_sql(engine, "TRUNCATE notes")
    _, truncate = read_all(capture, 2)
    assert (truncate.op, truncate.key) == ("t", None)


def test_acknowledged_changes_are_not_read_again_after_a_restart(pg_source):
    _url, engine, capture = pg_source
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


def test_postgres_to_embedded_log_to_sqlite_makes_equal_tables(pg_source, tmp_path):
    url, engine, capture = pg_source
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


def test_missing_table_is_a_clear_error(pg_source):
    _, _, capture = pg_source
    with pytest.raises(CdcError, match="does not exist"):
        capture.setup(["ghost"])


def test_cli_captures_postgres_into_sqlite_and_reports_the_slot(pg_source, tmp_path):
    from click.testing import CliRunner

    from strangler.cli.cdc import cdc

    url, engine, capture = pg_source
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


def test_initial_snapshot_in_the_exported_snapshot_hands_off_to_streaming(pg_source, tmp_path):
    url, engine, capture = pg_source
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


def test_reverse_sync_between_postgres_and_sqlite_with_both_directions_live(pg_source, tmp_path):
    from cdc.capture_sqlite import SqliteCapture

    url, engine, capture = pg_source
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


def test_an_interrupted_initial_snapshot_resumes_without_resending_and_converges(
    pg_source, tmp_path
):
    url, engine, capture = pg_source
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


def test_setup_racing_another_session_creating_its_tables_is_no_error(pg_source, postgres):
    """Two services setting up capture on one monolith at once: PostgreSQL's CREATE TABLE IF
    NOT EXISTS raises (unique index of its catalog) for the one that loses the race."""
    url, _, capture = pg_source
    other = postgres.connect(url.rsplit("/", 1)[1])
    other.autocommit = False
    with other.cursor() as cur:  # the other session has created it, not yet committed
        cur.execute("CREATE TABLE _cdc_origin (id bigserial PRIMARY KEY, marker text)")
    failures: list[BaseException] = []

    def set_up() -> None:
        try:
            capture.setup(["notes"])
        except BaseException as exc:  # reported below
            failures.append(exc)

    racing = threading.Thread(target=set_up)
    racing.start()
    racing.join(1.0)  # blocked on the other session's uncommitted catalog row
    other.commit()
    other.close()
    racing.join(30)
    assert not racing.is_alive() and failures == []
    assert capture.tables() == ["public.notes"]
