"""Whether to split at all: the share of write transactions the best split would cut. Pure.

A split pays off when most commands stay inside one context. When, under the best split
the clustering found, a large share of the write transactions (endpoint calls that write)
would have to write in two or more contexts, every one of them would become a distributed
transaction or a saga: the workload is one context (a tightly coupled OLTP core such as
TPC-C, where New-Order and Payment write across nearly every table).

The analyzer sees statements, not transactions: an endpoint's calls are estimated by its
most executed statement shape (each call runs it at least once), and a call "spans" when
the tables the endpoint writes (cross-cutting writes and omnipresent tables aside) lie in
two or more contexts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from analysis.access import AccessModel

ONE_CONTEXT_SHARE = 0.45


@dataclass(frozen=True)
class Verdict:
    """`split` or `one-context`, with the evidence."""

    kind: str
    spanning_write_share: float | None  # of write calls, under the best split found
    best_split_contexts: int
    threshold: float
    reason: str


def spanning_write_share(model: AccessModel, table_context: Mapping[str, str]) -> float | None:
    """Share of write transactions whose written tables lie in two or more contexts.

    The mean of two views: by calls (the hot transactions weigh most) and by commands
    (each writing endpoint once, robust to the traffic mix). Omnipresent tables aside.
    """
    calls = spanning_calls = commands = spanning_commands = 0
    for endpoint, written in model.writes.items():
        tables = [t for t in written if t not in model.omnipresent and t in table_context]
        if not tables:
            continue
        n = model.calls.get(endpoint, max(written.values()))
        calls += n
        commands += 1
        if len({table_context[t] for t in tables}) > 1:
            spanning_calls += n
            spanning_commands += 1
    if not commands:
        return None
    return (spanning_calls / calls + spanning_commands / commands) / 2


def judge(
    model: AccessModel, table_context: Mapping[str, str], threshold: float = ONE_CONTEXT_SHARE
) -> Verdict:
    """The verdict on the best split found (`table_context`)."""
    contexts = len(set(table_context.values()))
    share = spanning_write_share(model, table_context) if model.has_workload else None
    if contexts < 2:
        reason = "the clustering found no split: every table is used with the others"
        return Verdict("one-context", share, contexts, threshold, reason)
    if share is not None and share >= threshold:
        reason = (
            f"under the best split found ({contexts} contexts) {100 * share:.0f} % of the write "
            f"transactions would write in two or more contexts (threshold "
            f"{100 * threshold:.0f} %): keep it one context"
        )
        return Verdict("one-context", share, contexts, threshold, reason)
    if share is None:
        reason = "no workload: the split comes from the schema only"
    else:
        reason = (
            f"{100 * share:.0f} % of the write transactions span contexts under this split "
            f"(below {100 * threshold:.0f} %)"
        )
    return Verdict("split", share, contexts, threshold, reason)
