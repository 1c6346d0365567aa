"""A whole ShopCo stack on loopback for rehearsing a handover under traffic.

ShopCo and one extracted service (werkzeug, threaded), the router (in-process
RouterServer: mitmproxy data plane and admin API), the context's direction-obeying CDC
worker (a process of its own, as in production), on SQLite with the embedded log or
on PostgreSQL (a database each) with Kafka; `monolith traffic`'s mixed load through the
router, and two probes that record every answer: a writer (the acknowledged writes to
look for afterwards) and a reader. What differs between contexts (routes, probes, the
tables to compare) is a `Workload`: CATALOG (new categories, renamed products) and
REVIEWS (new reviews by customers of the probe's own, some deleted again; ShopCo's
seam `reviews_service_url` pointed at the router).
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
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from itertools import chain
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
from werkzeug.serving import make_server

from extracted._service.registry import service_module
from extracted._service.sync import SyncPlan
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
from monolith.models.customers import Customer
from monolith.seams import SWITCHES
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


class Call(NamedTuple):
    """One request of a write probe; `keep` makes the detail of a 2xx answer's reply."""

    kind: str
    method: str
    path: str
    body: Any = None
    keep: Callable[[Any], Any] | None = None


# one step of write probe `writer` (its n-th): yields calls, is sent back their answers
Visit = Generator[Call, "Answer", None]


@dataclass(frozen=True)
class Workload:
    """What a rehearsal of one context runs: the service, its routes, the probes, and the
    moved tables that must be equal row for row after convergence."""

    context: str
    paths: tuple[str, ...]  # routed to the service
    read: str  # the read probe's path
    tables: tuple[tuple[str, str], ...]  # (monolith query, service query)
    write: Callable[[Any, int, int], Visit]  # (what prepare found, writer, n)
    prepare: Callable[[sa.Engine], Any] = lambda _engine: None  # on the seeded monolith


def _catalog_write(_prepared: Any, writer: int, n: int) -> Visit:
    name = f"Probe {writer}-{n}"
    yield Call("POST category", "POST", "/api/categories", {"name": name},
               keep=lambda reply: (reply["id"], name))  # fmt: skip
    # each writer renames its own products, so the last rename of each is known
    product, rename = 1 + writer + WRITERS * (n % 10), f"Renamed {writer}-{n}"
    yield Call("PATCH product", "PATCH", f"/api/products/{product}", {"name": rename},
               keep=lambda _reply: (product, rename))  # fmt: skip


CATALOG = Workload(
    context="catalog",
    paths=("/api/categories", "/api/products", "/api/products/{id}"),
    read="/api/products/7",
    tables=(
        ("SELECT id, name, slug FROM categories ORDER BY id",) * 2,
        (
            "SELECT id, sku, name, active, category_id FROM products ORDER BY id",
            "SELECT id, sku, name, is_active, category_id FROM products ORDER BY id",
        ),
        (
            "SELECT id, product_id, amount_cents, currency FROM prices ORDER BY id",
            "SELECT id, product_id, amount_cents, currency FROM product_prices ORDER BY id",
        ),
    ),
    write=_catalog_write,
)

REVIEWERS = 4  # customers of each write probe's own: a customer reviews a product once


def _reviews_prepare(engine: sa.Engine) -> tuple[list[int], list[list[int]]]:
    """The seeded products, and customers only the write probes use: suspended, so
    `monolith traffic` (which reviews as the active customers it lists) never takes a
    (product, customer) pair of a probe's."""
    emails = [[f"probe{w}-{k}@probe.example" for k in range(REVIEWERS)] for w in range(WRITERS)]
    rows = [{"email": e, "name": e.split("@")[0], "status": "suspended"} for e in chain(*emails)]
    with engine.begin() as conn:
        products = list(conn.scalars(sa.text("SELECT id FROM products ORDER BY id")))
        conn.execute(sa.insert(Customer), rows)
        ids = {e: i for e, i in conn.execute(sa.select(Customer.email, Customer.id))}
    return products, [[ids[e] for e in mine] for mine in emails]


