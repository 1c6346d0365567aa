"""The transport contract shared by the embedded log and Apache Kafka.

A transport carries `Message`s on topics split into partitions. A message's partition
is chosen by its key, so every change of one row lands in one partition and keeps its
order. Consumers belong to groups that commit the next offset to read per partition;
a sink may also keep its own offsets (in its target database) and `seek` to them.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from cdc.event import Message
from cdc.frozen import fast_init

TopicPartition = tuple[str, int]


@fast_init
@dataclass(frozen=True)
class Record:
    """A message as read back from a transport, with its partition and offset."""

    message: Message
    partition: int
    offset: int
    timestamp_ms: int = 0

    @property
    def topic(self) -> str:
        return self.message.topic


def partition_for(key: bytes | None, partitions: int) -> int:
    """Pick a partition from the key; keyless messages (truncates) go to partition 0."""
    if key is None or partitions <= 1:
        return 0
    return zlib.crc32(key) % partitions


class Consumer(Protocol):
    """One member of a consumer group reading some topics."""

    def poll(self, max_records: int = 500, timeout_s: float = 0.5) -> list[Record]:
        """Return the next records (possibly none), in offset order within each partition."""
        ...

    def seek(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Continue each given partition from the given offset."""
        ...

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Record, for the group, the next offset to read per partition."""
        ...

    def close(self) -> None: ...


class Transport(Protocol):
    """Where captured events go and where sinks read them from."""

    def ensure_topics(self, topics: Iterable[str]) -> None:
        """Create the topics that do not exist yet, with the configured partition count."""
        ...

    def publish(self, messages: Sequence[Message]) -> None:
        """Append messages durably; when this returns they survive a crash."""
        ...

    def consumer(
        self, group: str, topics: Sequence[str], partitions: Sequence[TopicPartition] | None = None
    ) -> Consumer:
        """Join `group` reading `topics`, starting at the group's committed offsets.

        With `partitions`, read only those partitions of the topics (a sink worker's
        share, see cdc/workers.py); by default every partition, including new ones.
        """
        ...

    def end_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, int]:
        """Return the next offset to be written per partition of the given topics."""
        ...

    def committed(self, group: str, topics: Sequence[str]) -> dict[TopicPartition, int]:
        """Return the group's committed next offsets per partition."""
        ...

    def close(self) -> None: ...
