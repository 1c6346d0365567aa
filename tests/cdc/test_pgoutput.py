"""cdc/pgoutput.py decodes protocol-v1 messages built here byte by byte (no server)."""

from __future__ import annotations

import struct

import pytest

from cdc import pgoutput


def tuple_data(*values: object) -> bytes:
    out = struct.pack("!h", len(values))
    for value in values:
        if value is None:
            out += b"n"
        elif value is pgoutput.UNCHANGED_TOAST:
            out += b"u"
        elif isinstance(value, bytes):
            out += b"b" + struct.pack("!i", len(value)) + value
        else:
            raw = str(value).encode()
            out += b"t" + struct.pack("!i", len(raw)) + raw
    return out


def test_insert_update_delete_images() -> None:
    insert = pgoutput.decode(
        b"I" + struct.pack("!I", 7) + b"N" + tuple_data("1", None, "é", b"\x00\x01")
    )
    assert insert == pgoutput.Change("c", 7, None, ("1", None, "é", b"\x00\x01"))
    update = pgoutput.decode(
        b"U" + struct.pack("!I", 7) + b"K" + tuple_data("1") + b"N"
        + tuple_data("2", pgoutput.UNCHANGED_TOAST)
    )  # fmt: skip
    assert update == pgoutput.Change("u", 7, ("1",), ("2", pgoutput.UNCHANGED_TOAST), True)
    plain_update = pgoutput.decode(b"U" + struct.pack("!I", 7) + b"N" + tuple_data("3"))
    assert plain_update == pgoutput.Change("u", 7, None, ("3",), False)
    delete = pgoutput.decode(b"D" + struct.pack("!I", 7) + b"O" + tuple_data("1", "x"))
    assert delete == pgoutput.Change("d", 7, ("1", "x"), None, False)
    assert pgoutput.decode(b"I" + struct.pack("!I", 7) + b"N" + tuple_data()).new == ()


def test_relation_begin_commit_truncate() -> None:
    relation = pgoutput.decode(
        b"R" + struct.pack("!I", 7) + b"public\x00items\x00d" + struct.pack("!h", 2)
        + struct.pack("!b", 1) + b"id\x00" + struct.pack("!Ii", 23, -1)
        + struct.pack("!b", 0) + b"price\x00" + struct.pack("!Ii", 1700, (10 << 16 | 2) + 4)
    )  # fmt: skip
    assert isinstance(relation, pgoutput.Relation)
    assert (relation.schema, relation.name, relation.replica_identity) == ("public", "items", "d")
    key, price = relation.columns
    assert (key.name, key.key, key.kind) == ("id", True, "int")
    assert (price.kind, price.scale) == ("decimal", 2)
    assert pgoutput.decode(b"B" + struct.pack("!QqI", 100, 0, 42)) == pgoutput.Begin(
        100, 946684800000, 42
    )
    commit = pgoutput.decode(b"C" + struct.pack("!bQQq", 0, 100, 120, 1_000_000))
    assert commit == pgoutput.Commit(100, 120, 946684801000)
    truncate = pgoutput.decode(b"T" + struct.pack("!Ib", 2, 0) + struct.pack("!II", 7, 8))
    assert truncate == pgoutput.Truncate((7, 8))
    assert pgoutput.decode(b"Y" + struct.pack("!I", 1)) is None  # a type message: not needed


def test_a_message_cut_short_is_an_error() -> None:
    whole = b"I" + struct.pack("!I", 7) + b"N" + tuple_data("12345")
    with pytest.raises((struct.error, IndexError)):
        pgoutput.decode(whole[:9])
