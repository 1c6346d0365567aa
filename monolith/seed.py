"""Load deterministic seed data into a migrated, empty ShopCo database, in bulk.

Seeding refuses a database that already holds customers (it never mixes two data sets),
so run it on a freshly migrated database. Rows carry explicit ids; on PostgreSQL the id
sequences are moved past them afterwards so the API's own inserts keep working.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Engine, func, inspect, select, text

from monolith.errors import MonolithError
from monolith.models import Base, Customer
from monolith.seed_data import generate

CHUNK = 5000
DEFAULT_SEED = 42


class SeedError(MonolithError):
    """The database cannot be seeded (not migrated, or already seeded)."""


@dataclass(frozen=True)
class SeedReport:
    """What seeding wrote: rows per table and the time it took."""

    scale: int
    seed: int
    rows: dict[str, int]
    seconds: float

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def check_seedable(engine: Engine) -> None:
    """Raise SeedError unless the database is migrated and holds no customers yet."""
    missing = set(Base.metadata.tables) - set(inspect(engine).get_table_names())
    if missing:
        raise SeedError(
            f"the database has no ShopCo tables ({', '.join(sorted(missing)[:3])}, ...); "
            "run `strangler monolith migrate` first"
        )
    with engine.connect() as conn:
        customers = conn.scalar(select(func.count()).select_from(Customer.__table__))
    if customers:
        raise SeedError(
            f"the database is already seeded ({customers} customers); seed only a freshly "
            "migrated database (drop it, or point DATABASE_URL at a new one)"
        )


def seed(engine: Engine, scale: int = 1, seed: int = DEFAULT_SEED) -> SeedReport:
    """Insert the data set for (scale, seed) in one transaction and return what was written."""
    if scale < 1:
        raise ValueError(f"scale must be at least 1, got {scale}")
    started = time.perf_counter()
    check_seedable(engine)
    rows = generate(scale, seed)
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            batch = rows.get(table.name, [])
            for start in range(0, len(batch), CHUNK):
                conn.execute(table.insert(), batch[start : start + CHUNK])
        if engine.dialect.name == "postgresql":
            for table in Base.metadata.sorted_tables:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                    )
                )
    counts = {table.name: len(rows.get(table.name, [])) for table in Base.metadata.sorted_tables}
    return SeedReport(scale, seed, counts, round(time.perf_counter() - started, 3))
