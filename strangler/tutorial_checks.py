"""Did a tutorial step work? One check per step, read from the working folder's state.

Each check polls (the services start in the background) and returns a sentence saying
what holds, or raises TutorialError naming what does not.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

CONFIG = Path("strangler.toml")
ROUTES = ("api-categories", "api-products", "api-products-id")
MIN_COMPARISONS = 20


class TutorialError(Exception):
    """A step's check failed; the message says what was expected."""


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (OSError, ValueError):
        return 0, None


def _poll(check: Callable[[], str | None], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last is None:
            return
        time.sleep(0.2)
    raise TutorialError(f"{what}: {last}")


def _monolith_url() -> str:
    from monolith.config import load_config

    c = load_config()
    return f"http://{c.host}:{c.port}"


def _port(url: str) -> str:
    return url.rsplit(":", 1)[-1]


def _catalog() -> Any:
    from extracted._service.config import load_config

    return load_config("catalog")


def _admin() -> Any:
    from strangler.cli.router_client import resolve

    return resolve(None, None)


def _modes() -> dict[str, str]:
    return {r["id"]: r["mode"] for r in _admin().call("GET", "/routes")["routes"]}


def check_config() -> str:
    if not CONFIG.exists():
        raise TutorialError("no strangler.toml here: run `strangler tutorial --init` first")
    return "strangler.toml is there"


def check_monolith() -> str:
    url = _monolith_url()
    _poll(lambda: None if _get(url + "/health")[0] == 200 else "no answer", f"ShopCo at {url}")
    return f"ShopCo answers on port {_port(url)}"


def check_analysis() -> str:
    path = Path("var/analysis/report.json")
    if not path.exists():
        raise TutorialError(f"{path} is missing: run the analysis")
    contexts = json.loads(path.read_text(encoding="utf-8"))["contexts"]
    if not any({"categories", "prices", "products"} <= set(c["tables"]) for c in contexts):
        raise TutorialError("no suggested context holds categories, prices and products")
    return "the report suggests a context of categories, prices and products"


def check_catalog_db() -> str:
    engine = sa.create_engine(_catalog().database_url)
    try:
        if not sa.inspect(engine).has_table("products"):
            raise TutorialError("the catalog database has no tables: run the migration")
    finally:
        engine.dispose()
    return "the catalog database is migrated"


def check_synced() -> str:
    from extracted._service.registry import service_module
    from extracted._service.sync import SyncPlan
    from strangler.demo_sync import LagMeter

    config = _catalog()
    url = f"http://{config.host}:{config.port}"
    _poll(lambda: None if _get(url + "/ready")[0] == 200 else "not ready", f"the catalog at {url}")
    plan = SyncPlan(
        service="catalog", source_url=config.cdc_source, target_url=config.database_url,
        mapping_path=str(service_module("catalog").SPEC.mapping_path(config)),
        transport=config.cdc_transport, prefix="catalog",
    )  # fmt: skip
    meter = LagMeter(plan)
    try:
        _poll(lambda: None if meter.read()[0] == 0 else f"{meter.read()[0]} events", "CDC lag")
    finally:
        meter.close()
    return "the catalog is ready and the CDC lag is 0 events"


def check_shadow() -> str:
    modes = _modes()
    if any(modes.get(r) != "shadow" for r in ROUTES):
        raise TutorialError(f"the catalog routes should be in shadow, found {modes}")
    return "the router answers and the catalog routes are in shadow"


def check_compared() -> str:
    admin = _admin()

    def enough() -> str | None:
        for route in ROUTES:
            e = admin.call("GET", f"/routes/{route}/gate")["evidence"]
            if e["comparisons"] < MIN_COMPARISONS or e["mismatches"]:
                return f"{route}: {e['comparisons']} comparisons, {e['mismatches']} mismatches"
        return None

    _poll(enough, "shadow comparisons", timeout=30)
    return f"{MIN_COMPARISONS} or more comparisons per catalog route, 0 unexplained mismatches"


def check_served() -> str:
    modes = _modes()
    if any(modes.get(r) != "service" for r in ROUTES):
        raise TutorialError(f"the catalog routes should be in service mode, found {modes}")
    return "every catalog route is served by the catalog service"


def check_rolled_forward() -> str:
    check_served()
    return "the catalog routes are in service mode again"


def check_owned() -> str:
    from handover.state import HandoverState

    state = HandoverState("sqlite:///var/handover.db")
    try:
        direction = state.direction("catalog")
    finally:
        state.close()
    if direction.wanted != "reverse":
        raise TutorialError(f"the catalog's CDC runs {direction.wanted}: run the handover")
    check_served()
    monolith = _monolith_url() + "/api/categories?per_page=100"

    def arrived() -> str | None:
        _, body = _get(monolith)
        names = {c["name"] for c in (body or {}).get("items", [])}
        return None if "Tutorial" in names else "the new category is not in ShopCo yet"

    _poll(arrived, "reverse sync")
    return (
        "the service owns the catalog's writes and reverse sync brought its new category to ShopCo"
    )


CHECKS: dict[int, Callable[[], str]] = {
    0: check_config, 1: check_monolith, 2: check_analysis, 3: check_catalog_db,
    4: check_synced, 5: check_shadow, 6: check_compared, 7: check_served,
    8: check_rolled_forward, 9: check_owned,
}  # fmt: skip


def run_check(step: int) -> str:
    check = CHECKS.get(step)
    return check() if check else "nothing to check"
