"""Positions: where an event sits in the source's change log, unique per event.

A log position alone is not unique (one SQLite change row can become a delete, a
tombstone and a create when a primary key changes; many PostgreSQL changes share a
commit LSN), so a position is the log position plus the index of the event within it.
Positions order totally, which lets a sink skip what it has already applied.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdc.frozen import fast_init

HEADER = "strangler.position"


@fast_init
@dataclass(frozen=True, order=True)
class Position:
    """A unique, totally ordered place in the source's change stream."""

    log: int
    index: int = 0

    def __post_init__(self) -> None:
        if self.log < 0 or self.index < 0:
            raise ValueError(f"position parts must be >= 0, got {self.log}:{self.index}")

    def __str__(self) -> str:
        return f"{self.log}:{self.index}"

    def encode(self) -> bytes:
        """Return the header value carried next to the event on the transport."""
        return str(self).encode()

    @classmethod
    def parse(cls, text: str | bytes) -> Position:
        """Read a position written by `str()` or `encode()`."""
        raw = text.decode() if isinstance(text, bytes) else text
        log, sep, index = raw.partition(":")
        try:
            return cls(int(log), int(index) if sep else 0)
        except ValueError:
            raise ValueError(f"not a position: {raw!r} (expected LOG:INDEX)") from None

    def next(self) -> Position:
        """Return the position of the following event at the same log position."""
        return Position(self.log, self.index + 1)
