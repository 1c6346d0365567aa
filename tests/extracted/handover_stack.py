"""A whole ShopCo stack on loopback for rehearsing a handover under traffic.

ShopCo and the catalog service (werkzeug, threaded), the router (in-process
RouterServer: mitmproxy data plane and admin API), the catalog's direction-obeying CDC
worker (a process of its own, as in production), on SQLite with the embedded log or
on PostgreSQL (a database each) with Kafka; `monolith traffic`'s mixed load through the
router, and two probes that record every answer: a writer (new categories, renamed
products: the acknowledged writes to look for afterwards) and a reader.
Used by tests/extracted/test_handover_traffic.py and bench/handover.py.
"""

from __future__ import annotations

import http.client
import json
import logging
import multiprocessing
import os
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
from werkzeug.serving import make_server

from extracted._service.sync import SyncPlan
from extracted.catalog.app import create_app as create_catalog
from handover.cdc_control import (
    Flows,
    applied_through,
    flows,
    run_directed,
    source_position,
)
from handover.cdc_pg import drop_slots, is_pg
from handover.plan import CONTEXTS, Context
from handover.run import Settings
from handover.state import HandoverState
from monolith.app import create_app as create_monolith
from monolith.config import MonolithConfig
from monolith.db import make_engine
from monolith.migrate import upgrade
from monolith.seed import seed
from monolith.traffic import TrafficSummary, run_traffic
from router.config import RouterConfig
from router.server import RouterServer
from router.store import RouteStore
from tests.extracted.conftest import synced_service
from tests.router.conftest import TOKEN, Admin

RELAXED_GATE = {  # the rehearsal asks the real gate; its thresholds suit a short run
    "STRANGLER_GATE_MIN_COMPARISONS": "0",
    "STRANGLER_GATE_MAX_MISMATCH_RATE": "1",
    "STRANGLER_GATE_ERROR_RATE_MARGIN": "1",
    "STRANGLER_GATE_P99_MARGIN": "1000",
}
WRITERS = 3  # write probes in parallel
PATHS = ("/api/categories", "/api/products", "/api/products/{id}")


