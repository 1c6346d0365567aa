"""Pick up new table versions written by any process sharing the store.

A data plane polls the store's version number (one indexed MAX query) every
`interval` seconds and loads the full table only when it changed, so a change is
visible everywhere within about one interval plus one load.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from router.store import RouteStore
from router.table import RouteTable

log = logging.getLogger(__name__)


class TableWatcher:
    """Call `on_change(table)` whenever the store's current version changes."""

    def __init__(
        self,
        store: RouteStore,
        on_change: Callable[[RouteTable], None],
        interval: float = 0.02,
    ) -> None:
        self.store = store
        self.on_change = on_change
        self.interval = interval
        self.seen = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self) -> bool:
        """Load and publish the table if its version moved; tell whether it did."""
        latest = self.store.latest_version()
        if latest == self.seen:
            return False
        table = self.store.get(latest).table if latest else RouteTable()
        self.seen = latest
        self.on_change(table)
        return True

    def start(self) -> None:
        self.poll_once()
        self._thread = threading.Thread(target=self._run, name="table-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll_once()
            except Exception:  # keep serving the last good table if the store hiccups
                log.exception("route store poll failed; keeping version %s", self.seen)
