"""Step 2 of the demo: the catalog service on its own database, filled and kept in sync by CDC.

Database per service: the catalog gets its own SQLite file and migrations. Change data
capture: triggers on ShopCo's tables feed the embedded log; the sync worker applies the
initial snapshot, then streams. The step ends when the lag is zero and a change made in
ShopCo has been seen arriving in the service.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdc.bootstrap import capture_from, sink_from
from cdc.mapping import load_mapping
from cdc.status import table_status
from extracted._service.config import ServiceConfig
from extracted._service.registry import service_module
from extracted._service.sync import SyncPlan, run_sync
from strangler.demo import Say
from strangler.demo_stack import DemoError, Stack

SERVICE = "catalog"
WAIT_S = 60.0


@dataclass(frozen=True)
class Synced:
    """What step 2 leaves: the catalog serving, its database, the sync running."""

    url: str
    database_url: str
    plan: SyncPlan
    snapshot_rows: int
    snapshot_s: float
    change_ms: float  # a change in ShopCo seen in the service after this long
    lag_events: int
    meter: LagMeter
    directed: Any = None  # (flows, state) when the worker obeys the handover's direction


def http_json(method: str, url: str, body: Any = None, timeout: float = 10.0) -> Any:
    """One JSON request; the decoded answer (raises on a non-2xx status)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


class LagMeter:
    """Events captured from ShopCo but not yet applied to the service (`cdc status`' lag)."""

    def __init__(self, plan: SyncPlan) -> None:
        cfg = plan.cdc_config([t.source for t in load_mapping(plan.mapping_path).tables])
        self.capture, self.sink = capture_from(cfg), sink_from(cfg)

    def read(self) -> tuple[int, int]:
        """(lag in events, events applied) over the service's tables."""
        rows = table_status(self.capture, self.sink)
        return sum(r.lag_events or 0 for r in rows), sum(r.applied or 0 for r in rows)

    def close(self) -> None:
        self.capture.close()
        if self.sink is not None:
            self.sink.engine.dispose()


def _wait(check: Any, what: str, stack: Stack) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        failure = stack.failed("cdc-sync")
        if failure is not None:
            raise DemoError(f"the catalog's CDC sync stopped: {failure}")
        if time.monotonic() > deadline:
            raise DemoError(f"gave up after {WAIT_S:.0f} s waiting for {what}")
        time.sleep(0.05)


def sync_step(
    stack: Stack, folder: Path, monolith_db: str, monolith_url: str, host: str, port: int, say: Say
) -> Synced:
    """Step 2: migrate and serve the catalog, sync it from ShopCo, show the lag reach zero."""
    module = service_module(SERVICE)
    url = f"sqlite:///{folder / 'catalog.db'}"
    module.SPEC.migrations.upgrade(url)
    plan = SyncPlan(
        service=SERVICE,
        source_url=monolith_db,
        target_url=url,
        mapping_path=str(module.SPEC.default_mapping),
        transport=f"embedded:{folder / 'cdc-log.db'}",
        prefix=SERVICE,
    )
    config = ServiceConfig(name=SERVICE, database_url=url, log_level="WARNING")
    app = module.create_app(config)
    stack.callback(app.extensions["service_db"].engine.dispose)
    _, service_url = stack.serve(app, host, port, "catalog service")
    say(f"catalog service listening on {service_url} (its own database: {url})")
    snapshot = threading.Event()
    started = time.perf_counter()
    directed = directed_worker(stack, folder, plan)
    if directed is None:
        stack.thread(
            lambda stop: run_sync(plan, module.SPEC.metadata, stop, on_snapshot=snapshot.set),
            "cdc-sync",
        )
    else:

        def worker(stop: threading.Event) -> None:
            # as `extract sync catalog --directed`: the snapshot, then the stored direction
            run_sync(plan, module.SPEC.metadata, stop, once=True, on_snapshot=snapshot.set)
            run_directed(directed[0], directed[1], stop)

        stack.thread(worker, "cdc-sync")
    _wait(snapshot.is_set, "the initial snapshot", stack)
    snapshot_s = time.perf_counter() - started
    meter = LagMeter(plan)
    stack.callback(meter.close)
    lag, applied = meter.read()
    say(f"initial snapshot applied: {applied} rows in {snapshot_s:.1f} s; now streaming")
    _wait(lambda: meter.read()[0] == 0, "the CDC lag to reach zero", stack)
    change_ms = _probe_change(monolith_url, service_url, stack)
    lag, _ = meter.read()
    say(
        f"CDC lag: {lag} events; a product edited in ShopCo showed in the service "
        f"{change_ms:.0f} ms later"
    )
    return Synced(service_url, url, plan, applied, snapshot_s, change_ms, lag, meter, directed)


def directed_worker(stack: Stack, folder: Path, plan: SyncPlan) -> Any:
    """(flows, state) for a sync worker the handover can steer; None without handover."""
    from strangler.demo_handover import available

    if not available():
        return None
    from handover.cdc_control import flows
    from handover.plan import CONTEXTS
    from handover.state import HandoverState

    state = HandoverState(f"sqlite:///{folder / 'handover.db'}")
    stack.callback(state.close)
    return flows(CONTEXTS[SERVICE], plan, folder / "handover"), state


def run_directed(flows: Any, state: Any, stop: threading.Event) -> None:
    from handover.cdc_control import run_directed as run

    run(flows, state, stop)


def _probe_change(monolith_url: str, service_url: str, stack: Stack) -> float:
    """Edit a product in ShopCo; return how long until the service answers with the edit."""
    stamp = f"edited by the demo at {time.time():.3f}"
    started = time.perf_counter()
    http_json("PATCH", f"{monolith_url}/api/products/1", {"description": stamp})

    def arrived() -> bool:
        return http_json("GET", f"{service_url}/api/products/1").get("description") == stamp

    _wait(arrived, "a change to reach the catalog service", stack)
    return (time.perf_counter() - started) * 1000
