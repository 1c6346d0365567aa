"""The embedded durable log: Kafka's model (topics, partitions, offsets, groups) in SQLite.

One file holds everything. WAL mode lets one writer append while readers in other
processes poll; `synchronous=FULL` makes a publish durable once it returns. Offsets per
partition only ever grow (retention deletes old records, never renumbers), and a group's
committed offsets live in the same file.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from cdc import fastjson
from cdc.errors import CdcError
from cdc.event import Message
from cdc.sqlite_tx import immediate
from cdc.transport import Record, TopicPartition, partition_for

_SCHEMA = """
CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, partitions INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS partitions (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, "offset" INTEGER NOT NULL,
    key BLOB, value BLOB, headers TEXT, ts_ms INTEGER NOT NULL, size INTEGER NOT NULL,
    PRIMARY KEY (topic, partition, "offset")) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_offsets (
    grp TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,
    next_offset INTEGER NOT NULL, PRIMARY KEY (grp, topic, partition)) WITHOUT ROWID;
"""

RETENTION_EVERY = 64  # publishes between retention passes


def _connect(path: str) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
    except sqlite3.Error as exc:
        raise CdcError(f"cannot open the embedded log {path}: {exc}") from None
    return conn


def _now_ms() -> int:
    return int(time.time() * 1000)


class EmbeddedLog:
    """A durable, multi-process log in one SQLite file (the default transport)."""

    def __init__(
        self,
        path: str | Path,
        *,
        partitions: int = 3,
        retention_bytes: int | None = None,
        retention_ms: int | None = None,
    ) -> None:
        if partitions < 1:
            raise ValueError(f"partitions must be >= 1, got {partitions}")
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.partitions = partitions
        self.retention_bytes = retention_bytes
        self.retention_ms = retention_ms
        self._conn = _connect(self.path)
        self._conn.executescript(_SCHEMA)
        self._topics: dict[str, int] = {}
        self._publishes = 0

    def ensure_topics(self, topics: Iterable[str]) -> None:
        for topic in topics:
            self._partition_count(topic)

    def _partition_count(self, topic: str) -> int:
        count = self._topics.get(topic)
        if count is not None:
            return count
        row = self._conn.execute(
            "SELECT partitions FROM topics WHERE name = ?", (topic,)
        ).fetchone()
        if row is None:
            with self._write():
                self._conn.execute(
                    "INSERT OR IGNORE INTO topics VALUES (?, ?)", (topic, self.partitions)
                )
                self._conn.executemany(
                    "INSERT OR IGNORE INTO partitions VALUES (?, ?, 0)",
                    [(topic, p) for p in range(self.partitions)],
                )
            row = self._conn.execute(
                "SELECT partitions FROM topics WHERE name = ?", (topic,)
            ).fetchone()
        self._topics[topic] = int(row[0])
        return self._topics[topic]

    def _write(self) -> contextlib.AbstractContextManager[None]:
        return immediate(self._conn)

    def publish(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        counts = {m.topic: self._partition_count(m.topic) for m in messages}
        now = _now_ms()
        with self._write():
            next_offsets: dict[TopicPartition, int] = {}
            rows = []
            for message in messages:
                tp = (message.topic, partition_for(message.key, counts[message.topic]))
                if tp not in next_offsets:
                    (offset,) = self._conn.execute(
                        "SELECT next_offset FROM partitions WHERE topic = ? AND partition = ?", tp
                    ).fetchone()
                    next_offsets[tp] = offset
                offset = next_offsets[tp]
                next_offsets[tp] = offset + 1
                headers = _headers_text(message.headers)
                size = len(message.key or b"") + len(message.value or b"") + len(headers)
                rows.append((*tp, offset, message.key, message.value, headers, now, size))
            self._conn.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self._conn.executemany(
                "UPDATE partitions SET next_offset = ? WHERE topic = ? AND partition = ?",
                [(offset, *tp) for tp, offset in next_offsets.items()],
            )
        self._publishes += 1
        if self._publishes % RETENTION_EVERY == 0:
            self.apply_retention()

    def apply_retention(self) -> int:
        """Delete records older than retention_ms or beyond retention_bytes per partition."""
        deleted = 0
        with self._write():
            if self.retention_ms is not None:
                cur = self._conn.execute(
                    "DELETE FROM records WHERE ts_ms < ?", (_now_ms() - self.retention_ms,)
                )
                deleted += cur.rowcount
            if self.retention_bytes is not None:
                for tp in self._conn.execute("SELECT topic, partition FROM partitions").fetchall():
                    deleted += self._trim_partition(tp, self.retention_bytes)
        return deleted

    def _trim_partition(self, tp: tuple[str, int], limit: int) -> int:
        (cutoff,) = self._conn.execute(
            """SELECT MIN("offset") FROM (
                 SELECT "offset", SUM(size) OVER (ORDER BY "offset" DESC) AS tail
                 FROM records WHERE topic = ? AND partition = ?) WHERE tail <= ?""",
            (*tp, limit),
        ).fetchone()
        if cutoff is None:  # even the newest record is over the limit: keep just that one
            (cutoff,) = self._conn.execute(
                'SELECT MAX("offset") FROM records WHERE topic = ? AND partition = ?', tp
            ).fetchone()
        if cutoff is None:
            return 0
        cur = self._conn.execute(
            'DELETE FROM records WHERE topic = ? AND partition = ? AND "offset" < ?', (*tp, cutoff)
        )
        return cur.rowcount

    def consumer(
        self, group: str, topics: Sequence[str], partitions: Sequence[TopicPartition] | None = None
    ) -> EmbeddedConsumer:
        return EmbeddedConsumer(self.path, group, topics, partitions)

    def end_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, int]:
        return _offsets(self._conn, "SELECT topic, partition, next_offset FROM partitions", topics)

    def committed(self, group: str, topics: Sequence[str]) -> dict[TopicPartition, int]:
        return _offsets(
            self._conn,
            "SELECT topic, partition, next_offset FROM group_offsets WHERE grp = ?",
            topics,
            (group,),
        )

    def close(self) -> None:
        self._conn.close()


def _headers_text(headers: tuple[tuple[str, bytes], ...]) -> str:
    if not headers:
        return "[]"
    return fastjson.dumps([[k, v.decode("latin-1")] for k, v in headers]).decode()


def _headers_from_text(text: str) -> tuple[tuple[str, bytes], ...]:
    if text == "[]":
        return ()
    return tuple((k, v.encode("latin-1")) for k, v in fastjson.loads(text))


def _offsets(
    conn: sqlite3.Connection, sql: str, topics: Sequence[str], args: tuple[str, ...] = ()
) -> dict[TopicPartition, int]:
    wanted = set(topics)
    return {(t, p): o for t, p, o in conn.execute(sql, args) if t in wanted}


class EmbeddedConsumer:
    """A group member reading every partition of its topics, or the given ones only.

    Several processes may read one log file, each its own partitions (sink workers).
    """

    def __init__(
        self, path: str, group: str, topics: Sequence[str],
        partitions: Sequence[TopicPartition] | None = None,
    ) -> None:  # fmt: skip
        self.group = group
        self.topics = tuple(topics)
        self._only = None if partitions is None else set(partitions)
        self._conn = _connect(path)
        self._positions: dict[TopicPartition, int] = {}
        self._refresh()
        committed = _committed_offsets(self._conn, group, self.topics)
        self._positions.update({tp: o for tp, o in committed.items() if self._reads(tp)})

    def _reads(self, tp: TopicPartition) -> bool:
        return self._only is None or tp in self._only

    def _refresh(self) -> None:
        for tp in _offsets(self._conn, "SELECT topic, partition, 0 FROM partitions", self.topics):
            if self._reads(tp):
                self._positions.setdefault(tp, 0)

    def poll(self, max_records: int = 500, timeout_s: float = 0.5) -> list[Record]:
        deadline = time.monotonic() + timeout_s
        while True:
            records = self._fetch(max_records)
            if records or time.monotonic() >= deadline:
                return records
            time.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
            self._refresh()

    def _fetch(self, max_records: int) -> list[Record]:
        records: list[Record] = []
        share = max(1, max_records // max(1, len(self._positions)))
        for (topic, partition), start in sorted(self._positions.items()):
            rows = self._conn.execute(
                'SELECT "offset", key, value, headers, ts_ms FROM records '
                'WHERE topic = ? AND partition = ? AND "offset" >= ? ORDER BY "offset" LIMIT ?',
                (topic, partition, start, share),
            ).fetchall()
            for offset, key, value, headers, ts_ms in rows:
                pairs = _headers_from_text(headers)
                message = Message(topic, key, value, pairs)
                records.append(Record(message, partition, offset, ts_ms))
            if rows:
                self._positions[(topic, partition)] = rows[-1][0] + 1
        return records

    def seek(self, offsets: Mapping[TopicPartition, int]) -> None:
        self._positions.update(offsets)

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        if not offsets:
            return
        with immediate(self._conn):
            self._conn.executemany(
                "INSERT INTO group_offsets VALUES (?, ?, ?, ?) ON CONFLICT (grp, topic, partition)"
                " DO UPDATE SET next_offset = excluded.next_offset",
                [(self.group, t, p, o) for (t, p), o in offsets.items()],
            )

    def close(self) -> None:
        self._conn.close()


def _committed_offsets(
    conn: sqlite3.Connection, group: str, topics: Sequence[str]
) -> dict[TopicPartition, int]:
    return _offsets(
        conn, "SELECT topic, partition, next_offset FROM group_offsets WHERE grp = ?", topics,
        (group,),
    )  # fmt: skip
