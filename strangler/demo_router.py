"""The demo's router: its strangler.toml, starting it before ShopCo, and asking it things.

Holds the catalog routes the demo moves (and the monolith tables behind them), the
config file `strangler routes` and the promotion gate read, and the small requests the
steps in demo_route.py make through the router: a crawl of the catalog reads, who
answered one request, and the router's own per-target counters.
"""

from __future__ import annotations

import contextlib
import os
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import extracted.catalog
from router.config import RouterConfig
from router.errors import RouterError
from router.server import RouterServer
from strangler.cli.router_client import AdminClient
from strangler.demo_stack import DemoError, Ports, Stack
from strangler_settings import CONFIG_FILE_ENV

UPSTREAM = "catalog"
# The catalog's routes (the monolith endpoints of the context), by route id.
ROUTES = {
    "catalog-categories": "/api/categories",
    "catalog-products": "/api/products",
    "catalog-product": "/api/products/{id}",
}
# The monolith tables behind them, whose CDC lag the gate checks.
TABLES = ["categories", "products", "prices", "stock_levels", "reviews", "order_lines"]
RULES = Path(extracted.catalog.__file__).parent / "parity.toml"


def write_config(
    folder: Path, host: str, ports: Ports, catalog_db: str, min_comparisons: int
) -> Path:
    """The demo's strangler.toml: where its router is, and its promotion gate's settings.

    `STRANGLER_CONFIG=<this file> strangler routes list` then talks to the demo's router.
    """
    tables = "\n".join(f'"{r}" = {TABLES!r}'.replace("'", '"') for r in ROUTES)
    text = f"""# written by `strangler demo`: STRANGLER_CONFIG=<this file> strangler routes list
[router]
listen = "{host}:{ports.router}"
admin = "{host}:{ports.admin}"
store = "sqlite:///{folder / "router.db"}"
token_file = "{folder / "router-admin-token"}"

[gate]
min_comparisons = {min_comparisons}
# The gate judges each route's newest {min_comparisons} comparisons: the demo's reads made
# once CDC has caught up. Its traffic before them checks out orders while it reads the
# products they change, so a read can reach the service before CDC brought the change;
# the demo re-checks each such mismatch once the lag is zero (both sides must agree).
window = {min_comparisons}
# Latency is not judged here: on a shared laptop one busy moment decides a p99.
p99_margin = 1000.0
cdc_sink = "{catalog_db}"
cdc_pipeline = "catalog"

[gate.tables]
{tables}
"""
    path = folder / "strangler.toml"
    path.write_text(text, encoding="utf-8")
    return path


@contextlib.contextmanager
def _config_file(path: Path) -> Iterator[None]:
    """Read the demo's strangler.toml while the router builds its gate policy."""
    before = os.environ.get(CONFIG_FILE_ENV)
    os.environ[CONFIG_FILE_ENV] = str(path)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(CONFIG_FILE_ENV, None)
        else:
            os.environ[CONFIG_FILE_ENV] = before


def store_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'router.db'}"


def start_router(
    stack: Stack, folder: Path, host: str, ports: Ports, monolith_url: str, config_file: Path
) -> tuple[RouterServer, AdminClient]:
    config = RouterConfig(
        listen=f"{host}:{ports.router}",
        admin=f"{host}:{ports.admin}",
        monolith=monolith_url,
        store=store_url(folder),
        token_file=str(folder / "router-admin-token"),
        shadow_rules=str(RULES),
        access_log=str(folder / "router-access.log"),
        capture_file=str(folder / "router-capture.jsonl"),
    )
    with _config_file(config_file):
        try:
            server = RouterServer(config).start()
        except RouterError as exc:
            raise DemoError(f"{exc} (choose other ports with --port N, or --port 0)") from None
    stack.callback(server.stop)
    return server, AdminClient(server.admin_url, server.token, actor="demo")


def target_counts(server: RouterServer) -> dict[str, int]:
    """Requests answered per X-Strangler-Target (the router's own counters)."""
    counts: Counter[str] = Counter()
    for _, labels, value in server.metrics.snapshot(("strangler_requests_total",)):
        counts[labels.get("target", "")] += int(value)
    return dict(counts)


def served_by(proxy_url: str, path: str = "/api/products/1") -> str:
    """The X-Strangler-Target of one request through the router."""
    with urllib.request.urlopen(proxy_url + path, timeout=10) as response:
        return str(response.headers.get("X-Strangler-Target", ""))


def crawl(proxy_url: str, per_route: int) -> int:
    """Read each catalog route `per_route` times (pages, filters, products by id)."""
    paths = [
        *(f"/api/categories?page={1 + i % 3}&per_page=5" for i in range(per_route)),
        *(f"/api/products?page={1 + i}&per_page=10" for i in range(per_route)),
        *(f"/api/products/{1 + i}" for i in range(per_route)),
    ]
    for path in paths:
        # a 404 is compared like any answer
        with (
            contextlib.suppress(urllib.error.HTTPError),
            urllib.request.urlopen(proxy_url + path, timeout=10) as response,
        ):
            response.read()
    return len(paths)
