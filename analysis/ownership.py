"""Second pass after clustering: a table goes where the endpoints that write it live. Pure.

Co-access clustering binds tables that are *used* together; ownership is about who
*changes* them. A table whose every writing endpoint is routed to one context (and that
is not already there) is moved to it: a price table only product endpoints write belongs
with the products, however often read-only pages join it with something else. A table
whose rows are only ever created, never updated, is part of the aggregate it references:
when the commands that create its rows also create a row of exactly one table it
references (an order and its lines, in the checkout), it joins that table.

Endpoints are routed for this pass like in `contexts`, by what they write (distinct tables
first, executions second), with one weak extra signal: an HTTP endpoint whose URL names
a table it touches as its last literal path segment (`PATCH /api/products/<id>`,
`POST /api/carts/<id>/items` -> cart_items) addresses that table's aggregate, so it
belongs with that table even when it writes more rows elsewhere. Endpoints without a
path (a code unit, a pg application name) fall back to their writes only.

Then the opposite move (`detach_independent`): a table maintained by commands of its own
that other contexts only append to (an outbox, a notification queue) or delete from (a
parent's deletion cleaning up its rows) leaves its group for a context of its own, when
those other commands come from two or more groups. Clustering had to put it next to one
of them; none has a better claim than the commands that create or change its rows.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import networkx as nx

from analysis.access import AccessModel
from analysis.graph import name_tokens


def settle_by_writers(model: AccessModel, groups: list[frozenset[str]]) -> list[frozenset[str]]:
    """Move each table whose writers all route to one other group into that group."""
    omnipresent = model.omnipresent
    if not model.has_workload or len(groups) < 2:
        return groups
    home = {t: i for i, group in enumerate(groups) for t in group}
    addressed = {e: i for e in model.endpoints if (i := _addressed_home(model, e, home)) >= 0}
    routed = {e: i for e in model.endpoints if (i := _route(model, e, home, omnipresent)) >= 0}
    references: dict[str, set[str]] = defaultdict(set)
    for fk in model.foreign_keys:
        references[fk.table].add(fk.ref_table)
    moved = dict(home)
    for table in sorted(home):
        if table in omnipresent or len(groups[home[table]]) < 2:
            continue
        writers = [e for e in model.endpoints if model.writes.get(e, {}).get(table)]
        creators = [e for e in model.endpoints if model.creates.get(e, {}).get(table)]
        target = _unanimous(writers, addressed)
        if target is None and writers and set(creators) == set(writers):
            # rows only ever created, never updated: a part of the aggregate it references,
            # the parent created in the same commands if there is one (an order and its lines)
            born_with = {
                r
                for r in references[table]
                if r in home
                and r != table
                and all(model.creates.get(e, {}).get(r) for e in creators)
            }
            if len(born_with) == 1:
                target = home[born_with.pop()]
            else:
                target = _unanimous(creators, routed)
                if target is not None and not any(home.get(r) == target for r in references[table]):
                    target = None
        if target is not None and target != home[table]:
            moved[table] = target
    return _regroup(moved)


def _regroup(home: dict[str, int]) -> list[frozenset[str]]:
    parts: dict[int, set[str]] = defaultdict(set)
    for table, index in home.items():
        parts[index].add(table)
    return sorted((frozenset(p) for p in parts.values() if p), key=lambda c: (-len(c), min(c)))


def _path_tokens(endpoint: str) -> list[set[str]]:
    """Name tokens of an HTTP endpoint's literal path segments, or [] if it has no path."""
    method, _, path = endpoint.partition(" ")
    if not path.startswith("/") or not method.isalpha():
        return []
    return [
        name_tokens(s.replace("-", "_"))
        for s in path.strip("/").split("/")
        if s and not s.startswith(("<", "{", ":"))
    ]


def _naming(wanted: set[str], touched: set[str]) -> str:
    found = [t for t in touched if wanted and name_tokens(t) == wanted]
    return found[0] if len(found) == 1 else ""


def addressed_table(endpoint: str, touched: set[str]) -> str:
    """The table an HTTP endpoint's URL names as its resource, or '' (see module doc)."""
    literals = _path_tokens(endpoint)
    if not literals or not literals[-1]:
        return ""
    parent = literals[-2] if len(literals) > 1 else set()
    return _naming(literals[-1], touched) or _naming(parent | literals[-1], touched)


def resource_table(endpoint: str, touched: set[str]) -> str:
    """The table an HTTP endpoint acts on: the one its URL addresses, else the nearest path
    segment naming a touched table (`POST /api/orders/<id>/cancel` -> orders), or ''."""
    return addressed_table(endpoint, touched) or next(
        (t for wanted in reversed(_path_tokens(endpoint)) if (t := _naming(wanted, touched))), ""
    )


def _unanimous(endpoints: list[str], routes: dict[str, int]) -> int | None:
    targets = {routes.get(e, -1) for e in endpoints}
    return targets.pop() if len(targets) == 1 and -1 not in targets else None


def _addressed_home(model: AccessModel, endpoint: str, home: dict[str, int]) -> int:
    if not model.writes.get(endpoint):
        return -1
    addressed = addressed_table(endpoint, model.touched(endpoint) & set(home))
    return home[addressed] if addressed else -1


def _route(
    model: AccessModel, endpoint: str, home: dict[str, int], omnipresent: frozenset[str]
) -> int:
    written = {t: n for t, n in model.writes.get(endpoint, {}).items() if t in home}
    if not written:
        return -1
    for skip in (omnipresent, frozenset()):
        tables: dict[int, int] = defaultdict(int)
        executions: dict[int, int] = defaultdict(int)
        for table, count in written.items():
            if table not in skip:
                tables[home[table]] += 1
                executions[home[table]] += count
        if tables:
            return max(sorted(tables), key=lambda i: (tables[i], executions[i]))
    return -1


