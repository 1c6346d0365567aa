"""Gather the numbers the promotion gate judges (router/gate.py) for one route.

- Shadow comparisons: the newest `window` stored rows of the route. A row that does not
  match and has no error is a mismatch; the mirror already removed learned noise (parity).
  A row with an error or a 5xx from the candidate counts as a candidate error.
- Live traffic: this data plane's `strangler_requests_total` per target and the
  `strangler_request_seconds` histogram (p99 as Prometheus' histogram_quantile computes
  it). In shadow mode only the monolith answers, so the candidate's p99 appears once it
  serves a canary share.
- CDC lag: `last_lag_ms` of the route's tables (`[gate.tables]`) in the sink's state
  table in the service database (`[gate] cdc_sink`), as `strangler cdc status` shows it.
"""

from __future__ import annotations

import re
from collections import defaultdict

import sqlalchemy as sa

from router.comparisons import ComparisonStore, rows
from router.gate import Evidence, GatePolicy
from router.metrics import Metrics
from router.table import MONOLITH, Route

_BUCKET = re.compile(r"^strangler_request_seconds_bucket\{(.*)\} (\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def gather(
    route: Route, policy: GatePolicy, comparisons: ComparisonStore | None, metrics: Metrics
) -> Evidence:
    shadow = _shadow(route.id, comparisons, policy.window)
    live = _live(route, metrics)
    cand_p99, mono_p99 = _p99(metrics.render(), route.id, route.target)
    return Evidence(
        comparisons=shadow[0],
        mismatches=shadow[1],
        candidate_requests=shadow[0] + live[0],
        candidate_errors=shadow[2] + live[1],
        monolith_requests=shadow[0] + live[2],
        monolith_errors=shadow[3] + live[3],
        candidate_p99=cand_p99,
        monolith_p99=mono_p99,
        cdc_lag_ms=_cdc_lag(policy, policy.tables.get(route.id, ())),
    )


def _shadow(route: str, store: ComparisonStore | None, window: int) -> tuple[int, int, int, int]:
    """(comparisons, mismatches, candidate errors, monolith errors) of the newest rows."""
    if store is None:
        return 0, 0, 0, 0
    newest = (
        sa.select(rows.c.match, rows.c.error, rows.c.primary_status, rows.c.shadow_status)
        .where(rows.c.route == route)
        .order_by(rows.c.id.desc())
        .limit(window)
        .subquery()
    )
    failed = sa.or_(newest.c.error != "", sa.func.coalesce(newest.c.shadow_status, 0) >= 500)
    query = sa.select(
        sa.func.count(),
        sa.func.sum(sa.case((sa.and_(~newest.c.match, newest.c.error == ""), 1), else_=0)),
        sa.func.sum(sa.case((failed, 1), else_=0)),
        sa.func.sum(sa.case((newest.c.primary_status >= 500, 1), else_=0)),
    )
    with store.engine.connect() as conn:
        total, mismatched, cand, mono = conn.execute(query).one()
    return int(total), int(mismatched or 0), int(cand or 0), int(mono or 0)


def _live(route: Route, metrics: Metrics) -> tuple[int, int, int, int]:
    """(candidate requests, candidate 5xx, monolith requests, monolith 5xx) served live."""
    counts: dict[tuple[str, bool], float] = defaultdict(float)
    for _, labels, value in metrics.snapshot(("strangler_requests_total",)):
        if labels.get("route") == route.id:
            counts[labels.get("target", ""), labels.get("code") == "5xx"] += value
    target, mono = route.target, MONOLITH
    return (
        int(counts[target, False] + counts[target, True]),
        int(counts[target, True]),
        int(counts[mono, False] + counts[mono, True]),
        int(counts[mono, True]),
    )


def _p99(text: str, route: str, target: str) -> tuple[float | None, float | None]:
    buckets: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for line in text.splitlines():
        m = _BUCKET.match(line)
        if not m:
            continue
        labels = dict(_LABEL.findall(m.group(1)))
        if labels.get("route") == route:
            edge = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
            buckets[labels.get("target", "")].append((edge, float(m.group(2))))
    return quantile(0.99, buckets.get(target, [])), quantile(0.99, buckets.get(MONOLITH, []))


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """Prometheus' histogram_quantile over cumulative (upper edge, count) buckets."""
    buckets = sorted(buckets)
    total = buckets[-1][1] if buckets else 0
    if not total:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for edge, count in buckets:
        if count >= rank:
            if edge == float("inf"):
                return lower
            return lower + (edge - lower) * (rank - below) / ((count - below) or 1)
        lower, below = edge, count
    return lower


def _cdc_lag(policy: GatePolicy, tables: tuple[str, ...]) -> dict[str, int | None]:
    """The sink's last lag per table (None: no position recorded, or no sink configured)."""
    if not tables:
        return {}
    lags: dict[str, int | None] = dict.fromkeys(tables)
    if not policy.cdc_sink:
        return lags
    from cdc import sink_state

    engine = sa.create_engine(policy.cdc_sink)
    try:
        with engine.connect() as conn:
            for row in sink_state.stats(conn, policy.cdc_pipeline):
                name = str(row["source_table"]).rsplit(".", 1)[-1]
                if name in lags and row["last_lag_ms"] is not None:
                    lags[name] = max(lags[name] or 0, int(row["last_lag_ms"]))
    except sa.exc.SQLAlchemyError:
        return lags  # unknown lag fails the check, with the table named
    finally:
        engine.dispose()
    return lags
