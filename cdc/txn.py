"""Whole source transactions: Debezium's transaction metadata, and applying them atomically.

Capture side (`with_transactions`): with `provide.transaction.metadata` on, Debezium adds
a `transaction` block `{"id", "total_order", "data_collection_order"}` to every data event
of a transaction and writes a BEGIN and an END record to `<prefix>.transaction`; END
carries the transaction's event count, in total and per data collection (`schema.table`).
Snapshot rows (`op: "r"`) and tombstones belong to no transaction.

Sink side (`Assembler`): a transaction's events are spread over partitions by key, so the
sink buffers them until END's event_count has arrived and then hands over the whole
transaction for one target transaction. Transactions are released in commit order (the
order of the transaction topic, which is kept in one partition), each partition strictly
in offset order, and everything behind the first incomplete transaction waits: so the
offsets the sink stores stay a prefix per partition and restarts stay exactly-once. A
transaction bigger than the buffer bound is released in pieces (warning + counter).
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cdc import fastjson
from cdc.event import ChangeEvent, Message, Transaction, to_messages, unwrap
from cdc.position import HEADER as POSITION_HEADER
from cdc.position import Position
from cdc.transport import Record, TopicPartition

log = logging.getLogger(__name__)

TOPIC_SUFFIX = "transaction"
DEFAULT_BUFFER = 100_000  # events held while waiting for a transaction to complete


def topic_for(prefix: str) -> str:
    """Return Debezium's transaction topic `<prefix>.transaction`."""
    return f"{prefix}.{TOPIC_SUFFIX}"


def is_transaction_topic(topic: str) -> bool:
    """Tell `<prefix>.transaction` from data topics `<prefix>.<schema>.<table>`."""
    return topic.count(".") == 1 and topic.endswith("." + TOPIC_SUFFIX)


def transaction_id(event: ChangeEvent) -> str | None:
    """The id of the source transaction of a streamed event (None: snapshot rows)."""
    source = event.source
    if source.tx_id is None or source.snapshot != "false":
        return None
    if source.connector == "postgresql":  # Debezium's PostgreSQL form: "txId:LSN"
        return f"{source.tx_id}:{source.lsn}"
    return str(source.tx_id)


def with_transactions(
    events: Sequence[ChangeEvent], *, prefix: str, tombstones: bool = True, schemas: bool = False
) -> list[Message]:
    """Serialize events with transaction blocks and BEGIN/END records around each transaction.

    The capture hands over whole transactions, consecutively, in commit order.
    """
    out: list[Message] = []
    topic = topic_for(prefix)
    i = 0
    while i < len(events):
        tx = transaction_id(events[i])
        if tx is None:
            out.extend(to_messages(events[i], tombstones=tombstones, schemas=schemas))
            i += 1
            continue
        j = i
        while j < len(events) and transaction_id(events[j]) == tx:
            j += 1
        ts_ms = events[i].source.ts_ms
        out.append(_boundary(topic, "BEGIN", tx, ts_ms, None, events[i].position))
        per_collection: dict[str, int] = {}
        for order, event in enumerate(events[i:j], start=1):
            collection = f"{event.source.schema}.{event.source.table}"
            per_collection[collection] = per_collection.get(collection, 0) + 1
            block = Transaction(tx, order, per_collection[collection])
            out.extend(
                to_messages(replace(event, transaction=block), tombstones=tombstones,
                            schemas=schemas)
            )  # fmt: skip
        last = max((e.position for e in events[i:j] if e.position is not None), default=None)
        out.append(_boundary(topic, "END", tx, ts_ms, per_collection, last))
        i = j
    return out


def _boundary(
    topic: str, status: str, tx: str, ts_ms: int, counts: dict[str, int] | None,
    position: Position | None,
) -> Message:  # fmt: skip
    value = {
        "status": status,
        "id": tx,
        "ts_ms": ts_ms,
        "event_count": None if counts is None else sum(counts.values()),
        "data_collections": None
        if counts is None
        else [{"data_collection": c, "event_count": n} for c, n in counts.items()],
    }
    # Keyless, so the transport keeps every BEGIN/END in partition 0, in commit order
    # (Debezium keys them by id; the sink needs their order, see Assembler). The position
    # header (END: the transaction's last event) lets a restarted sink tell the events
    # of transactions it already released from those of transactions to come.
    headers = () if position is None else ((POSITION_HEADER, position.encode()),)
    return Message(topic, None, fastjson.dumps(value), headers)


def _position(record: Record) -> Position | None:
    raw = record.message.header(POSITION_HEADER)
    try:
        return Position.parse(raw) if raw else None
    except ValueError:
        return None


def _document(raw: bytes | None) -> Any:
    if raw is None:
        return None
    try:
        return unwrap(fastjson.loads(raw))
    except (ValueError, UnicodeDecodeError):
        return None


def _data_txn(record: Record) -> tuple[str, int] | None:
    """(transaction id, total_order) of a data record; None if it is in no transaction."""
    doc = _document(record.message.value)
    block = doc.get("transaction") if isinstance(doc, dict) else None
    if not isinstance(block, dict) or "id" not in block:
        return None
    try:
        return str(block["id"]), int(block.get("total_order") or 0)
    except (TypeError, ValueError):
        return None