def _serve(app: Any) -> tuple[Any, str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


class Answer(NamedTuple):
    kind: str
    status: int  # 0: no answer
    held: float | None  # ms the router held the request (X-Strangler-Held-Ms)
    detail: Any
    by: str  # X-Strangler-Target
    ms: float  # as the client saw it


@dataclass
class Probe:
    """Every answer one probe saw."""

    answers: list[Answer] = field(default_factory=list)

    def failures(self) -> list[Answer]:
        return [a for a in self.answers if a.status == 0 or a.status >= 400]

    def held_ms(self) -> list[float]:
        return sorted(a.held for a in self.answers if a.held is not None)

    def served_by(self) -> dict[str, int]:
        return dict(Counter(a.by for a in self.answers))

    def unheld_ms(self) -> list[float]:
        return sorted(a.ms for a in self.answers if a.held is None)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


def _work(f: Flows, state_url: str) -> None:
    """The context's sync worker, until its process is ended."""
    run_directed(f, HandoverState(state_url), threading.Event())


def own_flows(context: Context, plan: SyncPlan, folder: Path, unique: str) -> Flows:
    """The context's flows, with reverse topics, slot and group of their own when `unique`
    is given (a Kafka broker and a PostgreSQL server shared by several stacks)."""
    f = flows(context, plan, folder)
    if not unique:
        return f
    back = replace(f.reverse, prefix=f"{unique}_back", slot=f"s_{unique}_back",
                   group=f"{f.reverse.group}-{unique}")  # fmt: skip
    return Flows(context, f.forward, back)


class Stack:
    """The whole stack on SQLite with the embedded log, or, given a PostgreSQL server and
    a Kafka broker, ShopCo and the catalog each on a database of their own and Kafka."""

    def __init__(self, folder: Path, postgres: Any = None, kafka: str = "") -> None:
        self.folder = folder
        unique = f"catalog_{uuid.uuid4().hex[:6]}" if postgres is not None else ""
        if postgres is not None:
            self.monolith_url = postgres.create_database()
            new = lambda _name: postgres.create_database()  # noqa: E731
        else:
            self.monolith_url = f"sqlite:///{folder / 'shop.db'}"
            new = lambda name: f"sqlite:///{folder / name}.db"  # noqa: E731
        upgrade(self.monolith_url)
        engine = make_engine(self.monolith_url)
        try:
            seed(engine, scale=1, seed=42)
        finally:
            engine.dispose()
        transport = f"kafka:{kafka}" if kafka else ""
        self.synced = synced_service("catalog", self.monolith_url, new, folder,
                                     transport=transport, prefix=unique)  # fmt: skip
        self.servers: list[Any] = []
        mono = create_monolith(MonolithConfig(database_url=self.monolith_url, log_level="ERROR"))
        catalog = create_catalog(self.synced.config())
        self.monolith_http = self._serve(mono)
        self.catalog_http = self._serve(catalog)
        saved = {k: os.environ.get(k) for k in RELAXED_GATE}
        os.environ.update(RELAXED_GATE)
        try:
            config = RouterConfig(
                listen="127.0.0.1:0", admin="127.0.0.1:0", monolith=self.monolith_http,
                store=f"sqlite:///{folder / 'routes.db'}", poll_interval=0.01,
                access_log=str(folder / "access.log"), token_file=str(folder / "token"),
            )  # fmt: skip
            self.router = RouterServer(config, token=TOKEN).start()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        self.admin = Admin(self.router.admin_url)
        self.admin.call("PUT", "/upstreams/catalog", {"urls": [self.catalog_http]})
        for path in PATHS:
            self.admin.call(
                "POST", "/routes", {"path": path, "target": "catalog", "mode": "shadow"}
            )
        state_url = f"sqlite:///{folder / 'handover.db'}"
        self.state = HandoverState(state_url)
        self.store = RouteStore(config.store)
        self.flows = own_flows(CONTEXTS["catalog"], self.synced.plan, folder / "handover", unique)
        # the sync worker is a process of its own, as `extract sync --directed` is
        self.worker = multiprocessing.get_context("spawn").Process(
            target=_work, args=(self.flows, state_url), daemon=True
        )
        self.worker.start()
        self._threads: list[threading.Thread] = []
        self.writes, self.reads = Probe(), Probe()
        self.traffic: TrafficSummary | None = None

    def _serve(self, app: Any) -> str:
        server, url = _serve(app)
        self.servers.append(server)
        return url

    def settings(self, **changes: Any) -> Settings:
        def gate(route: str) -> Any:
            _, body = self.admin.call("GET", f"/routes/{route}/gate?mode=service")
            return body

        values = dict(context=CONTEXTS["catalog"], flows=self.flows, store=self.store,
                      state=self.state, gate=gate, endpoints={}, hold_s=2.0,
                      planes=lambda: self.admin.call("GET", "/metrics")[1])  # fmt: skip
        return Settings(**{**values, **changes})

    def wait_worker(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.state.direction("catalog").running is None:
            if time.monotonic() > deadline:
                raise TimeoutError("the catalog sync worker did not start")
            time.sleep(0.05)

    # -- load ---------------------------------------------------------------------------

    def start_load(self, seconds: float) -> None:
        def traffic() -> None:
            self.traffic = run_traffic(self.router.proxy_url, duration=seconds, seed=7)

        self._load_until = time.monotonic() + seconds
        writers = [lambda i=i: self._write_loop(i) for i in range(WRITERS)]
        for target in (traffic, *writers, self._read_loop):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)

    def _conn(self) -> http.client.HTTPConnection:
        host, port = self.router.proxy_url.removeprefix("http://").split(":")
        return http.client.HTTPConnection(host, int(port), timeout=30)

    def _send(self, conn: Any, kind: str, method: str, path: str, body: Any = None) -> Answer:
        started = time.perf_counter()
        status, held, reply, by = self._exchange(conn, method, path, body)
        detail = reply if kind != "POST category" or status != 201 else (reply["id"], body["name"])
        if kind == "PATCH product":
            detail = (int(path.rsplit("/", 1)[1]), body["name"])
        return Answer(kind, status, held, detail, by, (time.perf_counter() - started) * 1000)

    def _exchange(
        self, conn: Any, method: str, path: str, body: Any
    ) -> tuple[int, float | None, Any, str]:
        try:
            payload = None if body is None else json.dumps(body).encode()
            conn.request(method, path, body=payload, headers={"Content-Type": "application/json"})
            reply = conn.getresponse()
            raw = reply.read()
            held = reply.getheader("x-strangler-held-ms")
            target = reply.getheader("x-strangler-target") or ""
            return reply.status, float(held) if held else None, json.loads(raw or b"null"), target
        except (OSError, http.client.HTTPException, ValueError) as exc:
            conn.close()
            return 0, None, repr(exc), ""

    def _write_loop(self, writer: int) -> None:
        conn, n = self._conn(), 0
        while time.monotonic() < self._load_until:
            n += 1
            add = {"name": f"Probe {writer}-{n}"}
            self.writes.answers.append(
                self._send(conn, "POST category", "POST", "/api/categories", add)
            )
            # each writer renames its own products, so the last rename of each is known
            product = 1 + writer + WRITERS * (n % 10)
            path, rename = f"/api/products/{product}", {"name": f"Renamed {writer}-{n}"}
            self.writes.answers.append(self._send(conn, "PATCH product", "PATCH", path, rename))
            time.sleep(0.01)

    def _read_loop(self) -> None:
        conn = self._conn()
        while time.monotonic() < self._load_until:
            self.reads.answers.append(self._send(conn, "GET product", "GET", "/api/products/7"))
            time.sleep(0.01)

    def join_load(self) -> None:
        for thread in self._threads:
            thread.join(120)

    # -- afterwards -----------------------------------------------------------------------

    def converge(self, timeout: float = 60) -> None:
        """Wait until forward CDC has applied everything the monolith wrote so far."""
        cfg = self.flows.forward
        assert cfg.source
        position = source_position(cfg.source)
        deadline = time.monotonic() + timeout
        while not applied_through(cfg, cfg.tables, position):
            if time.monotonic() > deadline:
                raise TimeoutError("forward CDC did not converge")
            time.sleep(0.1)

    def rows(self, url: str, sql: str) -> list[tuple[Any, ...]]:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(sa.text(sql))]
        finally:
            engine.dispose()

    def close(self) -> None:
        self.worker.terminate()
        self.worker.join(30)
        self.router.stop()
        for server in self.servers:
            server.shutdown()
        self.store.close()
        self.state.close()
        if is_pg(self.monolith_url):  # a slot pins WAL and counts against the server's limit
            drop_slots(self.flows.forward, self.flows.reverse)
