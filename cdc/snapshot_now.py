"""Publish a snapshot of chosen tables now, from whichever process can read them.

A SQLite source, or a PostgreSQL source whose slot nobody streams, is snapshotted here:
a capture-only pipeline publishes chunks until the requested tables are done. When
another process streams the PostgreSQL slot, only it can read the tables between the
WAL watermarks, so the request is recorded and this waits until that process has
published the snapshot.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from cdc.bootstrap import AnyCapture, pipeline_from, transport_from
from cdc.capture_pg import PgCapture
from cdc.config import CdcConfig


def streamed_elsewhere(capture: AnyCapture) -> str | None:
    """The slot, when another process streams it and so must publish requested snapshots."""
    if isinstance(capture, PgCapture) and capture.has_position() and capture.slot_active():
        return capture.slot
    return None


def wait_published(capture: AnyCapture, tables: Sequence[str], stop: threading.Event) -> None:
    """Wait until the process streaming the slot has published the snapshot of `tables`."""
    while not stop.is_set() and not done(capture.snapshot_progress(), tables):
        stop.wait(0.5)
        if isinstance(capture, PgCapture):
            capture.reload_incremental()


def publish(
    cfg: CdcConfig,
    capture: AnyCapture,
    tables: Sequence[str],
    stop: threading.Event,
    on_chunk: Callable[[], None] = lambda: None,
) -> None:
    """Publish the requested snapshot of `tables` from this process (capture only).

    `on_chunk` runs after each published batch. Stops early when `stop` is set (a later
    run continues the snapshot). A PostgreSQL source that has a position streams its
    slot here meanwhile, so its changes are published too.
    """
    streaming = isinstance(capture, PgCapture) and capture.has_position()
    transport = transport_from(cfg)
    try:
        pipeline = pipeline_from(cfg, transport, capture=capture)
        while not stop.is_set():
            published, _ = pipeline.capture_once()
            on_chunk()
            if (streaming or not published) and done(capture.snapshot_progress(), tables):
                break
    finally:
        transport.close()


def done(progress: dict[str, tuple[int, bool]], tables: Sequence[str]) -> bool:
    """Tell whether every one of `tables` has its snapshot published."""
    return all(progress.get(t, (0, False))[1] for t in tables)
