"""A handover's CDC on a PostgreSQL source: what it needs, the reverse slot, the drain.

- Needs: `wal_level=logical` and a free replication slot for the reverse pipeline.
- The reverse slot (on the service's database, capturing its owned tables) is created
  when the handover starts, before the hold, with no initial snapshot: the tables are
  equal already (forward CDC filled them), and every write the service makes after the
  flip is decoded from it.
- The drain's position is a heartbeat message the command writes into the source's WAL
  (`pg_logical_emit_message`, the capture's own heartbeat prefix), flushed at once. Every
  transaction committed before it is decoded before it; the capture acknowledges a
  position past it (the slot's `confirmed_flush_lsn`) only after publishing everything
  before it, an idle stream included (it acknowledges the heartbeats it reads).
"""

from __future__ import annotations

import psycopg2
import psycopg2.errors
import sqlalchemy as sa
from psycopg2 import sql
from sqlalchemy.engine import make_url

from cdc.capture_pg import HEARTBEAT, PgCapture, _dsn
from cdc.config import CdcConfig
from cdc.errors import CdcError
from cdc.snapshot_pg import query


def is_pg(url: str | None) -> bool:
    return bool(url) and str(url).startswith("postgres")


REPLICA = "-c session_replication_role=replica"


def replica_url(url: str) -> str:
    """`url` with its sessions in replica mode, for the reverse sink into the monolith.

    The service's tables have no foreign keys, and a transaction's rows reach the sink
    over several topics in any order (a price before its product): the monolith's
    foreign keys (and triggers) must not fire for what reverse sync applies, as they do
    not for PostgreSQL's own logical replication. Needs a superuser, or PostgreSQL 15's
    `GRANT SET ON PARAMETER session_replication_role TO the_user`.
    """
    parsed = make_url(url)
    options = f"{parsed.query.get('options', '')} {REPLICA}".strip()
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


def _sink_reasons(cfg: CdcConfig) -> list[str]:
    """Whether the sink can open its sessions (replica mode needs a right)."""
    if not cfg.sink or REPLICA not in str(make_url(cfg.sink).query.get("options", "")):
        return []
    engine = sa.create_engine(cfg.sink)
    try:
        with engine.connect():
            return []
    except sa.exc.DBAPIError as exc:
        why = str(exc.orig).strip().splitlines()[0]
        # a refusal at connect time carries no SQLSTATE, only the message naming the setting
        if "session_replication_role" not in why:
            return [f"{cfg.pipeline}: cannot connect to its sink: {why}"]
        return [f"{cfg.pipeline}: its sink cannot run in replica mode ({why}): needs a "
                "superuser or GRANT SET ON PARAMETER session_replication_role"]  # fmt: skip
    finally:
        engine.dispose()


def _capture(cfg: CdcConfig) -> PgCapture:
    assert cfg.source
    return PgCapture(cfg.source, prefix=cfg.prefix, slot=cfg.slot)


def reasons(cfg: CdcConfig) -> list[str]:
    """Why a handover cannot steer the pipeline of `cfg` on this server (empty: it can)."""
    try:
        capture = _capture(cfg)
    except CdcError as exc:
        return [f"{cfg.pipeline}: {exc}"]
    try:
        rows = query(
            capture.conn,
            "SELECT current_setting('wal_level'), current_setting('max_replication_slots')::int"
            " - (SELECT count(*) FROM pg_replication_slots),"
            " (SELECT database FROM pg_replication_slots WHERE slot_name = %s)",
            (cfg.slot,),
        )
    finally:
        capture.close()
    level, free, slot_db = rows[0]
    found: list[str] = []
    if level != "logical":
        found.append(f"{cfg.pipeline}: the source has wal_level={level}; CDC needs logical")
    if slot_db is None and free < 1:
        found.append(f"{cfg.pipeline}: no free replication slot for {cfg.slot!r} "
                     "(raise max_replication_slots)")  # fmt: skip
    elif slot_db is not None and slot_db != capture.db_name:
        found.append(f"{cfg.pipeline}: slot {cfg.slot!r} belongs to database {slot_db!r}")
    return found + _sink_reasons(cfg)


PREPARE_TIMEOUT_S = 10.0  # how long making the reverse capture may wait for other sessions


