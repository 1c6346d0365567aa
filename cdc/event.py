"""The change event: Debezium's PostgreSQL-connector JSON envelope, exactly (pure, no I/O).

A `ChangeEvent` becomes one or two transport `Message`s: the event itself and, after a
delete, a tombstone (same key, null value) so a compacted topic can drop the row.
Keys are the primary-key columns as a JSON object. With `schemas=True` key and value
are wrapped as `{"schema": ..., "payload": ...}` like Kafka Connect's JsonConverter with
`schemas.enable=true`; `schema.py` builds those schemas.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cdc import fastjson
from cdc.errors import PoisonEvent
from cdc.frozen import fast_init
from cdc.position import HEADER as POSITION_HEADER
from cdc.position import Position
from cdc.schema import Column, key_schema, value_schema

VERSION = "3.6.1.Final"
OPS = ("c", "u", "d", "r", "t")
SNAPSHOT_MARKS = (
    "true", "first", "first_in_data_collection", "last_in_data_collection",
    "last", "false", "incremental",
)  # fmt: skip
OLD_KEY_HEADER = "__debezium.oldkey"
NEW_KEY_HEADER = "__debezium.newkey"

Row = Mapping[str, Any]


@fast_init
@dataclass(frozen=True)
class Source:
    """The `source` block: where and when the change happened in the source database."""

    name: str
    db: str
    schema: str
    table: str
    ts_ms: int
    connector: str = "postgresql"
    snapshot: str = "false"
    tx_id: int | None = None
    lsn: int | None = None
    sequence: str | None = None
    xmin: int | None = None
    change_id: int | None = None
    version: str = VERSION

    def __post_init__(self) -> None:
        if self.snapshot not in SNAPSHOT_MARKS:
            raise ValueError(f"snapshot must be one of {SNAPSHOT_MARKS}, got {self.snapshot!r}")

    def to_json(self) -> dict[str, Any]:
        """Return the block with Debezium's field names, in Debezium's order."""
        block: dict[str, Any] = {
            "version": self.version,
            "connector": self.connector,
            "name": self.name,
            "ts_ms": self.ts_ms,
            "snapshot": self.snapshot,
            "db": self.db,
            "sequence": self.sequence,
            "ts_us": self.ts_ms * 1000,
            "ts_ns": self.ts_ms * 1_000_000,
            "schema": self.schema,
            "table": self.table,
            "txId": self.tx_id,
            "lsn": self.lsn,
            "xmin": self.xmin,
        }
        if self.connector == "postgresql":  # Debezium >= 3.6 (dbz#1528): pgoutput ORIGIN
            block["origin"] = None
            block["origin_lsn"] = None
        if self.connector == "sqlite":
            block["change_id"] = self.change_id
        return block

    @classmethod
    def from_json(cls, block: Mapping[str, Any]) -> Source:
        """Read a `source` block written by us or by Debezium."""
        return cls(
            name=str(block["name"]),
            db=str(block.get("db", "")),
            schema=str(block.get("schema") or "public"),
            table=str(block["table"]),
            ts_ms=int(block.get("ts_ms") or 0),
            connector=str(block.get("connector", "postgresql")),
            snapshot=_snapshot_mark(block.get("snapshot", "false")),
            tx_id=block.get("txId"),
            lsn=block.get("lsn"),
            sequence=block.get("sequence"),
            xmin=block.get("xmin"),
            change_id=block.get("change_id"),
            version=str(block.get("version", VERSION)),
        )


def _snapshot_mark(raw: Any) -> str:
    if isinstance(raw, bool):  # Debezium < 1.6 wrote a boolean
        return "true" if raw else "false"
    return str(raw)


@fast_init
@dataclass(frozen=True)
class Transaction:
    """The `transaction` block (Debezium's provide.transaction.metadata)."""

    id: str
    total_order: int
    data_collection_order: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "total_order": self.total_order,
            "data_collection_order": self.data_collection_order,
        }


@fast_init
@dataclass(frozen=True)
class Message:
    """One transport record: topic, key and value as JSON bytes (value None = tombstone)."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()

    def header(self, name: str) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


@fast_init
@dataclass(frozen=True)
class ChangeEvent:
    """One row change (or a truncate) in Debezium's envelope, plus its unique position."""

    op: str
    source: Source
    ts_ms: int
    key: Row | None = None
    before: Row | None = None
    after: Row | None = None
    position: Position | None = None
    transaction: Transaction | None = None
    columns: tuple[Column, ...] = ()
    key_columns: tuple[str, ...] = ()
    headers: tuple[tuple[str, bytes], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"op must be one of {'/'.join(OPS)}, got {self.op!r}")
        if self.op in ("c", "r") and self.after is None:
            raise ValueError(f"a {self.op!r} event needs an after image")
        if self.op == "d" and self.before is None:
            raise ValueError("a 'd' event needs a before image")

    @property
    def topic(self) -> str:
        return topic_for(self.source.name, self.source.schema, self.source.table)

    def value_json(self) -> dict[str, Any]:
        """Return the envelope with Debezium's field names, in Debezium's order."""
        value: dict[str, Any] = {
            "before": _plain(self.before),
            "after": _plain(self.after),
            "source": self.source.to_json(),
            "transaction": self.transaction.to_json() if self.transaction else None,
            "op": self.op,
            "ts_ms": self.ts_ms,
            "ts_us": self.ts_ms * 1000,
            "ts_ns": self.ts_ms * 1_000_000,
        }
        return value

    def key_json(self) -> dict[str, Any] | None:
        return _plain(self.key)


