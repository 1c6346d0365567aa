"""The versioned route store: one contract suite, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from router import notify, ops
from router.errors import Conflict, NotFound, ValidationError
from router.store import RouteStore
from router.table import Route, RouteTable, Upstream
from router.watch import TableWatcher

ROOT = Path(__file__).resolve().parents[2]
BASE = RouteTable(
    (Upstream("monolith", ("http://127.0.0.1:1",)), Upstream("catalog", ("http://127.0.0.1:2",)))
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[RouteStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/routes.db"
    else:
        url = request.getfixturevalue("postgres").create_database()
    s = RouteStore(url)
    yield s
    s.close()


def seeded(store: RouteStore) -> RouteTable:
    return store.commit(BASE, actor="alice", reason="bootstrap", change={"op": "init"})


def test_empty_store_has_version_zero(store: RouteStore) -> None:
    assert store.latest_version() == 0
    assert store.current() == RouteTable()


def test_every_version_is_kept_with_who_when_why_and_what(store: RouteStore) -> None:
    seeded(store)
    t2, _ = ops.add_route(store.current(), {"path": "/api/products/**", "target": "catalog"})
    store.commit(t2, actor="bob", reason="extract catalog", change={"op": "add"})
    history = store.history()
    assert [v.version for v in history] == [2, 1]
    assert (history[0].actor, history[0].reason, history[0].change) == (
        "bob",
        "extract catalog",
        {"op": "add"},
    )
    assert history[0].created_at.startswith("20")
    assert store.current().route("api-products-all") is not None


def test_rollback_restores_an_earlier_table_as_a_new_version(store: RouteStore) -> None:
    seeded(store)
    t2, _ = ops.add_route(store.current(), {"path": "/api/**", "target": "catalog"})
    store.commit(t2, actor="a", reason="", change={})
    back = store.rollback(1, actor="carol", reason="oops")
    assert back.version == 3
    assert back.routes == ()
    assert store.history(1)[0].change == {"op": "rollback", "to": 1}


def test_rollback_to_a_missing_version_names_it(store: RouteStore) -> None:
    with pytest.raises(NotFound, match="version 9"):
        store.rollback(9, actor="a", reason="")


def test_invalid_table_is_refused_and_the_old_one_stays(store: RouteStore) -> None:
    seeded(store)
    bad = BASE.replace(routes=(Route("x", "/api/**", "nowhere"),))
    with pytest.raises(ValidationError, match="unknown upstream"):
        store.commit(bad, actor="a", reason="", change={})
    assert store.latest_version() == 1


def test_stale_writer_gets_a_conflict_not_a_lost_update(store: RouteStore) -> None:
    seeded(store)
    store.commit(BASE, actor="a", reason="", change={}, expected=1)
    with pytest.raises(Conflict, match="now version 2"):
        store.commit(BASE, actor="b", reason="", change={}, expected=1)


def test_concurrent_updates_all_land_as_distinct_versions(store: RouteStore) -> None:
    seeded(store)
    errors: list[Exception] = []

    def add(i: int) -> None:
        try:
            store.update(
                lambda t: ops.add_route(
                    t, {"id": f"r{i}", "path": f"/p{i}/**", "target": "catalog"}
                )[0],
                actor=f"w{i}",
                reason="",
                change={},
                attempts=50,
            )
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert {r.id for r in store.current().routes} == {f"r{i}" for i in range(6)}
    assert store.latest_version() == 7


def test_every_watching_data_plane_picks_up_a_new_version(store: RouteStore) -> None:
    seeded(store)
    seen: list[list[int]] = [[], []]
    other = RouteStore(store.url)
    watchers = [
        TableWatcher(s, lambda t, i=i: seen[i].append(t.version), interval=0.01)
        for i, s in enumerate((store, other))
    ]
    for w in watchers:
        w.start()
    try:
        store.commit(BASE, actor="a", reason="", change={})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(s and s[-1] == 2 for s in seen):
            time.sleep(0.01)
        assert [s[-1] for s in seen] == [2, 2]
    finally:
        for w in watchers:
            w.stop()
        other.close()


WRITE_FROM_ANOTHER_PROCESS = """
import sys
from router.store import RouteStore
from router.table import RouteTable, Upstream
store = RouteStore(sys.argv[1])
store.commit(RouteTable((Upstream("monolith", ("http://127.0.0.1:3",)),)), actor="other",
             reason="", change={})
store.close()
"""


def test_a_change_from_another_process_arrives_without_waiting_for_the_poll(
    store: RouteStore,
) -> None:
    seeded(store)
    arrived = threading.Event()
    # polls once at start, then not for an hour: only the notification can deliver it
    watcher = TableWatcher(
        RouteStore(store.url), lambda t: t.version == 2 and arrived.set(), interval=3600
    )
    watcher.start()
    try:
        assert watcher.listening
        subprocess.run(
            [sys.executable, "-c", WRITE_FROM_ANOTHER_PROCESS, store.url], check=True, cwd=ROOT
        )
        assert arrived.wait(30), "the change was not announced to the watcher"
    finally:
        watcher.stop()
        watcher.store.close()


def test_a_listener_left_by_a_dead_process_does_not_block_commits(tmp_path) -> None:
    store = RouteStore(f"sqlite:///{tmp_path}/routes.db")
    folder = notify.socket_folder(str(tmp_path / "routes.db"))
    assert folder is not None
    abandoned = notify.SocketListener(folder)
    abandoned.sock.close()  # as if its process had died: the socket file stays
    seeded(store)
    assert not abandoned.path.exists()  # the writer removed it
    store.close()


def test_a_plain_path_is_a_sqlite_store(tmp_path) -> None:
    s = RouteStore(str(tmp_path / "sub" / "r.db"))
    assert s.url.startswith("sqlite:///") and s.latest_version() == 0
    s.close()
