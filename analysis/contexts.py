"""From communities to contexts: names, pins, endpoint routing and table ownership. Pure."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import networkx as nx

from analysis.access import AccessModel
from analysis.model import Context, TableInfo
from analysis.overrides import Overrides
from analysis.ownership import resource_table


@dataclass(frozen=True)
class Assignment:
    """The suggested split: contexts, each table's ownership, each endpoint's context."""

    contexts: tuple[Context, ...]
    tables: dict[str, TableInfo]
    endpoint_context: dict[str, str]
    table_context: dict[str, str]


def assign(
    model: AccessModel, graph: nx.Graph, groups: list[frozenset[str]], overrides: Overrides
) -> Assignment:
    """Name the groups, apply pins, route endpoints and find each table's owner."""
    table_context = _named(graph, groups, overrides)
    endpoint_context = {
        e: c for e in model.endpoints if (c := _endpoint_context(model, e, table_context))
    }
    tables = {
        t: _table_info(model, graph, t, table_context, endpoint_context) for t in model.tables
    }
    by_context: dict[str, list[str]] = defaultdict(list)
    for table, context in table_context.items():
        by_context[context].append(table)
    routed: dict[str, list[str]] = defaultdict(list)
    for endpoint, context in endpoint_context.items():
        routed[context].append(endpoint)
    contexts = tuple(
        Context(name, tuple(sorted(members)), tuple(sorted(routed.get(name, []))))
        for name, members in sorted(by_context.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    )
    return Assignment(contexts, tables, endpoint_context, table_context)


def _named(graph: nx.Graph, groups: list[frozenset[str]], overrides: Overrides) -> dict[str, str]:
    """Give every group a name (override, pin majority, or its most central table)."""
    table_context: dict[str, str] = {}
    used: set[str] = set()
    for group in groups:
        name = _group_name(graph, group, overrides, used)
        used.add(name)
        for table in group:
            table_context[table] = name
    for table, name in overrides.pin.items():
        if table in table_context:
            table_context[table] = name
    return table_context


def _group_name(
    graph: nx.Graph, group: frozenset[str], overrides: Overrides, used: set[str]
) -> str:
    for table in sorted(group):
        if table in overrides.names and overrides.names[table] not in used:
            return overrides.names[table]
    pins = sorted(overrides.pin[t] for t in group if t in overrides.pin)
    if pins:
        best = max(sorted(set(pins)), key=pins.count)
        if best not in used:
            return best
    # the context is named after its central table: most bound inside the group (own
    # use included), then in the whole graph; full table names, never a word fragment
    inner = graph.subgraph(group)
    central = sorted(
        group, key=lambda t: (-_weight_inside(inner, t), -graph.degree(t, weight="weight"), t)
    )
    for table in central:
        name = table.rpartition(".")[2]
        if name not in used:
            return name
    return central[0]


def _weight_inside(inner: nx.Graph, table: str) -> float:
    return float(inner.degree(table, weight="weight")) + float(inner.nodes[table].get("own", 0.0))


def _endpoint_context(model: AccessModel, endpoint: str, table_context: dict[str, str]) -> str:
    """The context owning most of what the endpoint writes (or reads, if it writes nothing).

    "Most" counts distinct tables first and executions second, so a checkout that updates
    one stock row per cart line still belongs with the orders it creates. A tie on tables
    goes to the context of the table the URL acts on (`resource_table`) before executions.
    Omnipresent tables (an audit log) decide only for endpoints that touch nothing else.
    """
    resource = table_context.get(resource_table(endpoint, model.touched(endpoint)), "")
    for volume in (model.writes.get(endpoint, {}), model.reads.get(endpoint, {})):
        for skip in (model.omnipresent, frozenset()):
            tables: dict[str, int] = defaultdict(int)
            executions: dict[str, int] = defaultdict(int)
            for table, count in volume.items():
                if table in table_context and table not in skip:
                    tables[table_context[table]] += 1
                    executions[table_context[table]] += count
            if tables:
                return max(sorted(tables), key=lambda c: (tables[c], c == resource, executions[c]))
    return ""


def _table_info(
    model: AccessModel,
    graph: nx.Graph,
    table: str,
    table_context: dict[str, str],
    endpoint_context: dict[str, str],
) -> TableInfo:
    readers = sorted(e for e in model.endpoints if model.reads.get(e, {}).get(table))
    writers = sorted(e for e in model.endpoints if model.writes.get(e, {}).get(table))
    updaters = [e for e in writers if model.updates.get(e, {}).get(table)]
    context = table_context[table]
    owner, confidence, basis = context, 0.0, "schema"
    by_writes = _tally(table, writers, model.writes, endpoint_context)
    # Changing existing rows is what an owner does; appending rows (an outbox, a ledger)
    # or deleting them along with a parent is weaker evidence, used when nobody updates.
    for name, (count, volume) in (
        ("updates", _tally(table, updaters, model.updates, endpoint_context)),
        ("writes", by_writes),
        ("reads", _tally(table, readers, model.reads, endpoint_context)),
    ):
        if count:
            # Most endpoints first (robust to the traffic mix); a tie goes to the context
            # the table was clustered into, then to executions.
            owner = max(sorted(count), key=lambda c: (count[c], c == context, volume[c]))
            confidence = _share(owner, count, volume)
            if name == "updates":  # the appending and deleting writers temper it
                confidence = (confidence + _share(owner, *by_writes)) / 2
            elif name == "reads":
                # never written: reference data, kept with the context reading it most
                owner, confidence, basis = (
                    context,
                    count.get(context, 0) / sum(count.values()),
                    "reference-data",
                )
                break
            basis = name
            break
    if basis == "schema":
        confidence = 0.5 * _inner_share(graph, table, table_context)
    return TableInfo(
        name=table,
        context=context,
        owner=owner,
        owner_confidence=round(confidence, 3),
        owner_basis=basis,
        readers=tuple(readers),
        writers=tuple(writers),
        shared=len(by_writes[0]) > 1,
    )


def _tally(
    table: str,
    users: list[str],
    volumes: dict[str, dict[str, int]],
    endpoint_context: dict[str, str],
) -> tuple[dict[str, int], dict[str, int]]:
    """Endpoints and executions per context among `users` of `table`."""
    count: dict[str, int] = defaultdict(int)
    volume: dict[str, int] = defaultdict(int)
    for endpoint in users:
        home = endpoint_context.get(endpoint, "")
        if home:
            count[home] += 1
            volume[home] += volumes[endpoint][table]
    return count, volume


def _share(owner: str, count: dict[str, int], volume: dict[str, int]) -> float:
    """The mean of the owner's share of endpoints and of executions."""
    return (count[owner] / sum(count.values()) + volume[owner] / sum(volume.values())) / 2


def _inner_share(graph: nx.Graph, table: str, table_context: dict[str, str]) -> float:
    """Share of a table's edge weight that stays inside its own context."""
    total = inner = 0.0
    for neighbour, data in graph[table].items():
        total += data["weight"]
        if table_context.get(neighbour) == table_context[table]:
            inner += data["weight"]
    return inner / total if total else 0.0
