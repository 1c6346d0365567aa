"""ChangeEvents from decoded pgoutput changes: source block, row images, typed values.

A pgoutput change carries each value as text (or null, or "unchanged TOAST"); here it
becomes the value the event model encodes, a TOAST value Debezium's "unavailable"
marker, and a before-image of REPLICA IDENTITY DEFAULT gets placeholders beside its key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from cdc import pgoutput, types
from cdc.event import ChangeEvent, Column, Source, row_changes
from cdc.pg_catalog import PgCatalog
from cdc.position import Position
from cdc.snapshot_pg import event_columns

UNAVAILABLE = "__debezium_unavailable_value"


@dataclass
class PgTxn:
    """A transaction being read from the stream: its BEGIN and its (relation, change)s."""

    begin: pgoutput.Begin
    changes: list[Any] = field(default_factory=list)


class PgEvents(PgCatalog):
    """Build the events of one decoded change (mixed into PgCapture)."""

    prefix: str
    db_name: str
    _columns: dict[int, tuple[pgoutput.Relation, tuple[Column, ...]]]

    def _events(
        self, rel: pgoutput.Relation, change: Any, txn: PgTxn, commit: pgoutput.Commit, index: int
    ) -> list[ChangeEvent]:
        position = Position(commit.commit_lsn, index)
        source = Source(
            name=self.prefix, db=self.db_name, schema=rel.schema, table=rel.name,
            ts_ms=commit.commit_ts_ms, tx_id=txn.begin.xid, lsn=commit.commit_lsn,
            sequence=f'["{commit.commit_lsn}","{index}"]',  # JSON of [str(lsn), str(index)]
        )  # fmt: skip
        columns = self._event_columns(rel)
        now = int(time.time() * 1000)
        if isinstance(change, pgoutput.Truncate):
            return [ChangeEvent(op="t", source=source, ts_ms=now, position=position)]
        key = self._primary_key(rel)
        before = self._image(rel, change.old, key_only=change.old_is_key_only)
        after = self._image(rel, change.new)
        if change.op == "u" and before is None and after is not None:
            before = None  # REPLICA IDENTITY DEFAULT and the key did not change
        return row_changes(
            op=change.op, source=source, ts_ms=now, key_columns=key, before=before,
            after=after, position=position, columns=columns,
        )  # fmt: skip

    def _event_columns(self, rel: pgoutput.Relation) -> tuple[Column, ...]:
        cached = self._columns.get(rel.relid)
        if cached is not None and cached[0] is rel:
            return cached[1]
        columns = event_columns(rel.columns)
        self._columns[rel.relid] = (rel, columns)
        return columns

    def _image(
        self, rel: pgoutput.Relation, values: Any, *, key_only: bool = False
    ) -> dict[str, Any] | None:
        if values is None:
            return None
        row: dict[str, Any] = {}
        for column, text in zip(rel.columns, values, strict=True):
            if key_only and not column.key:
                # REPLICA IDENTITY DEFAULT: only the key is known; like Debezium, a required
                # (NOT NULL) column gets its type's empty value, an optional one null.
                row[column.name] = self._placeholder(rel, column)
                continue
            kind = column.kind
            if text is None or (kind == "text" and type(text) is str):  # the common cases
                row[column.name] = text
                continue
            if kind == "int" and type(text) is str:
                row[column.name] = int(text)
                continue
            value = pgoutput.to_python(column, text)
            if value is pgoutput.UNCHANGED_TOAST:
                row[column.name] = UNAVAILABLE
            else:
                row[column.name] = types.encode(column.kind, value, column.scale)
        return row