@dataclass
class _Txn:
    id: str
    expected: int | None = None  # END's event_count
    split: bool = False  # released in pieces (too big, or begun before a restart)
    boundaries: list[Record] = field(default_factory=list)


class Assembler:
    """Hold records until whole transactions can be applied; see the module docstring."""

    def __init__(self, tx_topic: str, max_buffered: int = DEFAULT_BUFFER) -> None:
        self.tx_topic = tx_topic
        self.max_buffered = max_buffered
        self.split_count = 0  # transactions applied in pieces
        self._queues: dict[TopicPartition, deque[tuple[Record, str | None, Position | None]]] = {}
        # The last event of the last transaction released (stored by the sink with the
        # transaction topic's offset): an event at or below it belongs to a transaction
        # already released, even one whose BEGIN/END were applied before a restart.
        self.released: Position | None = None
        self._order: deque[_Txn] = deque()  # by BEGIN, i.e. commit order
        self._known: dict[str, _Txn] = {}
        self._free: OrderedDict[str, None] = OrderedDict()  # released transactions
        # Distinct total_orders received per transaction not released yet, counted as
        # records arrive (before or after their BEGIN).
        self._orders: dict[str, set[int]] = {}
        self._buffered = 0

    @property
    def buffered(self) -> int:
        return self._buffered

    def add(self, records: Iterable[Record]) -> None:
        for record in records:
            if record.topic == self.tx_topic:
                self._boundary(record)
                continue
            parsed = _data_txn(record)
            tx, position = None, None
            if parsed is not None:
                tx, order = parsed
                position = _position(record)
                if tx not in self._free:
                    self._orders.setdefault(tx, set()).add(order)
            queue = self._queues.setdefault((record.topic, record.partition), deque())
            queue.append((record, tx, position))
            self._buffered += 1

    def _boundary(self, record: Record) -> None:
        doc = _document(record.message.value)
        if not isinstance(doc, dict) or doc.get("status") not in ("BEGIN", "END"):
            self._emit_boundary_alone(record)
            return
        tx = str(doc.get("id"))
        txn = self._known.get(tx)
        if doc["status"] == "BEGIN":
            if txn is not None or tx in self._free:  # republished after a failed publish
                self._emit_boundary_alone(record)
                return
            txn = _Txn(tx)
            self._known[tx] = txn
            self._order.append(txn)
        elif txn is None:
            # END without BEGIN: the BEGIN was applied before a restart, so this
            # transaction was being applied in pieces; let its records through.
            if tx in self._free:  # republished after the transaction was applied
                self._emit_boundary_alone(record)
                return
            txn = _Txn(tx, split=True)
            self._known[tx] = txn
            self._order.append(txn)
        txn.boundaries.append(record)
        if doc["status"] == "END":
            txn.expected = int(doc.get("event_count") or 0)

    def _emit_boundary_alone(self, record: Record) -> None:
        # A stray or duplicate boundary record: apply it (the sink just moves its offset).
        self._order.append(_Txn(f"\0stray{record.offset}", expected=0, boundaries=[record]))

    def ready(self) -> list[Record]:
        """Return the records that can be applied now, in one target transaction."""
        out: list[Record] = []
        while True:
            self._drain(out)
            if not self._order:
                break
            head = self._order[0]
            received = len(self._orders.get(head.id, ()))
            complete = head.expected is not None and received >= head.expected
            if not complete and not head.split and self._buffered >= self.max_buffered:
                head.split = True
                self.split_count += 1
                log.warning(
                    "transaction %s is bigger than the sink's buffer (%d events): applying "
                    "it in pieces, so the target may show it half-applied meanwhile",
                    head.id, self.max_buffered,
                )  # fmt: skip
            if not (complete or head.split):
                break
            self._release(head.id)
            self._emit(head, out)
            if head.expected is None:  # split, its END not here yet: it stays the head
                self._drain(out)
                break
            self._order.popleft()
            self._known.pop(head.id, None)
        return out

    def _emit(self, txn: _Txn, out: list[Record]) -> None:
        for record in txn.boundaries:
            position = _position(record)
            if position is not None and (self.released is None or position > self.released):
                self.released = position
        out.extend(txn.boundaries)
        txn.boundaries = []

    def _release(self, tx: str) -> None:
        self._orders.pop(tx, None)
        self._free[tx] = None
        self._free.move_to_end(tx)
        while len(self._free) > 100_000:
            self._free.popitem(last=False)

    def _drain(self, out: list[Record]) -> None:
        for queue in self._queues.values():
            while queue:
                record, tx, position = queue[0]
                if tx is not None and tx not in self._free:
                    old = position is not None and self.released is not None
                    if not (old and position <= self.released):  # type: ignore[operator]
                        break
                    if tx not in self._known:  # released before a restart: no BEGIN comes
                        self._orders.pop(tx, None)
                queue.popleft()
                self._buffered -= 1
                out.append(record)
