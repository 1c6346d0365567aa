"""Column values map like Debezium's JSON converter with its default settings."""

import datetime as dt
from decimal import Decimal

import pytest

from cdc.position import Position
from cdc.types import decode, encode, kind_of_declared


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("INTEGER", ("int", None)),
        ("BIGINT", ("int", None)),
        ("NUMERIC(10, 2)", ("decimal", 2)),
        ("numeric", ("decimal", None)),
        ("VARCHAR(40)", ("text", None)),
        ("BOOLEAN", ("bool", None)),
        ("DATE", ("date", None)),
        ("DATETIME", ("timestamp", None)),
        ("timestamp with time zone", ("timestamptz", None)),
        ("TIME", ("time", None)),
        ("JSONB", ("json", None)),
        ("UUID", ("uuid", None)),
        ("BLOB", ("bytes", None)),
        ("bytea", ("bytes", None)),
        ("DOUBLE PRECISION", ("float", None)),
        ("", ("text", None)),
    ],
)
def test_declared_types_classify(declared, expected):
    assert kind_of_declared(declared) == expected


def test_decimal_is_base64_of_unscaled_twos_complement():
    # Debezium writes 3.50 in numeric(10,2) as the bytes of 350 = 0x015E -> "AV4="
    assert encode("decimal", Decimal("3.50"), 2) == "AV4="
    assert encode("decimal", "-1.00", 2) == "nA=="  # -100 = 0x9C, minimal like BigInteger
    assert decode("decimal", "AV4=", 2) == Decimal("3.50")
    assert decode("decimal", "nA==", 2) == Decimal("-1.00")


def test_decimal_without_scale_is_variable_scale_struct():
    value = encode("decimal", Decimal("12.345"))
    assert value == {"scale": 3, "value": "MDk="}  # 12345 = 0x3039
    assert decode("decimal", value) == Decimal("12.345")


def test_dates_and_times_are_epoch_numbers():
    assert encode("date", "1970-01-02") == 1
    assert encode("date", dt.date(2024, 1, 1)) == 19723
    assert encode("timestamp", "1970-01-01 00:00:01.5") == 1_500_000
    assert encode("time", "01:00:00") == 3_600_000_000
    assert decode("timestamp", 1_500_000) == dt.datetime(1970, 1, 1, 0, 0, 1, 500000)
    assert decode("date", 19723) == dt.date(2024, 1, 1)
    assert decode("time", 3_600_000_000) == dt.time(1, 0)


def test_timestamptz_is_an_iso_string_in_utc():
    moment = dt.datetime(2019, 5, 28, 10, 45, 4, 863123, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert encode("timestamptz", moment) == "2019-05-28T08:45:04.863123Z"
    assert encode("timestamptz", "2020-01-01 00:00:00") == "2020-01-01T00:00:00.000000Z"
    assert decode("timestamptz", "2019-05-28T08:45:04.863123Z") == moment


def test_bytes_are_base64_and_bool_json_uuid_are_plain():
    assert encode("bytes", b"\x00\xff") == "AP8="
    assert decode("bytes", "AP8=") == b"\x00\xff"
    assert encode("bool", 1) is True
    assert encode("json", {"a": 1}) == '{"a":1}'
    assert encode("uuid", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11") == (
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    )


def test_nulls_stay_null_and_unknown_kinds_fail():
    assert encode("int", None) is None
    with pytest.raises(ValueError, match="unknown column kind"):
        encode("money", 1)
    with pytest.raises(ValueError, match="cannot read"):
        decode("decimal", "***", 2)


def test_positions_order_by_log_then_index_and_round_trip():
    assert Position(5, 2) < Position(6, 0) < Position(6, 1)
    assert Position.parse("6:1") == Position(6, 1)
    assert Position.parse(Position(7, 3).encode()) == Position(7, 3)
    with pytest.raises(ValueError, match="not a position"):
        Position.parse("x")


@pytest.mark.parametrize(
    ("value", "written"),
    [(float("nan"), "NaN"), (float("inf"), "Infinity"), (-float("inf"), "-Infinity")],
)
def test_non_finite_floats_are_written_as_strings_and_read_back(value, written):
    assert encode("float", value) == written
    back = decode("float", written)
    assert back == value or (back != back and value != value)
