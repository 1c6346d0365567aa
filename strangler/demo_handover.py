"""Step 4's ownership handover, and step 5's way back when the catalog owns its writes.

The handover (handover/, `strangler extract handover`) moves the catalog's writes and the
source of truth of its tables to the service: writes held at the router, forward CDC
drained, the routes flipped in one version, CDC turned to reverse sync (service → ShopCo),
writes released. Without the handover package the demo says so and goes on.
"""

from __future__ import annotations

import importlib.util
import time
from typing import Any

from strangler.demo import Say
from strangler.demo_stack import DemoError

CONTEXT = "catalog"


def available() -> bool:
    try:
        return importlib.util.find_spec("handover.run") is not None
    except ImportError:  # the handover package is not installed with this build
        return False


def settings(directed: Any, store_url: str, admin: Any, report: dict[str, Any]) -> Any:
    from handover.plan import CONTEXTS
    from handover.run import Settings
    from router.store import RouteStore

    flows, state = directed
    return Settings(
        context=CONTEXTS[CONTEXT], flows=flows, store=RouteStore(store_url), state=state,
        gate=lambda route: admin.call("GET", f"/routes/{route}/gate?mode=service"),
        planes=lambda: admin.call("GET", "/metrics"), endpoints=report["endpoints"],
        reason="demo: the catalog owns its data",
    )  # fmt: skip


def wait_worker(directed: Any, timeout: float = 60.0) -> None:
    _, state = directed
    deadline = time.monotonic() + timeout
    while state.direction(CONTEXT).running is None:
        if time.monotonic() > deadline:
            raise DemoError("the catalog's CDC worker did not report in 60 s")
        time.sleep(0.05)


def perform(s: Any, op: str) -> Any:
    """Run the handover (or its rollback); a refusal or failure stops the demo with why."""
    from handover.errors import HandoverError
    from handover.run import perform as run

    try:
        return run(s, op)
    except HandoverError as exc:
        why = "; ".join(exc.reasons) or str(exc)
        raise DemoError(
            f"the {op} of the catalog failed (everything was put back): {why}"
        ) from None
    finally:
        s.store.close()


def handover_step(
    directed: Any, store_url: str, admin: Any, report: dict[str, Any], say: Say
) -> dict[str, Any]:
    """Hand the catalog's writes over to the service, or say why it is skipped."""
    if directed is None:
        say("ownership handover: the handover package is not installed here; skipped")
        return {"done": False, "reason": "the handover package is not installed"}
    from handover.plan import HANDOVER

    wait_worker(directed)
    outcome = perform(settings(directed, store_url, admin, report), HANDOVER)
    say(
        f"ownership handover: writes held {outcome.pause_s * 1000:.0f} ms, routes flipped in "
        f"version {outcome.version}, CDC now {outcome.direction} (catalog service → ShopCo)"
    )
    return {"done": True, **outcome.to_json()}


def handover_switches(
    directed: Any, store_url: str, admin: Any, report: dict[str, Any]
) -> list[tuple[str, str, Any]]:
    """Step 5 once the catalog owns its writes: hand it back to ShopCo, then over again."""
    from handover.plan import HANDOVER, ROLLBACK

    def run(op: str) -> Any:
        return lambda: perform(settings(directed, store_url, admin, report), op).version

    return [
        ("handover rolled back (routes to shadow, CDC forward)", "monolith", run(ROLLBACK)),
        ("handed over again (routes to service, CDC reverse)", "catalog", run(HANDOVER)),
    ]


# The catalog's owned tables as each side names them: ShopCo's, then the service's.
OWNED = (
    ("categories", "categories", "id, name, slug"),
    ("products", "products", "id, sku, name, description, category_id"),
    ("prices", "product_prices", "id, product_id, currency, amount_cents"),
)


def nothing_lost(directed: Any, monolith_db: str, catalog_db: str) -> int:
    """After reverse sync caught up, ShopCo's owned tables equal the service's; rows compared."""
    import sqlalchemy as sa

    from handover.cdc_control import applied_through, source_position

    flows, _ = directed
    cfg = flows.reverse
    position = source_position(cfg.source)
    deadline = time.monotonic() + 60
    while not applied_through(cfg, cfg.tables, position):
        if time.monotonic() > deadline:
            raise DemoError("reverse sync did not catch up with the catalog service in 60 s")
        time.sleep(0.1)
    compared = 0
    engines = sa.create_engine(monolith_db), sa.create_engine(catalog_db)
    try:
        for mono_table, service_table, columns in OWNED:
            rows = []
            for engine, table in zip(engines, (mono_table, service_table), strict=True):
                with engine.connect() as conn:
                    query = sa.text(f"SELECT {columns} FROM {table} ORDER BY id")
                    rows.append([tuple(r) for r in conn.execute(query)])
            if rows[0] != rows[1]:
                missing = len(set(rows[1]) - set(rows[0]))
                raise DemoError(
                    f"{mono_table}: ShopCo and the catalog service differ ({missing} of the "
                    "service's rows are not in ShopCo) after reverse sync caught up"
                )
            compared += len(rows[0])
    finally:
        for engine in engines:
            engine.dispose()
    return compared
