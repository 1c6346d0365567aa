"""The handover's checks that need no running CDC: what it refuses before touching anything."""

from __future__ import annotations

from cdc.config import CdcConfig
from handover.cdc_control import Flows
from handover.plan import CONTEXTS, HANDOVER
from handover.run import Settings, check
from handover.state import HandoverState
from router import ops
from router.store import RouteStore
from router.table import RouteTable


def test_a_postgresql_source_is_refused_as_not_supported_yet(tmp_path):
    store = RouteStore(f"sqlite:///{tmp_path / 'routes.db'}")
    table, _ = ops.put_upstream(RouteTable(), {"name": "monolith", "urls": ["http://m:1"]})
    table, _ = ops.put_upstream(table, {"name": "catalog", "urls": ["http://c:1"]})
    table, _ = ops.add_route(table, {"path": "/api/products", "target": "catalog"})
    store.commit(table, actor="test", reason="", change={})
    forward = CdcConfig(source="postgresql://shop/db", sink="postgresql://catalog/db")
    reverse = CdcConfig(source="postgresql://catalog/db", sink="postgresql://shop/db")
    settings = Settings(
        context=CONTEXTS["catalog"], flows=Flows(CONTEXTS["catalog"], forward, reverse),
        store=store, state=HandoverState(f"sqlite:///{tmp_path / 'h.db'}"),
        gate=lambda _r: {"allowed": True}, endpoints={},
    )  # fmt: skip
    assert check(settings, HANDOVER) == [
        "handover from postgresql://shop/db is not supported yet: SQLite sources only"
    ]
    store.close()
    settings.state.close()