def _plain(row: Row | None) -> dict[str, Any] | None:
    # Captures build plain dicts already; copy only other mappings (orjson wants dicts).
    return row if row is None or type(row) is dict else dict(row)


def topic_for(prefix: str, schema: str, table: str) -> str:
    """Return Debezium's topic name `<prefix>.<schema>.<table>`."""
    return f"{prefix}.{schema}.{table}"


_dumps = fastjson.dumps


def to_messages(
    event: ChangeEvent, *, tombstones: bool = True, schemas: bool = False
) -> list[Message]:
    """Serialize an event as Debezium would: the event, then a tombstone after a delete."""
    key = event.key_json()
    value = event.value_json()
    if schemas:
        image = event.after or event.before or {}
        columns = event.columns or tuple(Column(name) for name in image)
        names = event.key_columns or tuple(event.key or ())
        if key is not None:
            key = {"schema": key_schema(event.topic, columns, names), "payload": key}
        value = {
            "schema": value_schema(event.topic, columns, event.source.connector),
            "payload": value,
        }
    headers = event.headers
    if event.position is not None:
        headers = ((POSITION_HEADER, event.position.encode()), *headers)
    key_bytes = None if key is None else _dumps(key)
    messages = [Message(event.topic, key_bytes, _dumps(value), headers)]
    if event.op == "d" and tombstones:
        tomb_headers: tuple[tuple[str, bytes], ...] = ()
        if event.position is not None:
            tomb_headers = ((POSITION_HEADER, event.position.next().encode()),)
        messages.append(Message(event.topic, key_bytes, None, tomb_headers))
    return messages


def unwrap(document: Any) -> Any:
    """The payload of a `{"schema", "payload"}`-wrapped document; others as they are."""
    if type(document) is dict and len(document) == 2 and "schema" in document:
        return document.get("payload", document)
    return document


def from_message(message: Message) -> ChangeEvent | None:
    """Parse a message written by us or by Debezium; None for a tombstone.

    Raises PoisonEvent with the reason when the bytes are not a Debezium envelope.
    """
    if message.value is None:
        return None
    try:
        value = unwrap(fastjson.loads(message.value))
        key = unwrap(fastjson.loads(message.key)) if message.key else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise PoisonEvent(f"not JSON: {exc}") from None
    if value is None:
        return None
    if not isinstance(value, dict) or "op" not in value or "source" not in value:
        raise PoisonEvent("not a Debezium envelope: needs 'op' and 'source'")
    raw_position = message.header(POSITION_HEADER)
    try:
        position = Position.parse(raw_position) if raw_position else None
        return ChangeEvent(
            op=str(value["op"]),
            source=Source.from_json(value["source"]),
            ts_ms=int(value.get("ts_ms") or 0),
            key=key if isinstance(key, dict) else None,
            before=value.get("before"),
            after=value.get("after"),
            position=position,
            transaction=_transaction(value.get("transaction")),
            headers=_other_headers(message.headers),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PoisonEvent(f"malformed Debezium envelope: {exc}") from None


def _other_headers(headers: tuple[tuple[str, bytes], ...]) -> tuple[tuple[str, bytes], ...]:
    if len(headers) == 1 and headers[0][0] == POSITION_HEADER:  # the usual case
        return ()
    return tuple(h for h in headers if h[0] != POSITION_HEADER)


def _transaction(block: Any) -> Transaction | None:
    if not block:
        return None
    return Transaction(
        str(block["id"]), int(block["total_order"]), int(block["data_collection_order"])
    )


def row_changes(
    *,
    op: str,
    source: Source,
    ts_ms: int,
    key_columns: tuple[str, ...],
    before: Row | None,
    after: Row | None,
    position: Position,
    columns: tuple[Column, ...] = (),
) -> list[ChangeEvent]:
    """Build the events for one captured row change, splitting a key change like Debezium.

    An update that changes the primary key becomes a delete of the old key (with header
    __debezium.newkey) and a create of the new key (with header __debezium.oldkey); the
    delete's tombstone takes index +1, so the create sits at index +2.
    """

    common = {"source": source, "ts_ms": ts_ms, "columns": columns, "key_columns": key_columns}
    if op == "u" and before is not None and after is not None and key_columns:
        old_key = {c: before[c] for c in key_columns}
        new_key = {c: after[c] for c in key_columns}
        if old_key != new_key:
            delete = ChangeEvent(
                op="d", key=old_key, before=before, position=position,
                headers=((NEW_KEY_HEADER, _dumps(new_key)),), **common,  # type: ignore[arg-type]
            )  # fmt: skip
            create = ChangeEvent(
                op="c", key=new_key, after=after,
                position=Position(position.log, position.index + 2),
                headers=((OLD_KEY_HEADER, _dumps(old_key)),), **common,  # type: ignore[arg-type]
            )  # fmt: skip
            return [delete, create]
    image = after if after is not None else before
    key = {c: image[c] for c in key_columns} if key_columns and image is not None else None
    event = ChangeEvent(
        op=op, key=key, before=before, after=after, position=position, **common,  # type: ignore[arg-type]
    )  # fmt: skip
    return [event]
