"""One CDC pipeline: capture -> transport -> sink, step by step or until told to stop.

Capture publishes a batch durably before acknowledging it at the source, and the sink
commits the transport offsets only after the target transaction that applied (and
recorded) them: every crash point leads to redelivery, never loss, and the sink's
stored positions turn redelivery into exactly-once effect.

With `atomic_transactions`, events carry Debezium's transaction metadata and the sink
applies each source transaction whole, in commit order (see cdc/txn.py).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cdc.capture import Capture
from cdc.config import CdcConfig
from cdc.errors import CdcError
from cdc.event import Message, to_messages
from cdc.sink import ApplyResult, Sink
from cdc.transport import Consumer, Record, TopicPartition, Transport
from cdc.txn import Assembler, with_transactions
from cdc.txn import topic_for as transaction_topic
from cdc.workers import Worker

_DEFAULTS = CdcConfig()  # the one source of the defaults shared with strangler.toml [cdc]
_ALONE = Worker()  # one sink applies every partition


@dataclass(frozen=True)
class Options:
    """How a pipeline runs. Defaults are CdcConfig's; `from_config` takes a loaded one."""

    tombstones: bool = _DEFAULTS.tombstones
    schemas: bool = _DEFAULTS.schemas
    batch: int = _DEFAULTS.batch
    chunk_rows: int = _DEFAULTS.chunk_rows
    group: str = _DEFAULTS.group
    # The group's committed offsets are for monitoring: the sink resumes from the
    # offsets it stores with the rows. So they are committed at most this often (and at
    # close), which saves a broker round trip per batch on Kafka and an fsync on the log.
    group_commit_s: float = 1.0
    # Debezium's provide.transaction.metadata, and the sink applies whole transactions.
    atomic_transactions: bool = _DEFAULTS.atomic_transactions
    txn_buffer: int = _DEFAULTS.txn_buffer  # events held at most before a txn is split
    # The sink applies only this worker's share of the partitions (cdc/workers.py).
    worker: Worker = _ALONE

    @classmethod
    def from_config(cls, cfg: CdcConfig) -> Options:
        """Take every option that strangler.toml [cdc] also names from `cfg`."""
        shared = {f.name for f in dataclasses.fields(CdcConfig)} - {"worker"}
        values = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cls) if f.name in shared}
        return cls(**values, worker=Worker.parse(cfg.worker))


@dataclass(frozen=True)
class Progress:
    published: int = 0
    applied: int = 0
    skipped: int = 0
    dead: int = 0
    snapshot_rows: int = 0
    split_transactions: int = 0  # transactions too big for the sink's buffer, applied in pieces


