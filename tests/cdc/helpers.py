"""Small builders shared by the CDC tests: source tables, events, records, and the bank that
the whole-transaction tests move money around in."""

from __future__ import annotations

import hashlib
import random
import sqlite3
import threading
from collections.abc import Iterable

import sqlalchemy as sa

from cdc.event import ChangeEvent, Source, to_messages
from cdc.pipeline import Pipeline
from cdc.position import Position
from cdc.transport import Record

# The bank: every transfer moves money between two accounts, adds a ledger row and counts
# itself, so a reader that sees only whole transactions always finds the money conserved
# and as many ledger rows as the counter says (the same statements run on SQLite and
# PostgreSQL; in SQLite an INSERT without a ledger id numbers the row itself).
ACCOUNTS, START = 12, 100
BANK_TABLES = ("accounts", "ledger", "counter")
BANK_DDL = (
    "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)",
    "CREATE TABLE ledger (id INTEGER PRIMARY KEY, src INTEGER, dst INTEGER, amount INTEGER)",
    "CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)",
)
BANK_TOTALS = (
    "SELECT (SELECT SUM(balance) FROM accounts), (SELECT COUNT(*) FROM ledger),"
    " (SELECT n FROM counter WHERE id = 1)"
)  # one statement: one snapshot


def source(table: str = "products", ts_ms: int = 1_700_000_000_000) -> Source:
    return Source(
        name="shop", db="shop", schema="main", table=table, ts_ms=ts_ms, connector="sqlite"
    )


def event(op: str, n: int, key: int, table: str = "products", **row) -> ChangeEvent:
    image = {"id": key, **row}
    return ChangeEvent(
        op=op,
        source=source(table),
        ts_ms=1,
        key={"id": key},
        before=image if op in ("u", "d") else None,
        after=image if op != "d" else None,
        position=Position(n, 0),
    )


def records(events: Iterable[ChangeEvent], start: int = 0, partition: int = 0) -> list[Record]:
    out: list[Record] = []
    for e in events:
        for message in to_messages(e):
            out.append(Record(message, partition, start + len(out)))
    return out


def checksum(url_or_engine, table: str, key: str = "id") -> tuple[int, str]:
    """Return (row count, sha256 of the rows in key order) for comparing databases."""
    engine = sa.create_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f'SELECT * FROM "{table}" ORDER BY {key}')).all()
    digest = hashlib.sha256(repr([tuple(str(v) for v in r) for r in rows]).encode()).hexdigest()
    return len(rows), digest


def transfer(
    conn: sqlite3.Connection | sa.Connection,
    rng: random.Random,
    *,
    rollback: bool = False,
    ledger_id: int | None = None,
) -> None:
    """One transfer as one source transaction over three tables (its events land on several
    partitions). `conn` is a sqlite3 connection in autocommit mode (isolation_level=None) or
    a SQLAlchemy connection; PostgreSQL needs a `ledger_id`."""
    a, b = rng.sample(range(ACCOUNTS), 2)
    amount = rng.randrange(1, 20)
    ledger = (
        f"INSERT INTO ledger (src, dst, amount) VALUES ({a}, {b}, {amount})"
        if ledger_id is None
        else f"INSERT INTO ledger VALUES ({ledger_id}, {a}, {b}, {amount})"
    )
    statements = (
        f"UPDATE accounts SET balance = balance - {amount} WHERE id = {a}",
        f"UPDATE accounts SET balance = balance + {amount} WHERE id = {b}",
        ledger,
        "UPDATE counter SET n = n + 1 WHERE id = 1",
    )
    if isinstance(conn, sqlite3.Connection):
        conn.execute("BEGIN")
        for statement in statements:
            conn.execute(statement)
        conn.execute("ROLLBACK" if rollback else "COMMIT")
        return
    tx = conn.begin()
    for statement in statements:
        conn.execute(sa.text(statement))
    (tx.rollback if rollback else tx.commit)()


def _sqlite_path(db: str | sa.Engine) -> str | None:
    """The file of a sqlite:/// URL (read with sqlite3 itself), else None (SQLAlchemy)."""
    if isinstance(db, str) and db.startswith("sqlite:///"):
        return db.removeprefix("sqlite:///")
    return None


def bank_totals(db: str | sa.Engine) -> tuple[int, int, int]:
    """(money in all accounts, ledger rows, counter) of a bank, read in one snapshot."""
    path = _sqlite_path(db)
    if path is not None:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        try:
            total, ledger, n = conn.execute(BANK_TOTALS).fetchone()
        finally:
            conn.close()
    else:
        engine = sa.create_engine(db) if isinstance(db, str) else db
        with engine.connect() as sa_conn:
            total, ledger, n = sa_conn.execute(sa.text(BANK_TOTALS)).one()
    return total, ledger, n


def _whole(totals: tuple[int, int, int]) -> bool:
    total, ledger, n = totals
    return bool(total == ACCOUNTS * START and ledger == n)


def whole(db: str | sa.Engine) -> bool:
    """True when the bank shows only whole transfers: money is conserved and every ledger
    row has its counter increment."""
    return _whole(bank_totals(db))


def write_transfers(db: str | sa.Engine, count: int, *, seed: int, rollback_every: int) -> None:
    """Run `count` transfers on the source, each its own transaction (every
    `rollback_every`-th rolled back), from one connection (SQLite) or a connection each."""
    rng = random.Random(seed)
    path = _sqlite_path(db)
    if path is not None:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        try:
            for i in range(count):
                transfer(conn, rng, rollback=i % rollback_every == 0)
        finally:
            conn.close()
        return
    engine = sa.create_engine(db) if isinstance(db, str) else db
    for i in range(count):
        with engine.connect() as sa_conn:
            transfer(sa_conn, rng, rollback=i % rollback_every == 0, ledger_id=i)


def run_while_transferring(
    flow: Pipeline,
    src: str | sa.Engine,
    dst: str | sa.Engine,
    *,
    count: int,
    seed: int,
    rollback_every: int,
    idle_sleep_s: float = 0.01,
    drain_sleep_s: float = 0.01,
) -> tuple[int, list[tuple[int, int, int]]]:
    """Run `flow` in a thread while a writer thread makes `count` transfers on the source
    (see write_transfers) and a reader thread reads the target's bank totals until the
    pipeline has drained after the writer. Returns the number of reads and the totals of
    those that saw half a transaction (a correct pipeline: none)."""
    stop, done = threading.Event(), threading.Event()
    halves: list[tuple[int, int, int]] = []
    reads = 0

    def reader() -> None:
        nonlocal reads
        while not done.is_set():
            totals = bank_totals(dst)
            if not _whole(totals):
                halves.append(totals)
            reads += 1

    def writer() -> None:
        write_transfers(src, count, seed=seed, rollback_every=rollback_every)

    threads = [threading.Thread(target=reader), threading.Thread(target=writer)]
    runner = threading.Thread(target=flow.run, args=(stop,), kwargs={"idle_sleep_s": idle_sleep_s})
    runner.start()
    for t in threads:
        t.start()
    threads[1].join()
    stop.set()
    runner.join()
    flow.run(threading.Event(), until_idle=True, idle_sleep_s=drain_sleep_s)
    done.set()
    threads[0].join()
    return reads, halves


def run_sql(engine: sa.Engine, *statements: str) -> None:
    """Run statements in one transaction."""
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))
