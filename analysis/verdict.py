"""Whether to split at all: how much of the schema a command touches, and the share of
write transactions the best split would cut. Pure.

A split pays off when most commands stay inside one context. Two measures say when they
cannot:

- **Command coverage**: the mean share of the workload's tables (omnipresent ones aside)
  that each command (an endpoint that writes) reads or writes. When the typical command
  uses half the schema or more, no split leaves any command alone: the workload is one
  context (pgbench's commands touch 75 % of its tables, SmallBank's 80 %, TPC-C's
  59 % of nine). On the positive workloads of the
  corpus commands touch 9-47 % of the tables, on its negative controls 50-100 %.
- **Spanning write share**: under the best split the clustering found, the share of the
  write transactions (endpoint calls that write) that would have to write in two or more
  contexts. When most of them would (two in three by default), every one would become a
  distributed transaction or a saga. Monoliths do get split with many such transactions
  (FTGO's order creation writes the order, kitchen, accounting and delivery tables at
  once; its published split turns that into a saga), so this threshold is high.

The analyzer sees statements, not transactions: an endpoint's calls are estimated by its
most executed statement shape (each call runs it at least once), and a call "spans" when
the tables the endpoint writes (cross-cutting writes and omnipresent tables aside) lie in
two or more contexts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from analysis.access import AccessModel

ONE_CONTEXT_SHARE = 0.67
ONE_CONTEXT_COVERAGE = 0.5


@dataclass(frozen=True)
class Verdict:
    """`split` or `one-context`, with the evidence."""

    kind: str
    spanning_write_share: float | None  # of write calls, under the best split found
    best_split_contexts: int
    threshold: float
    reason: str
    command_coverage: float | None = None  # mean share of the tables a command touches
    coverage_threshold: float = ONE_CONTEXT_COVERAGE


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


def command_coverage(model: AccessModel) -> float | None:
    """Mean share of the used tables (omnipresent ones aside) each command touches.

    A command is an endpoint that writes a table that is not omnipresent; it counts once,
    whatever its traffic. None without a workload or without commands.
    """
    used = {t for t in model.accessed() if t not in model.omnipresent}
    shares = [
        len(model.touched(endpoint) & used) / len(used)
        for endpoint, written in model.writes.items()
        if set(written) - model.omnipresent
    ]
    if not model.has_workload or not shares:
        return None
    return sum(shares) / len(shares)


def judge(
    model: AccessModel,
    table_context: Mapping[str, str],
    threshold: float = ONE_CONTEXT_SHARE,
    coverage_threshold: float = ONE_CONTEXT_COVERAGE,
) -> Verdict:
    """The verdict on the best split found (`table_context`)."""
    contexts = len(set(table_context.values()))
    share = spanning_write_share(model, table_context) if model.has_workload else None
    coverage = command_coverage(model)

    def verdict(kind: str, reason: str) -> Verdict:
        return Verdict(kind, share, contexts, threshold, reason, coverage, coverage_threshold)

    spanning = (
        ""
        if share is None
        else f"{100 * share:.0f} % of the write transactions would write in two or more contexts"
    )
    if contexts < 2:
        reason = "the clustering found no split: every table is used with the others"
        if coverage is not None:
            reason += (
                f" (the commands each touch {100 * coverage:.0f} % of the tables on average;"
                " with one context no write transactions span contexts)"
            )
        return verdict("one-context", reason)
    if coverage is not None and coverage >= coverage_threshold:
        reason = (
            f"the commands (endpoints that write) each touch {100 * coverage:.0f} % of the "
            f"tables on average (threshold {100 * coverage_threshold:.0f} %): no split leaves "
            f"them alone; under the best split found ({contexts} contexts) {spanning}: keep "
            "it one context"
        )
        return verdict("one-context", reason)
    if share is not None and share >= threshold:
        reason = (
            f"under the best split found ({contexts} contexts) {spanning} (threshold "
            f"{100 * threshold:.0f} %): keep it one context"
        )
        return verdict("one-context", reason)
    if not model.has_workload:
        return verdict("split", "no workload: the split comes from the schema only")
    if share is None:
        return verdict("split", "the workload writes nothing: the split comes from its reads")
    reason = (
        f"{100 * share:.0f} % of the write transactions span contexts under this split "
        f"(below {100 * threshold:.0f} %); commands touch {100 * (coverage or 0):.0f} % of "
        f"the tables on average (below {100 * coverage_threshold:.0f} %)"
    )
    return verdict("split", reason)
