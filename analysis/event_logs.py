"""A last pass over the groups: a group whose every command appends to another context's
event log belongs to that context. Pure.

An event store, a change history or a per-context outbox is an append-only table that
several commands of one context write: each command records what it did there in the
same transaction. Clustering can still cut such a context in two when one of its
aggregates is used by pages of its own (a calendar read with its sharers, a forum with
its posts): the smaller part then holds no log and every one of its commands appends to
the other part's. Those commands are the other context's use cases, so the part goes
back to it. A group with one command that does not append to the other's log keeps its
own context: that command is work of its own. Logs most commands write (omnipresent
tables, audit trails) say nothing and are left out.
"""

from __future__ import annotations

from collections import defaultdict

from analysis.access import AccessModel

# a table becomes a log from this many commands appending to it (one or two appending
# commands are as likely a parent's children created with it)
LOG_WRITERS = 3


def event_logs(model: AccessModel) -> frozenset[str]:
    """Append-only tables written by LOG_WRITERS or more commands (omnipresent ones aside)."""
    writers: dict[str, int] = defaultdict(int)
    only_appended: dict[str, bool] = defaultdict(lambda: True)
    for endpoint, written in model.writes.items():
        created = model.creates.get(endpoint, {})
        for table in written:
            writers[table] += 1
            only_appended[table] &= table in created and table not in model.updates.get(
                endpoint, {}
            )
    return frozenset(
        t
        for t, n in writers.items()
        if n >= LOG_WRITERS and only_appended[t] and t not in model.omnipresent
    )


def join_log_owners(model: AccessModel, groups: list[frozenset[str]]) -> list[frozenset[str]]:
    """Merge each group whose commands all append to one other group's log into it."""
    logs = event_logs(model)
    if not model.has_workload or not logs:
        return groups
    parts = list(groups)
    while len(parts) > 1:
        found = _dependent(model, parts, logs)
        if found is None:
            break
        index, target = found
        parts[target] = parts[target] | parts[index]
        del parts[index]
    return sorted(parts, key=lambda c: (-len(c), min(c)))


def _dependent(
    model: AccessModel, parts: list[frozenset[str]], logs: frozenset[str]
) -> tuple[int, int] | None:
    """The smallest group all of whose commands append to one other group's log, with
    that group, or None."""
    home = {t: i for i, group in enumerate(parts) for t in group}
    found: list[tuple[int, str, int, int]] = []
    for index, group in enumerate(parts):
        commands = [
            written
            for written in model.writes.values()
            if any(home.get(t) == index and t not in model.omnipresent for t in written)
        ]
        targets: set[int] | None = None
        for written in commands:
            appended = {home[t] for t in written if t in logs and home.get(t, index) != index}
            targets = appended if targets is None else targets & appended
        if targets:
            found.append((len(group), min(group), index, min(targets)))
    if not found:
        return None
    _, _, index, target = min(found)
    return index, target
