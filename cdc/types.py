"""Column values as Debezium's JSON converter writes them (pure, no I/O).

Debezium's PostgreSQL connector with its defaults (`decimal.handling.mode=precise`,
`time.precision.mode=adaptive`, `binary.handling.mode=bytes`) and the JsonConverter:

kind        | source types                   | JSON value
----------- | ------------------------------ | ---------------------------------------------
int         | smallint, integer, bigint      | number
float       | real, double precision         | number
decimal     | numeric(p,s), decimal(p,s)     | base64 of the unscaled big-endian two's-
            |                                | complement integer (Connect Decimal)
decimal     | numeric without a scale        | {"scale": s, "value": base64}
            |                                | (io.debezium.data.VariableScaleDecimal)
text        | text, varchar, char            | string
bool        | boolean                        | true / false
date        | date                           | days since 1970-01-01 (io.debezium.time.Date)
timestamp   | timestamp without time zone    | microseconds since the epoch (MicroTimestamp)
timestamptz | timestamp with time zone       | ISO-8601 UTC, 6 fraction digits (ZonedTimestamp)
time        | time without time zone         | microseconds since midnight (MicroTime)
json        | json, jsonb                    | the document as a string (io.debezium.data.Json)
uuid        | uuid                           | string (io.debezium.data.Uuid)
bytes       | bytea, blob                    | base64 string
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import uuid
from decimal import Decimal
from typing import Any

KINDS = (
    "int", "float", "decimal", "text", "bool", "date",
    "timestamp", "timestamptz", "time", "json", "uuid", "bytes",
)  # fmt: skip

EPOCH_DATE = dt.date(1970, 1, 1)
EPOCH = dt.datetime(1970, 1, 1)
_DECIMAL_SCALE = re.compile(r"\(\s*\d+\s*,\s*(\d+)\s*\)")


def kind_of_declared(declared: str) -> tuple[str, int | None]:
    """Classify a declared column type (SQLite or PostgreSQL spelling) as (kind, scale)."""
    decl = declared.strip().lower()
    if not decl:
        return "text", None
    if "timestamptz" in decl or ("with time zone" in decl and "timestamp" in decl):
        return "timestamptz", None
    if "timestamp" in decl or "datetime" in decl:
        return "timestamp", None
    if decl.startswith("time"):
        return "time", None
    if decl.startswith("date"):
        return "date", None
    if decl.startswith("bool"):
        return "bool", None
    if "uuid" in decl:
        return "uuid", None
    if decl.startswith("json"):
        return "json", None
    if "blob" in decl or "bytea" in decl or "binary" in decl:
        return "bytes", None
    if "int" in decl or decl == "serial" or decl == "bigserial":
        return "int", None
    if decl.startswith(("numeric", "decimal")):
        match = _DECIMAL_SCALE.search(decl)
        return "decimal", int(match.group(1)) if match else None
    if any(word in decl for word in ("real", "floa", "doub")):
        return "float", None
    return "text", None


def encode(kind: str, value: Any, scale: int | None = None) -> Any:
    """Return `value` (a Python or raw database value) as Debezium's JSON converter writes it."""
    if value is None:
        return None
    if type(value) is _PASS_THROUGH.get(kind):  # the common case, kept cheap
        return value
    encoder = _ENCODERS.get(kind)
    if encoder is None:
        raise ValueError(f"unknown column kind {kind!r} (known: {', '.join(KINDS)})")
    return encoder(value, scale)


def passed_through(kind: str) -> type | None:
    """The type of the values `encode` returns unchanged for `kind` (None: none is)."""
    return _PASS_THROUGH.get(kind)


def decode(kind: str, value: Any, scale: int | None = None) -> Any:
    """Turn a Debezium JSON value back into the Python value a database driver accepts."""
    if value is None:
        return None
    if type(value) is DECODED.get(kind):
        return value
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise ValueError(f"unknown column kind {kind!r} (known: {', '.join(KINDS)})")
    try:
        return decoder(value, scale)
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise ValueError(f"cannot read {value!r} as {kind}: {exc}") from None


