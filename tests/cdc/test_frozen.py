"""cdc/frozen.py: the one-step __init__ keeps every behaviour of a frozen dataclass."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from cdc.event import ChangeEvent, Message, Source
from cdc.frozen import fast_init
from cdc.position import Position
from cdc.transport import Record


@fast_init
@dataclasses.dataclass(frozen=True, order=True)
class Pair:
    left: int
    right: str = "r"
    seen: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.left < 0:
            raise ValueError("left must be >= 0")


def test_fields_defaults_and_post_init() -> None:
    assert Pair(1) == Pair(left=1, right="r", seen=())
    assert Pair(2, "x").right == "x"
    with pytest.raises(ValueError, match="left must be"):
        Pair(-1)
    with pytest.raises(TypeError):
        Pair()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Pair(1, nope=2)  # type: ignore[call-arg]


def test_frozen_hash_order_replace_pickle_repr() -> None:
    pair = Pair(1, "a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        pair.left = 2  # type: ignore[misc]
    assert hash(pair) == hash(Pair(1, "a"))
    assert Pair(1) < Pair(2)
    assert dataclasses.replace(pair, right="b") == Pair(1, "b")
    assert pickle.loads(pickle.dumps(pair)) == pair
    assert repr(pair) == "Pair(left=1, right='a', seen=())"


def test_refuses_what_it_cannot_build() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Slotted:
        a: int

    @dataclasses.dataclass(frozen=True)
    class Factory:
        a: list[int] = dataclasses.field(default_factory=list)

    @dataclasses.dataclass(frozen=True)
    class NotInit:
        a: int = dataclasses.field(default=0, init=False)

    for cls in (Slotted, Factory, NotInit):
        with pytest.raises(TypeError):
            fast_init(cls)


def test_the_hot_path_classes_still_validate() -> None:
    with pytest.raises(ValueError, match="snapshot"):
        Source(name="p", db="d", schema="s", table="t", ts_ms=0, snapshot="maybe")
    source = Source(name="p", db="d", schema="s", table="t", ts_ms=0)
    with pytest.raises(ValueError, match="op"):
        ChangeEvent(op="x", source=source, ts_ms=0)
    with pytest.raises(ValueError, match=">= 0"):
        Position(-1)
    record = Record(Message("t", b"k", b"v"), 0, 5)
    assert record.timestamp_ms == 0 and record.topic == "t"
    assert Position(3, 1) > Position(3, 0) and Position.parse("3:1") == Position(3, 1)
