"""Decode PostgreSQL's built-in `pgoutput` logical replication messages (protocol v1; pure).

Message layouts follow the PostgreSQL docs, "Logical Replication Message Formats".
Column values arrive as text; `to_python` turns them into Python values by type OID so
cdc/types.py can encode them as Debezium does.
"""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

# type OID -> (kind for cdc/types.py, int bits)
OID_KINDS: dict[int, str] = {
    16: "bool", 20: "int", 21: "int", 23: "int", 26: "int", 700: "float", 701: "float",
    1700: "decimal", 25: "text", 1043: "text", 1042: "text", 19: "text", 1082: "date",
    1114: "timestamp", 1184: "timestamptz", 1083: "time", 114: "json", 3802: "json",
    2950: "uuid", 17: "bytes",
}  # fmt: skip
INT_BITS = {21: 16, 23: 32, 20: 64, 26: 64}


@dataclass(frozen=True)
class RelColumn:
    name: str
    type_oid: int
    typmod: int
    key: bool

    @cached_property  # read for every value of every change
    def kind(self) -> str:
        return OID_KINDS.get(self.type_oid, "text")

    @cached_property
    def scale(self) -> int | None:
        if self.type_oid == 1700 and self.typmod >= 4:
            return (self.typmod - 4) & 0xFFFF
        return None


@dataclass(frozen=True)
class Relation:
    relid: int
    schema: str
    name: str
    replica_identity: str
    columns: tuple[RelColumn, ...]


@dataclass(frozen=True)
class Begin:
    final_lsn: int
    commit_ts_ms: int
    xid: int


@dataclass(frozen=True)
class Commit:
    commit_lsn: int
    end_lsn: int
    commit_ts_ms: int


@dataclass(frozen=True)
class Change:
    """An insert ('c'), update ('u') or delete ('d'); images as {column: text or None}."""

    op: str
    relid: int
    old: tuple[Any, ...] | None
    new: tuple[Any, ...] | None
    old_is_key_only: bool = False


@dataclass(frozen=True)
class Truncate:
    relids: tuple[int, ...]


@dataclass(frozen=True)
class LogicalMessage:
    """A message written with pg_logical_emit_message (heartbeats use these)."""

    lsn: int
    prefix: str
    content: bytes


UNCHANGED_TOAST = object()  # an unchanged TOASTed value pgoutput did not send


_STRUCTS: dict[str, struct.Struct] = {}


def _struct(fmt: str) -> struct.Struct:
    found = _STRUCTS.get(fmt)
    if found is None:
        found = _STRUCTS[fmt] = struct.Struct(fmt)
    return found


_INT16 = struct.Struct("!h")
_INT32 = struct.Struct("!i")


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> Any:
        unpacker = _struct(fmt)
        (value,) = unpacker.unpack_from(self.data, self.pos)
        self.pos += unpacker.size
        return value

    def byte(self) -> str:
        value = chr(self.data[self.pos])
        self.pos += 1
        return value

    def cstring(self) -> str:
        end = self.data.index(b"\x00", self.pos)
        value = self.data[self.pos : end].decode()
        self.pos = end + 1
        return value

    def tuple_data(self) -> tuple[Any, ...]:
        # Read for every value of every change: locals instead of attribute lookups.
        data, pos = self.data, self.pos
        (count,) = _INT16.unpack_from(data, pos)
        pos += 2
        values: list[Any] = []
        append = values.append
        for _ in range(count):
            kind = data[pos]
            pos += 1
            if kind == 0x6E:  # 'n': null
                append(None)
            elif kind == 0x75:  # 'u': unchanged TOASTed value
                append(UNCHANGED_TOAST)
            else:  # 't' text or 'b' binary, with a length
                (length,) = _INT32.unpack_from(data, pos)
                pos += 4
                raw = data[pos : pos + length]
                pos += length
                append(raw.decode() if kind == 0x74 else raw)
        self.pos = pos
        return tuple(values)


def _ts_ms(micros_since_2000: int) -> int:
    return int((PG_EPOCH + dt.timedelta(microseconds=micros_since_2000)).timestamp() * 1000)


def decode(data: bytes) -> Begin | Commit | Relation | Change | Truncate | LogicalMessage | None:
    """Decode one pgoutput message; None for kinds capture does not need (type, origin...)."""
    r = _Reader(data)
    tag = r.byte()
    if tag == "B":
        return Begin(r.take("!Q"), _ts_ms(r.take("!q")), r.take("!I"))
    if tag == "C":
        r.take("!b")
        return Commit(r.take("!Q"), r.take("!Q"), _ts_ms(r.take("!q")))
    if tag == "R":
        relid, schema, name = r.take("!I"), r.cstring(), r.cstring()
        identity = r.byte()
        columns = []
        for _ in range(r.take("!h")):
            flags = r.take("!b")
            columns.append(RelColumn(r.cstring(), r.take("!I"), r.take("!i"), bool(flags & 1)))
        return Relation(relid, schema, name, identity, tuple(columns))
    if tag == "I":
        relid = r.take("!I")
        r.byte()  # 'N'
        return Change("c", relid, None, r.tuple_data())
    if tag == "U":
        relid = r.take("!I")
        marker = r.byte()
        old = None
        if marker in ("K", "O"):
            old = r.tuple_data()
            r.byte()  # 'N'
        return Change("u", relid, old, r.tuple_data(), marker == "K")
    if tag == "D":
        relid = r.take("!I")
        marker = r.byte()
        return Change("d", relid, r.tuple_data(), None, marker == "K")
    if tag == "M":
        r.take("!b")
        lsn, prefix = r.take("!Q"), r.cstring()
        length = r.take("!i")
        return LogicalMessage(lsn, prefix, r.data[r.pos : r.pos + length])
    if tag == "T":
        count = r.take("!I")
        r.take("!b")
        return Truncate(tuple(r.take("!I") for _ in range(count)))
    return None


def to_python(column: RelColumn, text: Any) -> Any:
    """Turn pgoutput's text form of a value into the Python value cdc/types.py encodes."""
    if text is None or text is UNCHANGED_TOAST:
        return text
    kind = column.kind
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "decimal":
        return Decimal(text)
    if kind == "bool":
        # pgoutput sends "t"/"f"; the snapshot reads col::text, which gives "true"/"false".
        return text in ("t", "true")
    if kind == "bytes":
        return bytes.fromhex(text[2:]) if text.startswith("\\x") else text.encode()
    if kind == "timestamptz":
        return dt.datetime.fromisoformat(_iso_offset(text))
    return text


def _iso_offset(text: str) -> str:
    # PostgreSQL writes "+00" / "+05:30"; fromisoformat in 3.11 wants "+00:00".
    head, sign, zone = text.rpartition("+") if "+" in text[10:] else text.rpartition("-")
    if sign and len(zone) == 2 and ":" not in zone:
        return f"{head}{sign}{zone}:00"
    return text
