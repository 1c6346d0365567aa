"""Apache Kafka as the transport, through kafka-python (>= 3, for Kafka 4.x KRaft brokers).

The producer is idempotent with `acks=all`; `publish` returns only once the broker
acknowledged every message. Messages are sent to the partition `partition_for(key)`
picks, the same rule as the embedded log, so a row always lands in one partition.
A consumer reads every partition of its topics (assigned directly, as the one active
member of its group), never auto-commits, and commits after apply. A broker that goes
away while the pipeline runs is waited for, up to `outage_s` (default 5 minutes): the
producer keeps retrying unacknowledged sends and the consumer its fetches and commits;
past that the pipeline stops with an error, having lost nothing.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from cdc.errors import CdcError
from cdc.event import Message
from cdc.transport import Record, TopicPartition, partition_for

log = logging.getLogger(__name__)
T = TypeVar("T")
# Bytes fetched per partition per round trip: 4 MiB (the default is 1 MiB) halves the
# round trips a backlog drains in; the broker still caps a response at fetch_max_bytes.
MAX_PARTITION_FETCH = 4 * 1024 * 1024
# A broker that went away is retried at least this often (kafka-python's default backs
# off up to 30 s, longer than a broker restart takes).
RECONNECT_BACKOFF_MAX_MS = 2000
# A wrong or dead bootstrap address at start-up is reported after this long (default 30 s).
BOOTSTRAP_TIMEOUT_MS = 10_000
# How long a broker may be away while the pipeline runs before it stops with an error.
OUTAGE_S = 300.0


def _kafka() -> Any:
    import kafka  # heavy: imported only when the Kafka transport is used

    return kafka


def _connect(bootstrap: str, **config: Any) -> Any:
    """A KafkaConsumer; a bootstrap address nothing answers on is a `CdcError`."""
    kafka = _kafka()
    try:
        return kafka.KafkaConsumer(
            bootstrap_servers=bootstrap, bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS, **config
        )
    except kafka.errors.KafkaError as exc:
        raise CdcError(f"cannot reach Kafka at {bootstrap}: {exc}") from None


class KafkaTransport:
    """Publish to and consume from an Apache Kafka cluster."""

    def __init__(
        self, bootstrap: str, *, partitions: int = 3, replication: int = 1,
        outage_s: float = OUTAGE_S,
    ) -> None:  # fmt: skip
        if partitions < 1:
            raise ValueError(f"partitions must be >= 1, got {partitions}")
        self.bootstrap = bootstrap
        self.outage_s = outage_s
        self.partitions = partitions
        self.replication = replication
        self._producer: Any = None
        self._admin: Any = None
        self._probes: dict[str | None, Any] = {}  # end offsets and committed offsets, per group
        self._counts: dict[str, int] = {}

    def _errors(self) -> Any:
        return _kafka().errors

    def _admin_client(self) -> Any:
        if self._admin is None:
            try:
                self._admin = _kafka().KafkaAdminClient(
                    bootstrap_servers=self.bootstrap,
                    client_id="strangler-cdc-admin",
                    bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
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
                # Unacknowledged sends are retried (and a full buffer waited on) while
                # the broker is away, up to the outage limit.
                delivery_timeout_ms=int(self.outage_s * 1000),
                max_block_ms=int(self.outage_s * 1000),
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
        try:
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
            for future in futures:  # flush() leaves them done: get() only raises failures
                if not future.is_done or future.failed():
                    future.get(timeout=30)
        except self._errors().KafkaError as exc:
            # The capture did not ack this batch: a restart publishes it again.
            raise CdcError(
                f"Kafka at {self.bootstrap} did not acknowledge a message within "
                f"{self.outage_s:.0f} s: {exc}"
            ) from None

    def consumer(
        self, group: str, topics: Sequence[str], partitions: Sequence[TopicPartition] | None = None
    ) -> KafkaGroupConsumer:
        if partitions is None:
            partitions = [(tp.topic, tp.partition) for tp in self._partitions(topics)]
        return KafkaGroupConsumer(self.bootstrap, group, partitions, outage_s=self.outage_s)

    def _probe(self, group: str | None) -> Any:
        return _connect(self.bootstrap, group_id=group, enable_auto_commit=False)

    def _partitions(self, topics: Sequence[str]) -> list[Any]:
        self.ensure_topics(topics)
        tp = _kafka().TopicPartition
        return [tp(t, p) for t in topics for p in range(self._counts[t])]

    def _probing(self, group: str | None, doing: str, ask: Callable[[Any], T]) -> T:
        """Ask this group's probe consumer (kept: `--once` asks for end offsets every
        50 ms, and a new consumer costs ~100 ms); while the broker is away, retry."""
        outage = _Outage(f"Kafka at {self.bootstrap}", self.outage_s)
        while True:
            try:
                if group not in self._probes:
                    self._probes[group] = self._probe(group)
                return ask(self._probes[group])
            except (self._errors().KafkaError, CdcError) as exc:  # CdcError: no bootstrap
                stale = self._probes.pop(group, None)
                if stale is not None:
                    stale.close()
                outage.failed(doing, exc)

    def end_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, int]:
        partitions = self._partitions(topics)
        ends = self._probing(None, "end offsets", lambda probe: probe.end_offsets(partitions))
        return {(tp.topic, tp.partition): int(o) for tp, o in ends.items()}

    def committed(self, group: str, topics: Sequence[str]) -> dict[TopicPartition, int]:
        partitions = self._partitions(topics)

        def ask(probe: Any) -> dict[TopicPartition, int]:
            offsets = {tp: probe.committed(tp) for tp in partitions}
            return {(tp.topic, tp.partition): int(o) for tp, o in offsets.items() if o is not None}

        return self._probing(group, "committed offsets", ask)

    def close(self) -> None:
        for probe in self._probes.values():
            probe.close()
        self._probes = {}
        if self._producer is not None:
            self._producer.close()
        if self._admin is not None:
            self._admin.close()


class KafkaGroupConsumer:
    """Reads every partition of its topics (or a sink worker's share) for a group.

    Partitions are assigned to this client directly (`assign`), not through the group
    protocol: the sink is the one active member of its group for its partitions (its
    stored offsets are the truth, transaction assembly needs every partition, and sink
    workers split the partitions statically, see cdc/workers.py), so there is nothing to
    balance, and a join that leaves the member with an empty assignment, or a rebalance
    after a broker restart, cannot stall it. Offsets are still committed to the group,
    so Kafka tools show its progress. A commit or fetch that fails while the broker is
    away is logged and retried; past `outage_s` it raises `CdcError`.
    """

    def __init__(
        self, bootstrap: str, group: str, partitions: Sequence[TopicPartition],
        *, outage_s: float = OUTAGE_S,
    ) -> None:  # fmt: skip
        kafka = _kafka()
        self.bootstrap = bootstrap
        self._tp = kafka.TopicPartition
        self._outage = _Outage(f"Kafka at {bootstrap}", outage_s)
        self._unsent: dict[TopicPartition, int] = {}
        self._consumer = _connect(
            bootstrap,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=20,  # the default 500 ms would be most of the apply lag
            max_partition_fetch_bytes=MAX_PARTITION_FETCH,
            client_id=f"strangler-cdc-{group}",
            # A restarted broker is retried at least every 2 s (default: up to 30 s).
            reconnect_backoff_max_ms=RECONNECT_BACKOFF_MAX_MS,
        )
        self._consumer.assign([self._tp(t, p) for t, p in partitions])

    def poll(self, max_records: int = 500, timeout_s: float = 0.5) -> list[Record]:
        try:
            batches = self._consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        except _kafka().errors.KafkaError as exc:
            self._outage.failed("fetch", exc)
            return []
        self._outage.ok()
        records = []
        for tp, items in batches.items():
            for item in items:
                message = Message(tp.topic, item.key, item.value, _headers(item.headers))
                records.append(Record(message, tp.partition, item.offset, item.timestamp))
        return records

    def seek(self, offsets: Mapping[TopicPartition, int]) -> None:
        for (topic, partition), offset in offsets.items():
            self._consumer.seek(self._tp(topic, partition), offset)

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit to the group; while the broker is away, keep them for the next commit."""
        self._unsent.update(offsets)
        if not self._unsent:
            return
        meta = _kafka().OffsetAndMetadata
        batch = {self._tp(t, p): meta(o, "", -1) for (t, p), o in self._unsent.items()}
        try:
            self._consumer.commit(batch)
        except _kafka().errors.KafkaError as exc:
            self._outage.failed("offset commit", exc)
            return
        self._outage.ok()
        self._unsent = {}

    def close(self) -> None:
        if self._unsent:
            with contextlib.suppress(Exception):  # best effort: the sink's offsets rule
                self.commit({})
        self._consumer.close()


def _headers(raw: list[tuple[str, bytes | None]] | None) -> tuple[tuple[str, bytes], ...]:
    """A record's headers as a tuple; kafka-python reads values as bytes, a null one as None
    (kept as empty bytes)."""
    if not raw:
        return ()
    for _, value in raw:
        if value is None:
            return tuple((k, v or b"") for k, v in raw)
    return tuple(raw)  # type: ignore[arg-type]  # no None in it


class _Outage:
    """Tell apart a broker that is briefly away (log, go on) from one that is gone (raise)."""

    def __init__(self, what: str, limit_s: float) -> None:
        self.what = what
        self.limit_s = limit_s
        self.since: float | None = None

    def failed(self, doing: str, exc: BaseException) -> None:
        now = time.monotonic()
        if self.since is None:
            self.since = now
        away = now - self.since
        if away > self.limit_s:
            raise CdcError(
                f"{self.what} unreachable for {away:.0f} s ({doing} failed: {exc}); "
                "nothing is lost: the sink resumes from its stored offsets on restart"
            )
        log.warning("%s: %s failed (%s); retrying (away %.0f s of %.0f s)",
                    self.what, doing, exc, away, self.limit_s)  # fmt: skip
        time.sleep(min(1.0, RECONNECT_BACKOFF_MAX_MS / 1000))

    def ok(self) -> None:
        if self.since is not None:
            log.warning("%s is back after %.0f s", self.what, time.monotonic() - self.since)
        self.since = None
