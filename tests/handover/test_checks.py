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


def test_a_postgresql_source_that_cannot_be_reached_is_a_reason_for_each_pipeline(tmp_path):
    store = RouteStore(f"sqlite:///{tmp_path / 'routes.db'}")
    table, _ = ops.put_upstream(RouteTable(), {"name": "monolith", "urls": ["http://m:1"]})
    table, _ = ops.put_upstream(table, {"name": "catalog", "urls": ["http://c:1"]})
    table, _ = ops.add_route(table, {"path": "/api/products", "target": "catalog"})
    store.commit(table, actor="test", reason="", change={})
    shop, catalog = "postgresql://u@127.0.0.1:9/shop", "postgresql://u@127.0.0.1:9/catalog"
    forward = CdcConfig(source=shop, sink=catalog, pipeline="catalog")
    reverse = CdcConfig(source=catalog, sink=shop, pipeline="catalog-back")
    settings = Settings(
        context=CONTEXTS["catalog"], flows=Flows(CONTEXTS["catalog"], forward, reverse),
        store=store, state=HandoverState(f"sqlite:///{tmp_path / 'h.db'}"),
        gate=lambda _r: {"allowed": True}, endpoints={},
    )  # fmt: skip
    reasons = check(settings, HANDOVER)
    assert [r.split(":")[0] for r in reasons] == ["catalog", "catalog-back"]
    assert all("cannot connect to the source" in r for r in reasons)
    store.close()
    settings.state.close()
