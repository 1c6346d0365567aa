"""Pick up new table versions written by any process sharing the store.

Every commit to the store wakes the watchers (router/notify.py), so a change is applied
as soon as the watcher's thread runs. The watcher also polls the store's version number
(one indexed MAX query) every `interval` seconds as a safety net, and loads the full
table only when that number moved.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from router.notify import Listener
from router.store import RouteStore
from router.table import RouteTable

log = logging.getLogger(__name__)
RELISTEN_AFTER = 1.0  # seconds between attempts to re-open a broken listener
STOP_CHECK = 0.25  # longest a notification wait runs before it looks at stop()


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
        self._listener: Listener | None = None
        self._listen_at = 0.0  # monotonic time of the next attempt to listen

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
        self._relisten()  # before the first poll, so no commit falls in between
        self.poll_once()
        self._thread = threading.Thread(target=self._run, name="table-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._close_listener()

    @property
    def listening(self) -> bool:
        """Whether commits wake this watcher (False: it polls only, for now)."""
        return self._listener is not None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wait()
            if self._stop.is_set():
                return
            try:
                self.poll_once()
            except Exception:  # keep serving the last good table if the store hiccups
                log.exception("route store poll failed; keeping version %s", self.seen)

    def _wait(self) -> None:
        """Until a commit is announced or one poll interval has passed."""
        if self._listener is None and time.monotonic() >= self._listen_at:
            self._relisten()
        if self._listener is None:
            self._stop.wait(self.interval)
            return
        deadline = time.monotonic() + self.interval
        try:  # in slices, so that stop() is seen even with a long poll interval
            while not self._stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._listener.wait(min(remaining, STOP_CHECK)):
                    return
        except Exception:
            log.warning("route change notifications lost; polling until they are back")
            self._close_listener()

    def _relisten(self) -> None:
        self._listen_at = time.monotonic() + RELISTEN_AFTER
        try:
            self._listener = self.store.listen()
        except Exception as exc:
            log.warning(
                "cannot listen for route changes (%s); polling every %gs", exc, self.interval
            )

    def _close_listener(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
