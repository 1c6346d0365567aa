"""Kafka Connect schemas for the `{"schema", "payload"}` wrapping (pure, no I/O).

Mirrors what Debezium's PostgreSQL connector declares with the JsonConverter and
`schemas.enable=true`: semantic type names (io.debezium.time.*, Decimal, Json, Uuid),
`<prefix>.<schema>.<table>.Key/.Value/.Envelope`, and the connector's Source struct.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Column:
    """A captured column: its name and how its values are encoded (see cdc/types.py)."""

    name: str
    kind: str = "text"
    scale: int | None = None
    optional: bool = True
    int_bits: int = 64


_SEMANTIC: dict[str, tuple[str, str | None]] = {
    "float": ("double", None),
    "text": ("string", None),
    "bool": ("boolean", None),
    "date": ("int32", "io.debezium.time.Date"),
    "timestamp": ("int64", "io.debezium.time.MicroTimestamp"),
    "timestamptz": ("string", "io.debezium.time.ZonedTimestamp"),
    "time": ("int64", "io.debezium.time.MicroTime"),
    "json": ("string", "io.debezium.data.Json"),
    "uuid": ("string", "io.debezium.data.Uuid"),
    "bytes": ("bytes", None),
}


def field_schema(column: Column) -> dict[str, Any]:
    """Return the Connect schema of one column, as a struct field."""
    schema: dict[str, Any]
    if column.kind == "int":
        schema = {"type": {16: "int16", 32: "int32"}.get(column.int_bits, "int64")}
    elif column.kind == "decimal" and column.scale is not None:
        schema = {
            "type": "bytes",
            "name": "org.apache.kafka.connect.data.Decimal",
            "version": 1,
            "parameters": {"scale": str(column.scale)},
        }
    elif column.kind == "decimal":
        schema = {
            "type": "struct",
            "fields": [
                {"type": "int32", "optional": False, "field": "scale"},
                {"type": "bytes", "optional": False, "field": "value"},
            ],
            "name": "io.debezium.data.VariableScaleDecimal",
            "version": 1,
            "doc": "Variable scaled decimal",
        }
    else:
        type_name, semantic = _SEMANTIC.get(column.kind, ("string", None))
        schema = {"type": type_name}
        if semantic:
            schema.update(name=semantic, version=1)
    schema["optional"] = column.optional
    schema["field"] = column.name
    return schema


def key_schema(topic: str, columns: Sequence[Column], names: Sequence[str]) -> dict[str, Any]:
    """Return the Connect schema of a key made of the columns `names` (never optional)."""
    by_name = {c.name: c for c in columns}
    fields = [field_schema(by_name.get(n, Column(n, optional=False))) for n in names]
    for item in fields:
        item["optional"] = False
    return {"type": "struct", "fields": fields, "optional": False, "name": f"{topic}.Key"}


def _source_schema(connector: str) -> dict[str, Any]:
    def f(field: str, type_name: str, optional: bool = True, **extra: Any) -> dict[str, Any]:
        return {"type": type_name, "optional": optional, **extra, "field": field}

    fields = [
        f("version", "string", False),
        f("connector", "string", False),
        f("name", "string", False),
        f("ts_ms", "int64", False),
        f(
            "snapshot",
            "string",
            True,
            name="io.debezium.data.Enum",
            version=1,
            default="false",
            parameters={
                "allowed": "true,first,first_in_data_collection,"
                "last_in_data_collection,last,false,incremental"
            },
        ),
        f("db", "string", False),
        f("sequence", "string"),
        f("ts_us", "int64"),
        f("ts_ns", "int64"),
        f("schema", "string", False),
        f("table", "string", False),
        f("txId", "int64"),
        f("lsn", "int64"),
        f("xmin", "int64"),
    ]
    name = "io.debezium.connector.postgresql.Source"
    if connector == "postgresql":
        fields += [f("origin", "string"), f("origin_lsn", "int64")]
    if connector == "sqlite":
        fields.append(f("change_id", "int64"))
        name = "io.debezium.connector.sqlite.Source"
    return {"type": "struct", "fields": fields, "optional": False, "name": name, "field": "source"}


def value_schema(topic: str, columns: Sequence[Column], connector: str) -> dict[str, Any]:
    """Return the Connect schema of the envelope of a change to a row of `columns`."""
    row_fields = [field_schema(c) for c in columns]

    def image(field: str) -> dict[str, Any]:
        return {
            "type": "struct",
            "fields": row_fields,
            "optional": True,
            "name": f"{topic}.Value",
            "field": field,
        }

    transaction = {
        "type": "struct",
        "fields": [
            {"type": "string", "optional": False, "field": "id"},
            {"type": "int64", "optional": False, "field": "total_order"},
            {"type": "int64", "optional": False, "field": "data_collection_order"},
        ],
        "optional": True,
        "name": "event.block",
        "version": 1,
        "field": "transaction",
    }
    return {
        "type": "struct",
        "fields": [
            image("before"),
            image("after"),
            _source_schema(connector),
            transaction,
            {"type": "string", "optional": False, "field": "op"},
            {"type": "int64", "optional": True, "field": "ts_ms"},
            {"type": "int64", "optional": True, "field": "ts_us"},
            {"type": "int64", "optional": True, "field": "ts_ns"},
        ],
        "optional": False,
        "name": f"{topic}.Envelope",
        "version": 2,
    }
