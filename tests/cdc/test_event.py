"""The change event serializes exactly as Debezium's PostgreSQL connector does."""

import json

import pytest

from cdc.errors import PoisonEvent
from cdc.event import (
    NEW_KEY_HEADER,
    OLD_KEY_HEADER,
    ChangeEvent,
    Column,
    Message,
    Source,
    from_message,
    row_changes,
    to_messages,
    topic_for,
)
from cdc.position import HEADER, Position

SOURCE = Source(
    name="legacy", db="postgres", schema="public", table="customers", ts_ms=1559033904863,
    tx_id=556, lsn=24023128, sequence='["24023119","24023128"]',
)  # fmt: skip


def update_event() -> ChangeEvent:
    return ChangeEvent(
        op="u",
        source=SOURCE,
        ts_ms=1559033904900,
        key={"id": 1},
        before={"id": 1, "first_name": "Anne"},
        after={"id": 1, "first_name": "Anne Marie"},
        position=Position(24023128, 0),
    )


def test_topic_is_prefix_schema_table():
    assert update_event().topic == "legacy.public.customers"
    assert topic_for("shop", "main", "orders") == "shop.main.orders"


def test_value_has_debeziums_fields_in_debeziums_order():
    (message,) = to_messages(update_event())
    value = json.loads(message.value)
    assert list(value) == [
        "before", "after", "source", "transaction", "op", "ts_ms", "ts_us", "ts_ns",
    ]  # fmt: skip
    assert value["op"] == "u"
    assert value["after"] == {"id": 1, "first_name": "Anne Marie"}
    assert value["transaction"] is None
    assert list(value["source"]) == [
        "version", "connector", "name", "ts_ms", "snapshot", "db", "sequence", "ts_us",
        "ts_ns", "schema", "table", "txId", "lsn", "xmin", "origin", "origin_lsn",
    ]  # fmt: skip
    assert value["source"]["snapshot"] == "false"
    assert value["source"]["connector"] == "postgresql"
    assert value["source"]["txId"] == 556
    assert value["source"]["ts_us"] == 1559033904863000


def test_key_is_the_primary_key_as_json_object():
    (message,) = to_messages(update_event())
    assert json.loads(message.key) == {"id": 1}
    assert message.topic == "legacy.public.customers"


def test_position_travels_as_a_header():
    (message,) = to_messages(update_event())
    assert message.header(HEADER) == b"24023128:0"
    assert from_message(message).position == Position(24023128, 0)


def test_delete_is_followed_by_a_tombstone_with_the_same_key():
    delete = ChangeEvent(
        op="d", source=SOURCE, ts_ms=1, key={"id": 1}, before={"id": 1}, position=Position(9, 0)
    )
    event, tombstone = to_messages(delete)
    assert json.loads(event.value)["after"] is None
    assert tombstone.key == event.key
    assert tombstone.value is None
    assert from_message(tombstone) is None
    assert Position.parse(tombstone.header(HEADER)) == Position(9, 1)


def test_tombstones_can_be_disabled():
    delete = ChangeEvent(op="d", source=SOURCE, ts_ms=1, key={"id": 1}, before={"id": 1})
    assert len(to_messages(delete, tombstones=False)) == 1


def test_truncate_has_no_key_and_no_images():
    truncate = ChangeEvent(op="t", source=SOURCE, ts_ms=1)
    (message,) = to_messages(truncate)
    assert message.key is None
    value = json.loads(message.value)
    assert (value["op"], value["before"], value["after"]) == ("t", None, None)


def test_wrapped_form_carries_connect_schemas_and_parses_back():
    event = ChangeEvent(
        op="c", source=SOURCE, ts_ms=5, key={"id": 7}, after={"id": 7, "price": "AV4="},
        columns=(Column("id", "int", optional=False, int_bits=32), Column("price", "decimal", 2)),
        key_columns=("id",),
    )  # fmt: skip
    (message,) = to_messages(event, schemas=True)
    key, value = json.loads(message.key), json.loads(message.value)
    assert key["payload"] == {"id": 7}
    assert key["schema"]["name"] == "legacy.public.customers.Key"
    assert value["schema"]["name"] == "legacy.public.customers.Envelope"
    after_schema = value["schema"]["fields"][1]
    assert after_schema["field"] == "after"
    price = after_schema["fields"][1]
    assert price["name"] == "org.apache.kafka.connect.data.Decimal"
    assert price["parameters"] == {"scale": "2"}
    assert after_schema["fields"][0]["type"] == "int32"
    parsed = from_message(message)
    assert parsed.after == {"id": 7, "price": "AV4="}
    assert parsed.key == {"id": 7}


def test_reads_debeziums_own_boolean_snapshot_flag():
    value = to_messages(update_event())[0].value
    doc = json.loads(value)
    doc["source"]["snapshot"] = True
    parsed = from_message(Message("t", b'{"id":1}', json.dumps(doc).encode()))
    assert parsed.source.snapshot == "true"


def test_primary_key_change_becomes_delete_and_create_with_key_headers():
    events = row_changes(
        op="u", source=SOURCE, ts_ms=1, key_columns=("id",),
        before={"id": 1, "n": "a"}, after={"id": 2, "n": "a"}, position=Position(40, 0),
    )  # fmt: skip
    delete, create = events
    assert (delete.op, delete.key, delete.position) == ("d", {"id": 1}, Position(40, 0))
    assert (create.op, create.key, create.position) == ("c", {"id": 2}, Position(40, 2))
    assert dict(delete.headers)[NEW_KEY_HEADER] == b'{"id":2}'
    assert dict(create.headers)[OLD_KEY_HEADER] == b'{"id":1}'


def test_plain_update_stays_one_event():
    (event,) = row_changes(
        op="u", source=SOURCE, ts_ms=1, key_columns=("id",),
        before={"id": 1, "n": "a"}, after={"id": 1, "n": "b"}, position=Position(41, 0),
    )  # fmt: skip
    assert event.op == "u"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "not JSON"),
        (b'{"after": {}}', "needs 'op' and 'source'"),
        (b'{"op": "x", "source": {"name": "a", "table": "t"}}', "op must be one of"),
        (b'{"op": "c", "source": {"name": "a"}}', "malformed"),
    ],
)
def test_malformed_messages_are_poison_with_a_reason(raw, reason):
    with pytest.raises(PoisonEvent, match=reason):
        from_message(Message("t", None, raw))


def test_create_without_after_image_is_rejected():
    with pytest.raises(ValueError, match="after image"):
        ChangeEvent(op="c", source=SOURCE, ts_ms=1)


def test_sqlite_source_block_carries_its_change_id():
    source = Source(
        name="shop", db="shop.db", schema="main", table="t", ts_ms=1,
        connector="sqlite", change_id=12, lsn=12,
    )  # fmt: skip
    assert source.to_json()["change_id"] == 12
    assert Source.from_json(source.to_json()) == source


def test_bytes_are_those_the_standard_json_module_writes():
    event = ChangeEvent(
        op="c", source=SOURCE, ts_ms=1559033904900, key={"id": 7},
        after={"id": 7, "name": "Zoë ✓", "qty": None, "big": 2**70, "ratio": 0.25},
        position=Position(24023128, 2),
    )  # fmt: skip
    (message,) = to_messages(event)
    compact = {"separators": (",", ":"), "ensure_ascii": False}
    assert message.value == json.dumps(event.value_json(), **compact).encode()
    assert message.key == b'{"id":7}'
    parsed = from_message(message)
    assert parsed is not None and parsed.after == event.after
