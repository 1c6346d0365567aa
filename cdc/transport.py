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

from cdc.errors import CdcError
from cdc.event import Message

TopicPartition = tuple[str, int]


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

    def consumer(self, group: str, topics: Sequence[str]) -> Consumer:
        """Join `group` reading `topics`, starting at the group's committed offsets."""
        ...

    def end_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, int]:
        """Return the next offset to be written per partition of the given topics."""
        ...

    def committed(self, group: str, topics: Sequence[str]) -> dict[TopicPartition, int]:
        """Return the group's committed next offsets per partition."""
        ...

    def close(self) -> None: ...


def open_transport(
    spec: str,
    *,
    partitions: int = 3,
    retention_bytes: int | None = None,
    retention_ms: int | None = None,
    kafka_outage_s: float = 300.0,
) -> Transport:
    """Open `embedded:PATH` or `kafka:HOST:PORT`.

    Retention applies to the embedded log; `kafka_outage_s` is how long a Kafka broker
    may be away while the pipeline runs before it stops with an error.
    """
    kind, sep, target = spec.partition(":")
    if not sep or not target:
        raise CdcError(f"transport {spec!r} must be embedded:PATH or kafka:HOST:PORT")
    if kind == "embedded":
        from cdc.transport_embedded import EmbeddedLog

        return EmbeddedLog(
            target,
            partitions=partitions,
            retention_bytes=retention_bytes,
            retention_ms=retention_ms,
        )
    if kind == "kafka":
        from cdc.transport_kafka import KafkaTransport

        return KafkaTransport(target, partitions=partitions, outage_s=kafka_outage_s)
    raise CdcError(f"unknown transport kind {kind!r} in {spec!r} (use embedded: or kafka:)")
