"""Apache Kafka as the transport, through kafka-python (>= 3, for Kafka 4.x KRaft brokers).

The producer is idempotent with `acks=all`; `publish` returns only once the broker
acknowledged every message. Messages are sent to the partition `partition_for(key)`
picks, the same rule as the embedded log, so a row always lands in one partition.
Consumers join a group (subscribe), never auto-commit, and commit after apply.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cdc.errors import CdcError
from cdc.event import Message
from cdc.transport import Record, TopicPartition, partition_for

log = logging.getLogger(__name__)
# Bytes fetched per partition per round trip: 4 MiB (the default is 1 MiB) halves the
# round trips a backlog drains in; the broker still caps a response at fetch_max_bytes.
MAX_PARTITION_FETCH = 4 * 1024 * 1024
# A broker that went away is retried at least this often (kafka-python's default backs
# off up to 30 s, longer than a broker restart takes).
RECONNECT_BACKOFF_MAX_MS = 2000


def _kafka() -> Any:
    import kafka  # heavy: imported only when the Kafka transport is used

    return kafka


class KafkaTransport:
    """Publish to and consume from an Apache Kafka cluster."""

    def __init__(self, bootstrap: str, *, partitions: int = 3, replication: int = 1) -> None:
        if partitions < 1:
            raise ValueError(f"partitions must be >= 1, got {partitions}")
        self.bootstrap = bootstrap
        self.partitions = partitions
        self.replication = replication
        self._producer: Any = None
        self._admin: Any = None
        self._counts: dict[str, int] = {}

    def _errors(self) -> Any:
        return _kafka().errors

    def _admin_client(self) -> Any:
        if self._admin is None:
            try:
                self._admin = _kafka().KafkaAdminClient(
                    bootstrap_servers=self.bootstrap, client_id="strangler-cdc-admin"
                )
            except self._errors().KafkaError as exc:
                raise CdcError(f"cannot reach Kafka at {self.bootstrap}: {exc}") from None
        return self._admin

    def ensure_topics(self, topics: Iterable[str]) -> None:
        missing = [t for t in topics if t not in self._counts]
        if not missing:
            return
        admin = self._admin_client()
        existing = set(admin.list_topics())
        new = {
            t: {"num_partitions": self.partitions, "replication_factor": self.replication}
            for t in missing
            if t not in existing
        }
        if new:
            try:
                admin.create_topics(new, wait_for_metadata=True)
            except self._errors().TopicAlreadyExistsError:
                pass
        for topic in missing:
            self._counts[topic] = self._partition_count(topic)

    def _partition_count(self, topic: str) -> int:
        described = self._admin_client().describe_topics([topic])
        for item in described:
            if item.get("name", item.get("topic")) == topic:
                return len(item["partitions"])
        raise CdcError(f"Kafka topic {topic!r} does not exist")

    def _producer_client(self) -> Any:
        if self._producer is None:
            self._producer = _kafka().KafkaProducer(
                bootstrap_servers=self.bootstrap,
                acks="all",
                enable_idempotence=True,
                reconnect_backoff_max_ms=RECONNECT_BACKOFF_MAX_MS,
                linger_ms=20,
                batch_size=512 * 1024,
                max_request_size=8 * 1024 * 1024,
                client_id="strangler-cdc",
            )
        return self._producer

    def publish(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        self.ensure_topics({m.topic for m in messages})
        producer = self._producer_client()
        futures = [
            producer.send(
                m.topic,
                key=m.key,
                value=m.value,
                headers=list(m.headers),
                partition=partition_for(m.key, self._counts[m.topic]),
            )
            for m in messages
        ]
        producer.flush()
        for future in futures:
            try:
                future.get(timeout=30)
            except self._errors().KafkaError as exc:
                raise CdcError(f"Kafka did not acknowledge a message: {exc}") from None

    def consumer(self, group: str, topics: Sequence[str]) -> KafkaGroupConsumer:
        self.ensure_topics(topics)
        return KafkaGroupConsumer(self.bootstrap, group, topics)

    def _probe(self, group: str | None) -> Any:
        return _kafka().KafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=group, enable_auto_commit=False
        )

    def _partitions(self, topics: Sequence[str]) -> list[Any]:
        self.ensure_topics(topics)
        tp = _kafka().TopicPartition
        return [tp(t, p) for t in topics for p in range(self._counts[t])]

    def end_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, int]:
        probe = self._probe(None)
        try:
            ends = probe.end_offsets(self._partitions(topics))
        finally:
            probe.close()
        return {(tp.topic, tp.partition): int(o) for tp, o in ends.items()}

    def committed(self, group: str, topics: Sequence[str]) -> dict[TopicPartition, int]:
        probe = self._probe(group)
        try:
            result = {}
            for tp in self._partitions(topics):
                offset = probe.committed(tp)
                if offset is not None:
                    result[(tp.topic, tp.partition)] = int(offset)
        finally:
            probe.close()
        return result

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close()
        if self._admin is not None:
            self._admin.close()


class KafkaGroupConsumer:
    """A subscribed group member; seeks requested before assignment apply on assignment."""

    def __init__(self, bootstrap: str, group: str, topics: Sequence[str]) -> None:
        kafka = _kafka()
        self._tp = kafka.TopicPartition
        self._pending: dict[TopicPartition, int] = {}
        self._consumer = kafka.KafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=20,  # the default 500 ms would be most of the apply lag
            # A topic created just before subscribing may be missing from the first
            # metadata; refreshing often lets the group re-assign it within seconds
            # instead of the default 5 minutes.
            metadata_max_age_ms=5000,
            max_partition_fetch_bytes=MAX_PARTITION_FETCH,
            client_id=f"strangler-cdc-{group}",
            # A restarted broker is retried at least every 2 s (default: backoff up to
            # 30 s), and a SIGKILLed sink's membership expires after 10 s (default 45 s),
            # so a restarted sink gets its partitions back within seconds.
            reconnect_backoff_max_ms=RECONNECT_BACKOFF_MAX_MS,
            session_timeout_ms=10000,
            heartbeat_interval_ms=3000,
        )
        outer = self
        base: Any = kafka.ConsumerRebalanceListener

        class Listener(base):
            def on_partitions_revoked(self, revoked: Any) -> None:
                pass

            def on_partitions_assigned(self, assigned: Any) -> None:
                outer._apply_seeks(assigned)

        self._await_metadata(topics)
        self._consumer.subscribe(list(topics), listener=Listener())

    def _await_metadata(self, topics: Sequence[str], timeout_s: float = 15.0) -> None:
        """Wait (bounded) until this client's metadata has every topic's partitions.

        A group's first assignment is computed from the leader's metadata; a topic created
        just before has none yet, the range assignor skips it ("No partition metadata")
        and kafka-python does not always rebalance once it appears, so the member would
        wait forever on an empty assignment.
        """
        deadline = time.monotonic() + timeout_s
        missing = list(topics)
        while missing and time.monotonic() < deadline:
            missing = [t for t in missing if not self._consumer.partitions_for_topic(t)]
            if missing:
                time.sleep(0.1)
        if missing:
            log.warning("no partition metadata yet for %s; subscribing anyway", missing)

    def _apply_seeks(self, assigned: Iterable[Any]) -> None:
        for tp in assigned:
            offset = self._pending.get((tp.topic, tp.partition))
            if offset is not None:
                self._consumer.seek(tp, offset)

    def poll(self, max_records: int = 500, timeout_s: float = 0.5) -> list[Record]:
        batches = self._consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        records = []
        for tp, items in batches.items():
            for item in items:
                headers = tuple((k, bytes(v)) for k, v in (item.headers or ()))
                message = Message(tp.topic, item.key, item.value, headers)
                records.append(Record(message, tp.partition, item.offset, item.timestamp))
        return records

    def seek(self, offsets: Mapping[TopicPartition, int]) -> None:
        self._pending.update(offsets)
        self._apply_seeks(self._consumer.assignment())

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        if not offsets:
            return
        meta = _kafka().OffsetAndMetadata
        self._consumer.commit({self._tp(t, p): meta(o, "", -1) for (t, p), o in offsets.items()})

    def close(self) -> None:
        self._consumer.close()
