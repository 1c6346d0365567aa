"""The CDC benchmarks' write mix: every statement changes exactly one live row.

60 % inserts, 30 % updates and 10 % deletes, where updates and deletes pick among the
rows still present (tracked here), so N statements are N captured changes and a rate of
"changes/s" counts only changes that happened. `write` checks each statement's row
count, so a workload that touched no row cannot pass unnoticed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

SQLITE = {
    "insert": "INSERT INTO items VALUES (?, ?, ?, ?, datetime('now'))",
    "update": "UPDATE items SET qty = qty + 1 WHERE id = ?",
    "delete": "DELETE FROM items WHERE id = ?",
}
POSTGRES = {
    "insert": "INSERT INTO items (id, name, qty, price) VALUES (%s, %s, %s, %s)",
    "update": "UPDATE items SET qty = qty + 1 WHERE id = %s",
    "delete": "DELETE FROM items WHERE id = %s",
}
# Counts the target must match the source on once every change is applied.
TALLY = "SELECT COUNT(*), COALESCE(SUM(qty), 0), COALESCE(SUM(id), 0) FROM items"


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: Any = ..., /) -> Any: ...


@dataclass
class ChangeMix:
    """A seeded stream of one-row changes that remembers which ids are live."""

    seed: int = 1
    next_id: int = 1
    live: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def changes(self, count: int) -> Iterator[tuple[str, tuple[object, ...]]]:
        """Yield `count` (kind, parameters) pairs; kind is insert, update or delete."""
        rng = self.rng
        for _ in range(count):
            pick = rng.random()
            if pick < 0.6 or len(self.live) < 10:
                key, self.next_id = self.next_id, self.next_id + 1
                self.live.append(key)
                yield "insert", (key, f"item {key}", rng.randrange(100), rng.randrange(10**5) / 100)
            elif pick < 0.9:
                yield "update", (self.live[rng.randrange(len(self.live))],)
            else:
                index = rng.randrange(len(self.live))
                self.live[index], self.live[-1] = self.live[-1], self.live[index]
                yield "delete", (self.live.pop(),)


def write(cursor: Cursor, mix: ChangeMix, count: int, sql: Mapping[str, str]) -> None:
    """Execute `count` changes of `mix`; fail if any of them did not change exactly one row."""
    for kind, params in mix.changes(count):
        cursor.execute(sql[kind], params)
        if cursor.rowcount != 1:
            raise RuntimeError(f"{kind} {params} changed {cursor.rowcount} rows, not 1")
