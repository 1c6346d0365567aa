"""The event-log pass: a group whose every command appends to another context's log goes
back to that context; a group with a command of its own stays."""

from analysis.access import AccessModel
from analysis.event_logs import event_logs, join_log_owners


def _model(commands: dict[str, dict[str, str]]) -> AccessModel:
    """`commands`: endpoint -> {table: "i" (insert) | "u" (update)}."""
    writes = {e: dict.fromkeys(ops, 1) for e, ops in commands.items()}
    creates = {e: {t: 1 for t, op in ops.items() if op == "i"} for e, ops in commands.items()}
    updates = {e: {t: 1 for t, op in ops.items() if op == "u"} for e, ops in commands.items()}
    return AccessModel(
        tables=tuple(sorted({t for ops in commands.values() for t in ops})),
        endpoints=tuple(sorted(commands)),
        writes=writes,
        reads={},
        creates=creates,
        updates=updates,
        has_workload=True,
    )


# a collaboration context with its event store, one of its aggregates (calendars) used by
# pages of its own; identity apart, without the log
COLLABORATION = {
    "start-forum": {"forums": "i", "event_store": "i"},
    "post": {"posts": "i", "forums": "u", "event_store": "i"},
    "create-calendar": {"calendars": "i", "sharers": "i", "event_store": "i"},
    "share-calendar": {"sharers": "i", "event_store": "i"},
    "register": {"users": "i", "tenants": "u"},
}
GROUPS = [
    frozenset({"forums", "posts", "event_store"}),
    frozenset({"calendars", "sharers"}),
    frozenset({"users", "tenants"}),
]


def test_an_append_only_table_several_commands_write_is_a_log():
    model = _model(COLLABORATION)
    assert event_logs(model) == {"event_store"}
    # updated rows are an aggregate's, not a log's
    updated = {**COLLABORATION, "fix": {"event_store": "u"}}
    assert event_logs(_model(updated)) == frozenset()


def test_a_group_whose_commands_all_append_to_anothers_log_joins_it():
    joined = join_log_owners(_model(COLLABORATION), GROUPS)
    assert joined == [
        frozenset({"forums", "posts", "event_store", "calendars", "sharers"}),
        frozenset({"users", "tenants"}),
    ]


def test_one_command_of_its_own_keeps_the_group():
    own = {**COLLABORATION, "rename-calendar": {"calendars": "u"}}
    assert join_log_owners(_model(own), GROUPS) == sorted(GROUPS, key=lambda g: (-len(g), min(g)))


def test_a_log_most_commands_write_says_nothing():
    # an audit trail every command appends to is omnipresent: no group joins its holder
    audited = {e: {**ops, "audit": "i"} for e, ops in COLLABORATION.items()}
    model = _model(audited)
    model = AccessModel(**{**model.__dict__, "omnipresent": frozenset({"audit"})})
    groups = [GROUPS[0], GROUPS[1], GROUPS[2] | {"audit"}]
    assert "audit" not in event_logs(model)
    assert len(join_log_owners(model, groups)) == 2  # calendars still join the forums
