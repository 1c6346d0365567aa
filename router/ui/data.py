"""The dashboard's Data view: CDC lag per table and direction, dead letters, handovers.

What it reads is configured in `[dashboard]` of strangler.toml (or STRANGLER_DASHBOARD_*):

    [dashboard]
    sinks = ["forward catalog default sqlite:///var/catalog.db",
             "reverse catalog catalog-back sqlite:///var/shop.db"]
    handover = "sqlite:///var/handover.db"

Each sink is "DIRECTION CONTEXT PIPELINE URL": the database a sink applies into, whose
state tables hold per table the rows applied and the last lag, and the dead letters,
read with the function behind `strangler cdc status --json` (cdc.status.table_status)
and `strangler cdc dlq list`. The handover state is the store `strangler extract
handover` keeps (handover/state.py), read only if it exists. Without `sinks`, the sink
the promotion gate reads (`[gate] cdc_sink`, `cdc_pipeline`) is shown as the forward
direction of the context named by its pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from router.errors import ValidationError
from strangler_settings import load

DIRECTIONS = ("forward", "reverse")


@dataclass(frozen=True)
class SinkRef:
    direction: str
    context: str
    pipeline: str
    url: str

    @classmethod
    def parse(cls, text: str) -> SinkRef:
        parts = text.split()
        if len(parts) != 4 or parts[0] not in DIRECTIONS:
            raise ValidationError(
                f"[dashboard] sinks entry {text!r} must be 'forward|reverse CONTEXT PIPELINE URL'"
            )
        return cls(*parts)


@dataclass(frozen=True)
class DashboardConfig:
    sinks: tuple[str, ...] = ()  # CDC sinks to show: "forward|reverse CONTEXT PIPELINE URL" each
    # the handover state store (`extract handover`) to show
    handover: str = "sqlite:///var/handover.db"
    report: str = "var/analysis/report.json"  # the analyzer's report (Plan view)

    def sink_refs(self) -> tuple[SinkRef, ...]:
        return tuple(SinkRef.parse(s) for s in self.sinks)


def load_config(**overrides: Any) -> DashboardConfig:
    return load(
        DashboardConfig, section="dashboard", env_prefix="STRANGLER_DASHBOARD_", overrides=overrides
    )


class DataReader:
    """Reads sink state and handover state; opens each database once."""

    def __init__(self, config: DashboardConfig, gate_sink: SinkRef | None = None) -> None:
        self.config = config
        # without [dashboard] sinks, the sink the promotion gate reads ([gate] cdc_sink)
        self.refs = config.sink_refs() or ((gate_sink,) if gate_sink else ())
        self._sinks: dict[SinkRef, Any] = {}

    def _sink(self, ref: SinkRef) -> Any:
        if ref not in self._sinks:
            from cdc.sink import Sink

            self._sinks[ref] = Sink(ref.url, pipeline=ref.pipeline)
        return self._sinks[ref]

    def lag(self) -> list[dict[str, Any]]:
        """Per sink: its tables (applied, lag ms, dead letters) or the error reading them."""
        import sqlalchemy as sa

        from cdc.errors import CdcError
        from cdc.status import table_status

        out = []
        for n, ref in enumerate(self.refs):
            entry: dict[str, Any] = {"n": n, **vars(ref), "tables": [], "error": ""}
            try:
                entry["tables"] = [t.to_json() for t in table_status(None, self._sink(ref))]
            except (CdcError, sa.exc.SQLAlchemyError) as exc:  # shown on the page
                entry["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
            entry["dead"] = sum(t["dead_letters"] or 0 for t in entry["tables"])
            out.append(entry)
        return out

    def dead_letters(self, n: int) -> dict[str, Any]:
        if not 0 <= n < len(self.refs):
            raise ValidationError(f"no sink number {n} in [dashboard] sinks")
        letters = self._sink(self.refs[n]).dead_letters()
        return {"sink": vars(self.refs[n]), "letters": [d.to_json() for d in letters]}

    def handovers(self) -> list[dict[str, Any]]:
        """Per context: the stored run (step, op) and CDC direction, or "not started"."""
        try:
            from handover.plan import CONTEXTS
        except ImportError:  # a tools install without the handover package
            return []
        state = self._handover_state()
        out = []
        for name in sorted(CONTEXTS):
            run = state.run(name) if state else None
            direction = state.direction(name) if state else None
            if run is not None:
                summary = f"{run.op} in progress: step {run.step}"
            elif direction is not None and direction.wanted == "reverse":
                summary = "handed over (the service owns its tables; reverse sync)"
            else:
                summary = "not started"
            out.append(
                {
                    "context": name,
                    "tables": CONTEXTS[name].owned,
                    "state": summary,
                    "direction": vars(direction) if direction else None,
                }
            )
        if state is not None:
            state.close()
        return out

    def owned_tables(self) -> dict[str, tuple[str, ...]]:
        """Per service, the monolith tables it takes over (handover/plan.py's contexts)."""
        try:
            from handover.plan import CONTEXTS
        except ImportError:
            return {}
        return {name: c.owned for name, c in CONTEXTS.items()}

    def _handover_state(self) -> Any:
        url = self.config.handover
        if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
            return None  # no handover ever ran: do not create its store
        from handover.state import HandoverState

        return HandoverState(url)