def _reviews_write(prepared: Any, writer: int, n: int) -> Visit:
    products, customers = prepared
    k = n - 1
    if k // len(products) >= len(customers[writer]):
        return  # every pair of this probe's is reviewed
    body = f"Probe {writer}-{n} {uuid.uuid4().hex}"
    review = {"product_id": products[k % len(products)], "rating": 1 + n % 5,
              "customer_id": customers[writer][k // len(products)], "title": "Probe",
              "body": body}  # fmt: skip
    answer = yield Call("POST review", "POST", "/api/reviews", review,
                        keep=lambda reply: (reply["id"], body))  # fmt: skip
    if n % 5 == 0 and answer.status == 201:  # some are retracted again
        created = answer.detail  # (id, body): SQLite may give a deleted id to a new row
        yield Call("DELETE review", "DELETE", f"/api/reviews/{created[0]}",
                   keep=lambda _reply: created)  # fmt: skip


REVIEWS = Workload(
    context="reviews",
    paths=("/api/reviews", "/api/reviews/{id}"),
    read="/api/reviews?product_id=7",
    tables=(
        (
            "SELECT id, product_id, customer_id, rating, title, body, verified_purchase, "
            "created_at FROM reviews ORDER BY id",
        )
        * 2,
    ),
    write=_reviews_write,
    prepare=_reviews_prepare,
)
WORKLOADS = {w.context: w for w in (CATALOG, REVIEWS)}


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
    a Kafka broker, ShopCo and the service each on a database of their own and Kafka."""

    def __init__(
        self, folder: Path, postgres: Any = None, kafka: str = "", work: Workload = CATALOG
    ) -> None:
        self.folder, self.work, name = folder, work, work.context
        self.context = CONTEXTS[name]
        unique = f"{name}_{uuid.uuid4().hex[:6]}" if postgres is not None else ""
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
            self.prepared = work.prepare(engine)
        finally:
            engine.dispose()
        transport = f"kafka:{kafka}" if kafka else ""
        self.synced = synced_service(name, self.monolith_url, new, folder,
                                     transport=transport, prefix=unique)  # fmt: skip
        self.servers: list[Any] = []
        mono = create_monolith(MonolithConfig(database_url=self.monolith_url, log_level="ERROR"))
        service = service_module(name).create_app(self.synced.config())
        self.monolith_http = self._serve(mono)
        self.service_http = self._serve(service)
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
        if name in SWITCHES:  # branch by abstraction: ShopCo calls the service's API there
            switch = SWITCHES[name][1]
            shopco = mono.config["SHOPCO"]
            mono.config["SHOPCO"] = replace(shopco, **{switch: self.router.proxy_url})
        self.admin = Admin(self.router.admin_url)
        self.admin.call("PUT", f"/upstreams/{name}", {"urls": [self.service_http]})
        for path in work.paths:
            self.admin.call("POST", "/routes", {"path": path, "target": name, "mode": "shadow"})
        state_url = f"sqlite:///{folder / 'handover.db'}"
        self.state = HandoverState(state_url)
        self.store = RouteStore(config.store)
        self.flows = own_flows(self.context, self.synced.plan, folder / "handover", unique)
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

        values = dict(context=self.context, flows=self.flows, store=self.store,
                      state=self.state, gate=gate, endpoints={}, hold_s=2.0,
                      planes=lambda: self.admin.call("GET", "/metrics")[1])  # fmt: skip
        return Settings(**{**values, **changes})

    def wait_worker(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.state.direction(self.context.name).running is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the {self.context.name} sync worker did not start")
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

    def _send(self, conn: Any, call: Call) -> Answer:
        started = time.perf_counter()
        status, held, reply, by = self._exchange(conn, call.method, call.path, call.body)
        ok = 200 <= status < 300
        detail = call.keep(reply) if call.keep is not None and ok else reply
        return Answer(call.kind, status, held, detail, by, (time.perf_counter() - started) * 1000)

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
            visit = self.work.write(self.prepared, writer, n)
            try:
                call = next(visit)
                while True:
                    answer = self._send(conn, call)
                    self.writes.answers.append(answer)
                    call = visit.send(answer)
            except StopIteration:
                pass
            time.sleep(0.01)

    def _read_loop(self) -> None:
        conn, read = self._conn(), Call("GET", "GET", self.work.read)
        while time.monotonic() < self._load_until:
            self.reads.answers.append(self._send(conn, read))
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