def detach_independent(model: AccessModel, groups: list[frozenset[str]]) -> list[frozenset[str]]:
    """Give each table that no other context maintains a context of its own (see docs)."""
    omnipresent = model.omnipresent
    home = {t: i for i, group in enumerate(groups) for t in group}
    if not model.has_workload:
        return groups
    moved = dict(home)
    fresh = itertools.count(len(groups))  # indexes of new groups
    for table in sorted(home):
        alone = table in omnipresent or len(groups[home[table]]) < 2
        if not alone and _independent(model, table, home, omnipresent):
            moved[table] = next(fresh)
    return _regroup(moved)


def _independent(
    model: AccessModel, table: str, home: dict[str, int], omnipresent: frozenset[str]
) -> bool:
    """Whether `table` is maintained by commands of its own and only tied to other contexts.

    Its own commands write nothing but it (and omnipresent tables) and at least one of them
    creates or updates rows; no other command updates it (others only append rows, like
    into an outbox, or delete them, like a parent's deletion cleaning up); and those other
    commands belong to two or more groups, so no one group has a better claim on it.
    """
    tables = set(home)
    writers = [e for e in model.endpoints if model.writes.get(e, {}).get(table)]
    resource = {e: resource_table(e, model.touched(e) & tables) for e in writers}
    # its own commands: writing nothing else, and not addressed to another resource
    # (`PATCH /api/products/<id>` changing only a price is a product command)
    own = {
        e
        for e in writers
        if set(model.writes[e]) - omnipresent == {table} and resource[e] in ("", table)
    }
    if not any(
        model.creates.get(e, {}).get(table) or model.updates.get(e, {}).get(table) for e in own
    ):
        return False
    # a command whose URL names the table is the table's own resource, never an outside tie
    others = [e for e in writers if e not in own and resource[e] != table]
    if any(model.updates.get(e, {}).get(table) for e in others):
        return False
    # where each of them belongs apart from its write to the table (else by its URL)
    rest = {t: i for t, i in home.items() if t != table}
    ties = set()
    for endpoint in others:
        group = _route(model, endpoint, rest, omnipresent)
        ties.add(group if group >= 0 else rest.get(resource[endpoint], -1))
    return len(ties - {-1}) >= 2


def place_reference_data(model: AccessModel, groups: list[frozenset[str]]) -> list[frozenset[str]]:
    """Put each table nothing writes (reference data) with the group whose endpoints read it
    most: by endpoints, then by executions; a tie keeps it where clustering put it. A group
    nothing writes (a read-only catalog) is a context of its own and stays whole."""
    if not model.has_workload or len(groups) < 2:
        return groups
    home = {t: i for i, group in enumerate(groups) for t in group}
    written = {t for per in model.writes.values() for t in per}
    moved = dict(home)
    for table in sorted(home):
        if table in written or table in model.omnipresent:
            continue
        members = groups[home[table]]
        if len(members) > 1 and not members & written:  # a read-only catalog stays whole
            continue
        rest = {t: i for t, i in home.items() if t != table}
        endpoints: dict[int, int] = defaultdict(int)
        executions: dict[int, int] = defaultdict(int)
        for endpoint in model.endpoints:
            count = model.reads.get(endpoint, {}).get(table, 0)
            group = _reader_home(model, endpoint, rest) if count else -1
            if group >= 0:
                endpoints[group] += 1
                executions[group] += count
        if endpoints:
            moved[table] = max(
                sorted(endpoints), key=lambda i: (endpoints[i], executions[i], i == home[table])
            )
    return _regroup(moved)


def _reader_home(model: AccessModel, endpoint: str, home: dict[str, int]) -> int:
    """The group an endpoint belongs to by what it writes, else by what else it reads."""
    group = _route(model, endpoint, home, model.omnipresent)
    if group >= 0:
        return group
    counts: dict[int, int] = defaultdict(int)
    for table, n in model.reads.get(endpoint, {}).items():
        if table in home and table not in model.cross_read:
            counts[home[table]] += n
    return max(sorted(counts), key=lambda i: counts[i]) if counts else -1


def merge_idle(
    model: AccessModel, graph: nx.Graph, groups: list[frozenset[str]]
) -> list[frozenset[str]]:
    """Merge each group no endpoint would be routed to into the group it is most tied to.

    A context without a single command or page of its own has no use case to extract: its
    tables are only ever used as part of other contexts' work (the buyers and payment
    methods an order checkout creates). Omnipresent tables and tables no endpoint uses
    are left where they are.
    """
    if not model.has_workload:
        return groups
    parts = list(groups)
    while len(parts) > 1:
        home = {t: i for i, group in enumerate(parts) for t in group}
        used = {_reader_home(model, e, home) for e in model.endpoints}
        accessed = model.accessed() - model.omnipresent
        idle = [i for i, g in enumerate(parts) if i not in used and g & accessed]
        if not idle:
            break
        index = idle[0]
        ties: dict[int, float] = defaultdict(float)
        for table in parts[index]:
            for neighbour, data in graph[table].items():
                if home.get(neighbour, index) != index:
                    ties[home[neighbour]] += data["weight"]
        if not ties:
            break
        target = max(sorted(ties), key=lambda i: ties[i])
        parts[target] = parts[target] | parts[index]
        del parts[index]
    return sorted(parts, key=lambda c: (-len(c), min(c)))