def _unscaled_bytes(number: int) -> bytes:
    length = max(1, (number + (number < 0)).bit_length() // 8 + 1)
    return number.to_bytes(length, "big", signed=True)


def _encode_decimal(value: Any, scale: int | None) -> Any:
    number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    if scale is None:
        exponent = number.as_tuple().exponent
        var_scale = max(0, -exponent) if isinstance(exponent, int) else 0
        unscaled = int(number.scaleb(var_scale))
        return {"scale": var_scale, "value": base64.b64encode(_unscaled_bytes(unscaled)).decode()}
    unscaled = int(number.scaleb(scale).to_integral_value())
    return base64.b64encode(_unscaled_bytes(unscaled)).decode()


def _decode_decimal(value: Any, scale: int | None) -> Decimal:
    if isinstance(value, dict):
        raw, scale = value["value"], int(value["scale"])
    elif isinstance(value, int | float):
        return Decimal(str(value))
    else:
        raw = value
    unscaled = int.from_bytes(base64.b64decode(raw, validate=True), "big", signed=True)
    return Decimal(unscaled).scaleb(-(scale or 0))


def _parse_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    text = str(value).strip().replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return dt.datetime.fromisoformat(text)


def _encode_timestamp(value: Any, _: int | None) -> int:
    moment = _parse_datetime(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _encode_timestamptz(value: Any, _: int | None) -> str:
    moment = _parse_datetime(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    # Debezium writes the column's precision (6 by default), zeros included.
    return f"{text}.{moment.microsecond:06d}Z"


def _encode_date(value: Any, _: int | None) -> int:
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    if isinstance(day, dt.datetime):
        day = day.date()
    return (day - EPOCH_DATE).days


def _encode_time(value: Any, _: int | None) -> int:
    moment = value if isinstance(value, dt.time) else dt.time.fromisoformat(str(value))
    seconds = moment.hour * 3600 + moment.minute * 60 + moment.second
    return seconds * 1_000_000 + moment.microsecond


def _encode_bytes(value: Any, _: int | None) -> str:
    raw = bytes(value)
    return base64.b64encode(raw).decode()


def _encode_json(value: Any, _: int | None) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _encode_bool(value: Any, _: int | None) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "t", "true", "yes", "on")
    return bool(value)


def _encode_int(value: Any, _: int | None) -> int:
    return int(value)


def _encode_float(value: Any, _: int | None) -> float | str:
    number = float(value)
    if number - number == 0:  # finite
        return number
    # NaN and infinities are not JSON numbers: written as the strings Jackson writes
    # (float("NaN") and float("-Infinity") read them back).
    return "NaN" if number != number else ("Infinity" if number > 0 else "-Infinity")


def _decode_float(value: Any, _: int | None) -> float:
    return float(value)


def _encode_text(value: Any, _: int | None) -> str:
    return value if isinstance(value, str) else str(value)


def _decode_timestamp(value: Any, _: int | None) -> dt.datetime:
    if isinstance(value, int):
        return EPOCH + dt.timedelta(microseconds=value)
    return _parse_datetime(value)


def _decode_timestamptz(value: Any, _: int | None) -> dt.datetime:
    if isinstance(value, int):
        return (EPOCH + dt.timedelta(microseconds=value)).replace(tzinfo=dt.UTC)
    moment = _parse_datetime(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _decode_date(value: Any, _: int | None) -> dt.date:
    if isinstance(value, int):
        return EPOCH_DATE + dt.timedelta(days=value)
    return dt.date.fromisoformat(str(value)[:10])


def _decode_time(value: Any, _: int | None) -> dt.time:
    if isinstance(value, int):
        return (EPOCH + dt.timedelta(microseconds=value)).time()
    return dt.time.fromisoformat(str(value))


def _decode_bytes(value: Any, _: int | None) -> bytes:
    return base64.b64decode(value, validate=True)


def _decode_json(value: Any, _: int | None) -> Any:
    # The target column is JSON-typed: its driver type serializes, so hand it the document.
    return json.loads(value) if isinstance(value, str) else value


def _decode_uuid(value: Any, _: int | None) -> str:
    return str(uuid.UUID(str(value)))


# float is not passed through: NaN and infinities need _encode_float
_PASS_THROUGH: dict[str, type] = {"int": int, "text": str, "bool": bool}
# the values decode() returns as they are, by kind
DECODED: dict[str, type] = {**_PASS_THROUGH, "float": float}

_ENCODERS = {
    "int": _encode_int,
    "float": _encode_float,
    "decimal": _encode_decimal,
    "text": _encode_text,
    "bool": _encode_bool,
    "date": _encode_date,
    "timestamp": _encode_timestamp,
    "timestamptz": _encode_timestamptz,
    "time": _encode_time,
    "json": _encode_json,
    "uuid": _decode_uuid,
    "bytes": _encode_bytes,
}

_DECODERS = {
    "int": _encode_int,
    "float": _decode_float,
    "decimal": _decode_decimal,
    "text": _encode_text,
    "bool": _encode_bool,
    "date": _decode_date,
    "timestamp": _decode_timestamp,
    "timestamptz": _decode_timestamptz,
    "time": _decode_time,
    "json": _decode_json,
    "uuid": _decode_uuid,
    "bytes": _decode_bytes,
}
