"""PgCapture.start_without_snapshot: a slot made now, streaming from now, no snapshot
(what a handover's reverse pipeline needs: the tables are already equal)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from cdc.capture_pg import PgCapture
from cdc.errors import CdcError
from tests.cdc.helpers import run_sql
from tests.cdc.test_capture_pg import read_all

pytestmark = pytest.mark.postgres


def test_it_streams_changes_made_after_it_and_takes_no_snapshot(pg_source):
    _url, engine, capture = pg_source
    run_sql(engine, "INSERT INTO notes VALUES (1, 'there before')")
    capture.setup(["notes"], create_slot=False)
    assert not capture.has_position()
    capture.start_without_snapshot()
    assert capture.has_position()
    run_sql(engine, "INSERT INTO notes VALUES (2, 'after')")
    events = read_all(capture, 1)
    assert [(e.op, e.after["id"]) for e in events] == [("c", 2)]


def test_a_second_call_keeps_the_slot_and_its_position(pg_source):
    _url, engine, capture = pg_source
    capture.setup(["notes"], create_slot=False)
    capture.start_without_snapshot()
    run_sql(engine, "INSERT INTO notes VALUES (1, 'kept')")
    capture.start_without_snapshot()  # the slot is there: nothing changes
    assert [e.after["id"] for e in read_all(capture, 1)] == [1]


def test_without_setup_it_says_so(postgres):
    capture = PgCapture(postgres.create_database(), slot=f"s_{uuid.uuid4().hex[:8]}")
    try:
        with pytest.raises(CdcError, match="not set up"):
            capture.start_without_snapshot()
    finally:
        capture.close()


def test_a_slot_of_that_name_in_another_database_is_not_taken(pg_source, postgres):
    _url, _engine, capture = pg_source
    capture.setup(["notes"])  # the slot, in the fixture's database
    other_url = postgres.create_database()
    run_sql(sa.create_engine(other_url), "CREATE TABLE t (id int PRIMARY KEY)")
    other = PgCapture(other_url, slot=capture.slot)
    try:
        other.setup(["t"], create_slot=False)
        with pytest.raises(CdcError, match="belongs to database"):
            other.start_without_snapshot()
    finally:
        other.close()
