"""Catalog and slot administration for PostgreSQL capture: publication, slot, tables, keys."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Any

import psycopg2
from psycopg2 import sql

from cdc import pgoutput
from cdc.errors import CdcError
from cdc.snapshot_incremental import CREATE_TABLES, SIGNAL_TABLE
from cdc.snapshot_pg import SnapshotTable, query

ORIGIN_TABLE = "_cdc_origin"


class PgCatalog:
    """What capture needs to know and change in the source's catalog (mixed into PgCapture)."""

    conn: Any
    slot: str
    publication: str
    _keys: dict[int, tuple[str, ...]]
    _not_null: dict[int, set[str]]

    def _query(self, text: Any, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return query(self.conn, text, args)

    def setup(
        self,
        tables: Sequence[str],
        *,
        replica_identity_full: bool = False,
        create_slot: bool = True,
    ) -> list[str]:
        """Create the publication and (unless the first run should snapshot) the slot."""
        if not tables:
            raise CdcError("no tables to capture: pass --tables a,b,c")
        for table in tables:
            if not self._query("SELECT to_regclass(%s)", (table,))[0][0]:
                raise CdcError(f"table {table!r} does not exist in the source database")
            if replica_identity_full:
                self._query(sql.SQL("ALTER TABLE {} REPLICA IDENTITY FULL").format(
                    sql.Identifier(*table.split(".")))
                )  # fmt: skip
        # Sinks writing into this database mark their transactions with a row here; the
        # table is published so the capture can see the mark and drop those transactions.
        self._create(
            "CREATE TABLE IF NOT EXISTS _cdc_origin (id bigserial PRIMARY KEY, marker text)"
        )
        for create in CREATE_TABLES:  # `snapshot` requests and their progress
            self._create(create)
        published = [*tables, ORIGIN_TABLE, SIGNAL_TABLE]
        names = sql.SQL(", ").join(sql.Identifier(*t.split(".")) for t in published)
        if self._query("SELECT 1 FROM pg_publication WHERE pubname = %s", (self.publication,)):
            self._query(sql.SQL("ALTER PUBLICATION {} SET TABLE {}").format(
                sql.Identifier(self.publication), names))  # fmt: skip
        else:
            self._query(sql.SQL("CREATE PUBLICATION {} FOR TABLE {}").format(
                sql.Identifier(self.publication), names))  # fmt: skip
        self._create(
            "CREATE TABLE IF NOT EXISTS _cdc_pg_snapshot"
            " (slot text PRIMARY KEY, done boolean, state text, reserved bigint)"
        )
        if create_slot and not self._slot_exists():
            self._query("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (self.slot,))
            self._query(
                "INSERT INTO _cdc_pg_snapshot VALUES (%s, true, NULL, 0) ON CONFLICT (slot)"
                " DO UPDATE"
                " SET done = true",
                (self.slot,),
            )
        return list(tables)

    def ensure_signal_table(self) -> None:
        """Create and publish the signal table (for a capture set up before it existed)."""
        for create in CREATE_TABLES:
            self._create(create)
        query = "SELECT 1 FROM pg_publication_tables WHERE pubname = %s AND tablename = %s"
        if not self._query(query, (self.publication, SIGNAL_TABLE)):
            self._query(sql.SQL("ALTER PUBLICATION {} ADD TABLE {}").format(
                sql.Identifier(self.publication), sql.Identifier(SIGNAL_TABLE)))  # fmt: skip

    def _create(self, statement: str) -> None:
        """Run a CREATE ... IF NOT EXISTS. When another session creates the same table at
        the same moment (two services setting up capture on one monolith), PostgreSQL
        raises on its catalog's unique index instead of skipping: the table exists then,
        which is all that was asked (the connection is in autocommit)."""
        with contextlib.suppress(psycopg2.errors.UniqueViolation, psycopg2.errors.DuplicateTable):
            self._query(statement)

    def _slot_exists(self) -> bool:
        query = "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s"
        return bool(self._query(query, (self.slot,)))

    def _drop_slot(self) -> None:
        deadline = time.monotonic() + 10
        while self._slot_exists():
            try:
                self._query("SELECT pg_drop_replication_slot(%s)", (self.slot,))
            except psycopg2.errors.ObjectInUse:
                if time.monotonic() > deadline:
                    raise CdcError(f"slot {self.slot!r} is in use by another process") from None
                time.sleep(0.1)  # our walsender is still exiting

    def retained_wal_bytes(self) -> int | None:
        rows = self._query(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) FROM pg_replication_slots"
            " WHERE slot_name = %s",
            (self.slot,),
        )
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def tables(self) -> list[str]:
        rows = self._query(
            "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = %s"
            " ORDER BY 1",
            (self.publication,),
        )
        return [r[0] for r in rows if r[0].split(".")[-1] not in (ORIGIN_TABLE, SIGNAL_TABLE)]

    def _describe(self, qualified: str) -> SnapshotTable:
        schema, _, name = qualified.partition(".")
        rows = self._query(
            "SELECT attname, atttypid, atttypmod FROM pg_attribute WHERE attrelid = %s::regclass"
            " AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            (qualified,),
        )
        columns = tuple(pgoutput.RelColumn(n, int(o), int(m), False) for n, o, m in rows)
        relid = self._query("SELECT %s::regclass::oid", (qualified,))[0][0]
        relation = pgoutput.Relation(int(relid), schema, name, "d", columns)
        return SnapshotTable(schema, name, columns, self._primary_key(relation))

    def _primary_key(self, rel: pgoutput.Relation) -> tuple[str, ...]:
        """The table's primary key (REPLICA IDENTITY FULL marks every column as key)."""
        cached = self._keys.get(rel.relid)
        if cached is None:
            rows = self._query(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
                " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s AND i.indisprimary"
                " ORDER BY array_position(i.indkey, a.attnum)",
                (rel.relid,),
            )
            cached = tuple(r[0] for r in rows) or tuple(c.name for c in rel.columns if c.key)
            self._keys[rel.relid] = cached
        return cached

    def _placeholder(self, rel: pgoutput.Relation, column: pgoutput.RelColumn) -> Any:
        if rel.relid not in self._not_null:
            rows = self._query(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s AND attnotnull"
                " AND attnum > 0",
                (rel.relid,),
            )
            self._not_null[rel.relid] = {r[0] for r in rows}
        if column.name not in self._not_null[rel.relid]:
            return None
        return {"text": "", "int": 0, "float": 0.0, "bool": False}.get(column.kind)