class Pipeline:
    """Drive a capture and/or a sink over one transport."""

    def __init__(
        self,
        transport: Transport,
        *,
        capture: Capture | None = None,
        sink: Sink | None = None,
        topics: Sequence[str] = (),
        options: Options | None = None,
    ) -> None:
        self.transport = transport
        self.capture = capture
        self.sink = sink
        self.options = options or Options()
        self.topics = list(topics) or (capture.topics() if capture else [])
        self.assembler: Assembler | None = None
        self.prefix = (
            capture.prefix if capture else (self.topics[0].split(".")[0] if topics else "")
        )
        if self.options.atomic_transactions and self.topics:
            tx_topic = transaction_topic(self.prefix)
            if tx_topic not in self.topics:
                self.topics.append(tx_topic)
            if sink is not None:
                self.assembler = Assembler(tx_topic, self.options.txn_buffer)
        worker = self.options.worker
        if not worker.alone and sink is not None:
            if capture is not None:
                raise CdcError(
                    f"worker {worker} applies a share of the partitions: run the capture "
                    "in its own process (no sink) and each sink worker without a source"
                )
            if self.options.atomic_transactions:
                raise CdcError(
                    "atomic transactions need every partition in one sink: "
                    f"they cannot be split across workers (worker {worker})"
                )
        if capture is not None:
            capture.transactions = self.options.atomic_transactions
        self._split_reported = 0
        self._consumer: Consumer | None = None
        self._uncommitted: dict[tuple[str, int], int] = {}
        self._committed_at = 0.0
        if self.topics:
            transport.ensure_topics(self.topics)

    def start(self) -> None:
        """Take the initial snapshot when the capture has no position yet (Debezium `initial`)."""
        if self.capture is not None and not self.capture.has_position():
            self.capture.request_snapshot()

    def capture_once(self) -> tuple[int, int]:
        """Publish the next batch; return (events published, snapshot rows among them)."""
        if self.capture is None:
            return 0, 0
        batch = self.capture.next_batch(self.options.batch, self.options.chunk_rows)
        tombstones, schemas = self.options.tombstones, self.options.schemas
        messages: list[Message]
        if self.options.atomic_transactions:
            messages = with_transactions(
                batch.events, prefix=self.prefix, tombstones=tombstones, schemas=schemas
            )
        else:
            messages = [
                m
                for event in batch.events
                for m in to_messages(event, tombstones=tombstones, schemas=schemas)
            ]
        self.transport.publish(messages)
        self.capture.ack(batch)
        snapshot_rows = len(batch.chunk.events) if batch.chunk else 0
        return len(batch.events), snapshot_rows

    def consumer(self) -> Consumer:
        if self._consumer is None:
            assert self.sink is not None
            mine = self.partitions()
            self._consumer = self.transport.consumer(self.options.group, self.topics, mine)
            owned = set(mine) if mine is not None else None
            stored = {
                tp: o
                for tp, o in self.sink.offsets().items()
                if tp[0] in self.topics and (owned is None or tp in owned)
            }
            self._consumer.seek(stored)
            if self.assembler is not None:
                self.assembler.released = self.sink.positions().get((self.assembler.tx_topic, 0))
        return self._consumer

    def partitions(self) -> list[TopicPartition] | None:
        """This worker's partitions of the topics, or None (every partition) when alone."""
        if self.options.worker.alone:
            return None
        return self.options.worker.share(self.transport.end_offsets(self.topics))

    def sink_once(self, timeout_s: float = 0.0) -> ApplyResult:
        if self.sink is None or not self.topics:
            return ApplyResult()
        consumer = self.consumer()
        records: list[Record] = consumer.poll(max_records=self.options.batch, timeout_s=timeout_s)
        if self.assembler is not None:
            self.assembler.add(records)
            records = self.assembler.ready()
        if not records:
            return ApplyResult()
        result = self.sink.apply(records)
        offsets = self._uncommitted
        for record in records:
            tp = (record.topic, record.partition)
            offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)
        if time.monotonic() - self._committed_at >= self.options.group_commit_s:
            self.commit_group()
        return result

    def commit_group(self) -> None:
        """Commit the applied offsets to the consumer group now."""
        if self._consumer is not None and self._uncommitted:
            self._consumer.commit(self._uncommitted)
        self._uncommitted = {}
        self._committed_at = time.monotonic()

    def step(self, timeout_s: float = 0.0) -> Progress:
        published, snap = self.capture_once()
        result = self.sink_once(timeout_s if not published else 0.0)
        return Progress(
            published, result.applied, result.skipped, result.dead, snap, self._split_delta()
        )

    def _split_delta(self) -> int:
        if self.assembler is None:
            return 0
        delta = self.assembler.split_count - self._split_reported
        self._split_reported = self.assembler.split_count
        return delta

    def run(
        self,
        stop: threading.Event,
        *,
        idle_sleep_s: float = 0.2,
        on_progress: Callable[[Progress], None] | None = None,
        until_idle: bool = False,
        on_apply: Callable[[Progress], None] | None = None,
    ) -> Progress:
        """Loop until `stop` is set (or, with until_idle, until nothing is left to do).

        With both a capture and a sink, the sink runs in a second thread so that source
        reads, log writes and target writes overlap; either side stops after its batch.
        """
        self.start()
        if self.capture is None or self.sink is None:
            return self._run_serial(stop, idle_sleep_s, on_progress, until_idle, on_apply)
        sink_stop = threading.Event()
        applied: list[ApplyResult] = []
        failures: list[BaseException] = []

        def sink_loop() -> None:
            try:
                while not sink_stop.is_set():
                    result = self.sink_once(timeout_s=0.05)
                    applied.append(result)
                    split = self._split_delta()
                    moved = result.applied or result.skipped or result.dead or split
                    if on_apply is not None and moved:
                        on_apply(Progress(0, result.applied, result.skipped, result.dead, 0, split))
            except BaseException as exc:  # handed to the caller's thread below
                failures.append(exc)
                stop.set()

        worker = threading.Thread(target=sink_loop, name="cdc-sink", daemon=True)
        worker.start()
        published = snapshot_rows = 0
        try:
            while not stop.is_set():
                count, snap = self.capture_once()
                published, snapshot_rows = published + count, snapshot_rows + snap
                if on_progress is not None:
                    on_progress(Progress(count, 0, 0, 0, snap))
                if count == 0 and until_idle and self.caught_up():
                    break
                if count == 0:
                    stop.wait(0.05 if until_idle else idle_sleep_s)
        finally:
            sink_stop.set()
            worker.join()
            if not failures:
                self.commit_group()
        if failures:
            raise failures[0]
        total = sum(applied, ApplyResult())
        return Progress(published, total.applied, total.skipped, total.dead, snapshot_rows)

    def _run_serial(
        self,
        stop: threading.Event,
        idle_sleep_s: float,
        on_progress: Callable[[Progress], None] | None,
        until_idle: bool,
        on_apply: Callable[[Progress], None] | None = None,
    ) -> Progress:
        total = Progress()
        while not stop.is_set():
            progress = self.step(timeout_s=idle_sleep_s if self.capture is None else 0.05)
            total = Progress(*(a + b for a, b in zip(_tuple(total), _tuple(progress), strict=True)))
            if on_progress is not None:
                on_progress(progress)
            if on_apply is not None:
                on_apply(
                    Progress(0, progress.applied, progress.skipped, progress.dead, 0,
                             progress.split_transactions)
                )  # fmt: skip
            moved = progress.applied + progress.skipped + progress.dead
            idle = progress.published == 0 and moved == 0
            if idle and until_idle and self.caught_up():
                break
            if idle and self.capture is not None:
                stop.wait(idle_sleep_s)
        self.commit_group()
        return total

    def caught_up(self) -> bool:
        """Tell whether everything captured so far has been published and applied."""
        if self.capture is not None:
            pending = self.capture.pending_changes()
            snapshots = self.capture.state("delivered") is None or any(
                not done for _, done in self.capture.snapshot_progress().values()
            )
            if pending or snapshots:
                return False
        if self.sink is None or not self.topics:
            return True
        applied = self.sink.offsets()
        ends = self.transport.end_offsets(self.topics)
        worker = self.options.worker
        return all(
            applied.get(tp, 0) >= end for tp, end in ends.items() if worker.alone or worker.owns(tp)
        )

    def close(self) -> None:
        if self._consumer is not None:
            self.commit_group()
            self._consumer.close()
            self._consumer = None


def _tuple(p: Progress) -> tuple[int, ...]:
    return (p.published, p.applied, p.skipped, p.dead, p.snapshot_rows, p.split_transactions)


def wait_for(check: Callable[[], bool], timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()
