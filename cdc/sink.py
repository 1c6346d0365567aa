"""The sink: applies change events to any SQLAlchemy database, with exactly-once effect.

Each `apply(records)` is one target transaction that writes the rows and, for every
transport partition it touched, the next offset and highest source position applied.
Redelivered records (offset below the stored one) and re-published events (position
not above the stored one) are skipped, so at-least-once delivery has exactly-once effect.
Within a batch only the last change per key is written (the outcome is the same) and
rows are upserted in bulk. A poison event goes to `_cdc_dead_letters` with its reason and
the pipeline goes on; if the database rejects the bulk write, the batch is redone event
by event under savepoints to find and dead-letter the culprit. Writes carry the origin
marker when the target is itself captured, so reverse sync never loops.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from cdc import sink_state as state
from cdc.errors import CdcError, PoisonEvent
from cdc.event import ChangeEvent, Message, from_message
from cdc.frozen import fast_init
from cdc.mapping import SinkMapping, TableMapping
from cdc.position import HEADER as POSITION_HEADER
from cdc.position import Position
from cdc.sink_tables import Target, Targets
from cdc.transport import Record
from cdc.txn import is_transaction_topic

_DB_ERRORS = (sa.exc.DBAPIError, sa.exc.StatementError)


@dataclass(frozen=True)
class ApplyResult:
    applied: int = 0
    skipped: int = 0
    dead: int = 0

    def __add__(self, other: ApplyResult) -> ApplyResult:
        return ApplyResult(
            self.applied + other.applied, self.skipped + other.skipped, self.dead + other.dead
        )


@fast_init
@dataclass(frozen=True)
class _Action:
    target: Target
    kind: str  # "upsert" | "delete" | "truncate"
    row: dict[str, Any]
    source_table: str
    source_ms: int


def make_engine(url: str) -> Engine:
    try:
        return sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise CdcError(f"not a usable database URL {url!r}: {exc}") from None


class Sink:
    """Apply events from a transport to one target database."""

    def __init__(
        self,
        target: str | Engine,
        *,
        mapping: SinkMapping | None = None,
        pipeline: str = "default",
        source: str | Engine | None = None,
    ) -> None:
        self.engine = make_engine(target) if isinstance(target, str) else target
        source_engine = make_engine(source) if isinstance(source, str) else source
        self.mapping = mapping or SinkMapping()
        self.pipeline = pipeline
        self.targets = Targets(self.engine, source_engine)
        try:
            try:
                state.META.create_all(self.engine, checkfirst=True)
            except (sa.exc.IntegrityError, sa.exc.ProgrammingError, sa.exc.OperationalError) as e:
                # Another sink (a worker, `cdc status`) created them at the same moment: they
                # exist now (SQLite says so with an OperationalError). Anything else: raise.
                if isinstance(e, sa.exc.OperationalError) and "already exists" not in str(e):
                    raise
                state.META.create_all(self.engine, checkfirst=True)
            self._origin = sa.inspect(self.engine).has_table("_cdc_origin")
        except sa.exc.OperationalError as exc:
            raise CdcError(f"cannot open the sink database: {exc.orig}") from None

    def offsets(self) -> dict[tuple[str, int], int]:
        """Return the next offset to read per partition, as stored in the target database."""
        with self.engine.connect() as conn:
            return {tp: s.next_offset for tp, s in state.load_applied(conn, self.pipeline).items()}

    def positions(self) -> dict[tuple[str, int], Position | None]:
        """Return the highest source position applied per partition, as stored."""
        with self.engine.connect() as conn:
            return {tp: s.position for tp, s in state.load_applied(conn, self.pipeline).items()}

    def apply(self, records: Sequence[Record]) -> ApplyResult:
        """Apply records in one transaction; return what was applied, skipped, dead-lettered."""
        if not records:
            return ApplyResult()
        with self.engine.begin() as conn:
            applied = state.load_applied(conn, self.pipeline)
            try:
                result, changed = self._bulk(conn, records, applied)
            except _DB_ERRORS:
                # Once more in bulk: another sink (worker) may have created a target table
                # or a stats row at the same moment, which exists now. Then row by row.
                self.targets.forget()
                try:
                    result, changed = self._bulk(conn, records, applied)
                except _DB_ERRORS:
                    self.targets.forget()
                    result, changed = self._run(conn, records, applied, careful=True)
            state.save_applied(conn, self.pipeline, changed)
        return result

    def _bulk(
        self, conn: Connection, records: Sequence[Record],
        applied: dict[tuple[str, int], state.PartitionState],
    ) -> tuple[ApplyResult, dict[tuple[str, int], state.PartitionState]]:  # fmt: skip
        with conn.begin_nested():
            return self._run(conn, records, applied, careful=False)

    def _run(
        self, conn: Connection, records: Sequence[Record],
        applied: dict[tuple[str, int], state.PartitionState], *, careful: bool,
    ) -> tuple[ApplyResult, dict[tuple[str, int], state.PartitionState]]:  # fmt: skip
        self._mark_origin(conn)
        changed: dict[tuple[str, int], state.PartitionState] = {}
        pending: dict[str, dict[tuple[Any, ...], _Action]] = {}
        stats: dict[str, tuple[str, int, int]] = {}
        result = ApplyResult()
        skipped = applied_n = 0
        for record in records:
            tp = (record.topic, record.partition)
            current = changed.get(tp)
            if current is None:
                known = applied.get(tp)
                current = (
                    state.PartitionState(known.next_offset, known.position)
                    if known
                    else (state.PartitionState(0, None))
                )
                changed[tp] = current
            if record.offset < current.next_offset:
                skipped += 1
                continue
            current.next_offset = record.offset + 1
            if is_transaction_topic(record.topic):  # BEGIN/END: offset and position only
                raw = record.message.header(POSITION_HEADER)
                marker = Position.parse(raw) if raw else None
                if marker and (current.position is None or marker > current.position):
                    current.position = marker
                continue
            try:
                event = from_message(record.message)
                if event is None:
                    continue
                if current.position and event.position and event.position <= current.position:
                    skipped += 1
                    continue
                if event.position:
                    current.position = event.position
                action = self._action(conn, event)
            except PoisonEvent as exc:
                state.add_dead(
                    conn, self.pipeline, record.message, *tp[1:], record.offset, str(exc)
                )
                result += ApplyResult(dead=1)
                continue
            if careful:
                try:
                    with conn.begin_nested():
                        self._execute(conn, [action])
                except _DB_ERRORS as exc:
                    reason = f"target rejected the change: {_db_reason(exc)}"
                    state.add_dead(
                        conn, self.pipeline, record.message, tp[1], record.offset, reason
                    )
                    result += ApplyResult(dead=1)
                    continue
            else:
                self._stage(conn, pending, action)
            applied_n += 1
            name = action.target.table.name
            count = stats.get(name, (action.source_table, 0, 0))[1]
            stats[name] = (action.source_table, count + 1, action.source_ms)
        for table_actions in pending.values():
            self._execute(conn, list(table_actions.values()))
        result += ApplyResult(applied=applied_n, skipped=skipped)
        state.save_stats(conn, self.pipeline, stats, state.now_ms())
        self._unmark_origin(conn)
        return result, changed

    def retry(self, ids: list[int] | None = None) -> tuple[int, int]:
        """Re-apply dead letters; return (now applied, still failing)."""
        ok = failed = 0
        with self.engine.begin() as conn:
            letters = state.list_dead(conn, self.pipeline, ids)
        for letter in letters:
            try:
                with self.engine.begin() as conn:
                    self._mark_origin(conn)
                    event = from_message(letter.message)
                    if event is not None:
                        self._execute(conn, [self._action(conn, event)])
                    conn.execute(sa.delete(state.DEAD).where(state.DEAD.c.id == letter.id))
                    self._unmark_origin(conn)
                ok += 1
            except (PoisonEvent, *_DB_ERRORS) as exc:
                self.targets.forget()
                reason = str(exc) if isinstance(exc, PoisonEvent) else _db_reason(exc)
                with self.engine.begin() as conn:
                    conn.execute(
                        sa.update(state.DEAD)
                        .where(state.DEAD.c.id == letter.id)
                        .values(reason=reason, attempts=state.DEAD.c.attempts + 1)
                    )
                failed += 1
        return ok, failed

    def dead_letters(self) -> list[state.DeadLetter]:
        with self.engine.connect() as conn:
            return state.list_dead(conn, self.pipeline)

    def _dead(self, conn: Connection, record: Record, reason: str) -> None:
        state.add_dead(conn, self.pipeline, record.message, record.partition, record.offset, reason)

    def _mark_origin(self, conn: Connection) -> None:
        if self._origin:
            conn.execute(sa.text("INSERT INTO _cdc_origin (marker) VALUES (:m)"), {"m": "sink"})

    def _unmark_origin(self, conn: Connection) -> None:
        if self._origin:
            conn.execute(sa.text("DELETE FROM _cdc_origin"))

    def _action(self, conn: Connection, event: ChangeEvent) -> _Action:
        table = event.source.table
        mapping = self.mapping.for_table(table, event.topic)
        image = event.after if event.op in ("c", "u", "r") else event.before
        if event.op == "t":
            target = self.targets.get(conn, mapping, None, None)
            return _Action(target, "truncate", {}, table, event.source.ts_ms)
        if image is None:
            raise PoisonEvent(f"an {event.op!r} event without its row image")
        target = self.targets.get(conn, mapping, event.key or image, image)
        row = _target_row(mapping, target, image)
        if event.op == "d":
            missing = [k for k in target.key if k not in row]
            if missing:
                raise PoisonEvent(f"delete lacks key column(s) {missing} of {target.table.name!r}")
            row = {k: row[k] for k in target.key}
        return _Action(target, "delete" if event.op == "d" else "upsert", row, table,
                       event.source.ts_ms)  # fmt: skip

    def _stage(
        self, conn: Connection, pending: dict[str, dict[tuple[Any, ...], _Action]], action: _Action
    ) -> None:
        name = action.target.table.name
        if action.kind == "truncate":
            self._execute(conn, list(pending.pop(name, {}).values()))
            self._execute(conn, [action])
            return
        key = tuple(action.row.get(k) for k in action.target.key)
        table_actions = pending.setdefault(name, {})
        table_actions.pop(key, None)  # keep the latest, in arrival order
        table_actions[key] = action

    def _execute(self, conn: Connection, actions: list[_Action]) -> None:
        upserts: dict[tuple[str, frozenset[str]], list[_Action]] = {}
        deletes: dict[str, list[_Action]] = {}
        for action in actions:
            if action.kind == "truncate":
                conn.execute(sa.delete(action.target.table))
            elif action.kind == "delete":
                deletes.setdefault(action.target.table.name, []).append(action)
            else:
                group = (action.target.table.name, frozenset(action.row))
                upserts.setdefault(group, []).append(action)
        for batch in deletes.values():
            _delete(conn, batch[0].target, [a.row for a in batch])
        for batch in upserts.values():
            _upsert(conn, batch[0].target, [a.row for a in batch])


def _target_row(mapping: TableMapping, target: Target, image: Mapping[str, Any]) -> dict[str, Any]:
    renamed: Mapping[str, Any] = image  # decode_row builds a new dict either way
    if mapping.rename or mapping.drop:
        renames, drop = mapping.renames, mapping.drop
        renamed = {renames.get(k, k): v for k, v in image.items() if k not in drop}
    decoded = target.decode_row(renamed)
    if mapping.add:
        view = {k: decoded.get(mapping.target_column(k), v) for k, v in image.items()}
        mapping.add_columns(decoded, view)
    if not decoded.keys() <= target.kinds.keys():
        unknown = sorted(set(decoded) - set(target.kinds))
        raise PoisonEvent(f"target table {target.table.name!r} has no column(s) {unknown}")
    return decoded


_CHUNK = 1000  # keys per DELETE ... IN, like SQLAlchemy's insertmanyvalues page size


def _delete(conn: Connection, target: Target, keys: list[dict[str, Any]]) -> None:
    table, names = target.table, target.key
    column: Any
    if len(names) == 1:
        column, values = table.c[names[0]], [r[names[0]] for r in keys]
    elif conn.dialect.name == "postgresql":
        column = sa.tuple_(*(table.c[k] for k in names))
        values = [tuple(r[k] for k in names) for r in keys]
    else:
        where = sa.and_(*(table.c[k] == sa.bindparam(f"k_{k}") for k in names))
        conn.execute(sa.delete(table).where(where), [{f"k_{k}": r[k] for k in names} for r in keys])
        return
    # One statement per chunk of keys: a DBAPI executemany of DELETEs costs one round
    # trip per row on PostgreSQL (psycopg2).
    stmt = sa.delete(table).where(column.in_(sa.bindparam("keys", expanding=True)))
    for start in range(0, len(values), _CHUNK):
        conn.execute(stmt, {"keys": values[start : start + _CHUNK]})


def _upsert(conn: Connection, target: Target, rows: list[dict[str, Any]]) -> None:
    table = target.table
    name = conn.dialect.name
    if name in ("sqlite", "postgresql"):
        insert = (sqlite.insert if name == "sqlite" else postgresql.insert)(table)
        others = [c for c in rows[0] if c not in target.key]
        stmt: Any
        if others:
            stmt = insert.on_conflict_do_update(
                index_elements=list(target.key), set_={c: insert.excluded[c] for c in others}
            )
        else:
            stmt = insert.on_conflict_do_nothing(index_elements=list(target.key))
        if name == "postgresql" and len(rows) > 1:
            # With RETURNING, SQLAlchemy sends many rows per INSERT (insertmanyvalues);
            # without it psycopg2's executemany is one round trip per row. Keys are
            # unique within a call (the batch keeps the last change per key), as
            # ON CONFLICT DO UPDATE requires.
            stmt = stmt.returning(table.c[target.key[0]])
        conn.execute(stmt, rows)
        return
    for row in rows:  # other databases: delete + insert inside the same transaction
        where = sa.and_(*(table.c[k] == row[k] for k in target.key))
        conn.execute(sa.delete(table).where(where))
        conn.execute(sa.insert(table), row)


def _db_reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return f"{type(orig or exc).__name__}: {text[0] if text else ''}"


def parse(message: Message) -> ChangeEvent | None:
    """Parse a transport message (re-exported for tools)."""
    return from_message(message)
