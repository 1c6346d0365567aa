"""Static partition assignment: worker i of N applies its own share of the partitions.

Several sink processes can share one set of topics when each is told `--worker i/N`:
partition p of topic t belongs to worker `(crc32(t) + p) % N`. Every partition has
exactly one owner, so the changes of a row (one key, one partition) are applied by one
process in offset order, and each worker stores its partitions' offsets with the rows
in the target, which keeps the exactly-once effect. The rule needs no coordination,
spreads the partitions of several topics evenly, and keeps existing partitions with
their owner when topics or partitions are added. Pure: no I/O.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from cdc.errors import CdcError

TopicPartition = tuple[str, int]


@dataclass(frozen=True)
class Worker:
    """This process's place among `count` sink workers (index counts from 0)."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise CdcError(f"worker must be i/N with 0 <= i < N, got {self.index}/{self.count}")

    @classmethod
    def parse(cls, text: str) -> Worker:
        """Read `i/N` (e.g. `0/2`), or fail naming the problem."""
        index, sep, count = text.partition("/")
        if not sep or not index.strip().isdigit() or not count.strip().isdigit():
            raise CdcError(f"worker must be i/N (e.g. 0/2), got {text!r}")
        return cls(int(index), int(count))

    @property
    def alone(self) -> bool:
        return self.count == 1

    def owns(self, tp: TopicPartition) -> bool:
        topic, partition = tp
        return (zlib.crc32(topic.encode()) + partition) % self.count == self.index

    def share(self, partitions: Iterable[TopicPartition]) -> list[TopicPartition]:
        """Return the partitions this worker applies, in order."""
        return sorted(tp for tp in partitions if self.owns(tp))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
