"""What a pipeline needs from a capture and from the batches it reads (typed protocols).

Both captures (SQLite triggers in capture_sqlite.py, PostgreSQL pgoutput in
capture_pg.py) satisfy `Capture`; their batches satisfy `CaptureBatch`. A capture's
`ack` takes only the batches its own `next_batch` returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from cdc.event import ChangeEvent


class SnapshotPart(Protocol):
    """The snapshot chunk inside a batch: its `op: "r"` events."""

    @property
    def events(self) -> Sequence[ChangeEvent]: ...


class CaptureBatch(Protocol):
    """One read of a capture: the events to publish, in order, then to acknowledge."""

    @property
    def events(self) -> Sequence[ChangeEvent]: ...

    @property
    def chunk(self) -> SnapshotPart | None: ...


class Capture(Protocol):
    """A source of change events (SQLite triggers or PostgreSQL pgoutput)."""

    prefix: str
    transactions: bool  # tag events with their source transaction (SQLite: epochs)

    def topics(self) -> list[str]: ...
    def has_position(self) -> bool: ...
    def request_snapshot(self, tables: Sequence[str] | None = None) -> list[str]: ...
    def next_batch(self, max_changes: int = ..., chunk_rows: int = ...) -> CaptureBatch: ...
    def ack(self, batch: CaptureBatch) -> None: ...
    def pending_changes(self) -> dict[str, int]: ...
    def state(self, name: str) -> str | None: ...
    def snapshot_progress(self) -> dict[str, tuple[int, bool]]: ...
    def close(self) -> None: ...
