"""The access model: heartbeat shapes and ignored statements are kept out of it."""

from analysis.access import build_access
from analysis.workload import WorkloadBuilder

HEARTBEAT = "UPDATE users SET lastseen = now() WHERE id = 7"


def _workload(pairs):
    builder = WorkloadBuilder()
    for endpoint, sql in pairs:
        builder.add(endpoint, sql)
    return builder.build(None)


def _forum(heartbeat: bool = True):
    pages = [f"GET /page/{i}" for i in range(8)]
    pairs = [(p, f"SELECT * FROM topics t JOIN posts p ON p.topic_id = t.id WHERE t.id = {i}")
             for i, p in enumerate(pages)]  # fmt: skip
    pairs += [("POST /settings", "UPDATE users SET email = 'a@b' WHERE id = 1")]
    if heartbeat:
        pairs += [(p, HEARTBEAT) for p in [*pages, "POST /settings"]]
    return _workload(pairs)


def test_a_write_shape_most_endpoints_issue_is_a_heartbeat_kept_out_of_the_model():
    model = build_access(None, _forum())
    [heartbeat] = model.cross_cutting
    assert heartbeat.tables == ("users",)
    assert len(heartbeat.endpoints) == 9
    # users keeps its real writer only; the pages no longer touch it
    assert [e for e in model.endpoints if "users" in model.writes.get(e, {})] == ["POST /settings"]
    assert model.omnipresent == frozenset()  # users is updated: never omnipresent


def test_ignore_statements_drops_one_shape_not_the_table():
    model = build_access(None, _forum(), ignore_statements=("UPDATE users SET lastseen*",))
    assert model.cross_cutting == ()
    assert "users" in model.tables
    assert [e for e in model.endpoints if "users" in model.writes.get(e, {})] == ["POST /settings"]


def test_without_a_heartbeat_nothing_is_cross_cutting():
    assert build_access(None, _forum(heartbeat=False)).cross_cutting == ()