def prepare(cfg: CdcConfig) -> None:
    """Capture `cfg.tables` from now on (idempotent): the publication, and the slot made
    now with no snapshot. Full row images, as the forward capture takes them.

    Making a slot waits until every transaction running on the server has ended, and the
    publication's ALTERs wait for table locks: a session left idle in a transaction would
    hang the command, so both are bounded (PREPARE_TIMEOUT_S) and named when they fail.
    """
    capture = _capture(cfg)
    try:
        bound = f"{int(PREPARE_TIMEOUT_S * 1000)}ms"
        query(capture.conn, "SELECT set_config('statement_timeout', %s, false),"
              " set_config('lock_timeout', %s, false)", (bound, bound))  # fmt: skip
        captured = {t.rpartition(".")[2] for t in capture.tables()}
        if set(cfg.tables) != captured:  # ALTER TABLE/PUBLICATION lock: only when needed
            capture.setup(list(cfg.tables), replica_identity_full=True, create_slot=False)
        capture.start_without_snapshot()
    except (psycopg2.errors.QueryCanceled, psycopg2.errors.LockNotAvailable):
        raise CdcError(
            f"{cfg.pipeline}: making the reverse capture on {capture.db_name!r} waited over "
            f"{PREPARE_TIMEOUT_S:g} s for other sessions (a transaction left open? see "
            "pg_stat_activity: state 'idle in transaction')"
        ) from None
    finally:
        capture.close()


def position(url: str) -> int:
    """Write a heartbeat into the source's WAL and flush it; return its LSN.

    A server with synchronous_commit=off would leave the message in WAL buffers (the
    walsender sends only flushed WAL) until the WAL writer's next round: this session
    commits synchronously, and its transaction (an xid, nothing else) flushes the WAL.
    """

    conn = psycopg2.connect(_dsn(url), options="-c synchronous_commit=on")
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "SELECT pg_logical_emit_message(false, %s, 'handover') - '0/0'::pg_lsn",
                (HEARTBEAT,),
            )
            row = cur.fetchone()
            cur.execute("SELECT txid_current()")
    finally:
        conn.close()
    assert row is not None
    return int(row[0])


def catch_up_sequences(url: str, tables: tuple[str, ...]) -> None:
    """Move every sequence feeding a column of `tables` past the column's highest value.

    CDC inserts rows with the other side's ids, which a sequence never sees: the side
    about to own the writes would otherwise hand out ids that are taken. A sequence
    never moves back. Run while the writes are held.
    """
    conn = psycopg2.connect(_dsn(url))
    try:
        with conn, conn.cursor() as cur:
            for table in tables:
                cur.execute(
                    "SELECT a.attname, pg_get_serial_sequence(%s, a.attname) FROM pg_attribute a"
                    " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
                    (table, table),
                )
                for column, sequence in cur.fetchall():
                    if sequence is None:
                        continue
                    highest = sql.SQL("SELECT COALESCE(MAX({}), 0) FROM {}").format(
                        sql.Identifier(column), sql.Identifier(table)
                    )
                    cur.execute(
                        sql.SQL(
                            "SELECT setval(%s, GREATEST(({}),"
                            " COALESCE(pg_sequence_last_value(%s::regclass), 0), 1))"
                        ).format(highest),
                        (sequence, sequence),
                    )
    finally:
        conn.close()


def open_capture(cfg: CdcConfig) -> PgCapture:
    """The capture of `cfg` (its connection is autocommit: every query reads the present)."""
    return _capture(cfg)


def published(capture: PgCapture, lsn: int) -> bool:
    """Tell whether the capture has published every change before `lsn`: its slot's
    confirmed flush position passed it (and it streams, its snapshot done)."""
    rows = query(capture.conn,
        "SELECT confirmed_flush_lsn - '0/0'::pg_lsn FROM pg_replication_slots"
        " WHERE slot_name = %s AND database = current_database()",
        (capture.slot,),
    )  # fmt: skip
    if not rows or rows[0][0] is None or int(rows[0][0]) < lsn:
        return False
    return capture.has_position()


def topics(capture: PgCapture, tables: tuple[str, ...]) -> list[str]:
    """The capture's topics of `tables` (PREFIX.SCHEMA.TABLE)."""
    return [t for t in capture.topics() if t.rsplit(".", 1)[-1] in tables]


def drop_slots(*cfgs: CdcConfig) -> None:
    """Drop the slots and publications of these pipelines (tests, and giving CDC up)."""
    for cfg in cfgs:
        capture = _capture(cfg)
        try:
            capture.teardown()
        finally:
            capture.close()
