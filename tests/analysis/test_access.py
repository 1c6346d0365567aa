"""The access model: heartbeat shapes and ignored statements are kept out of it."""

import pytest

from analysis.access import build_access
from analysis.errors import AnalysisError
from analysis.overrides import read_overrides
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


def test_reassign_statements_moves_one_shape_to_the_unit_that_really_issues_it():
    moves = {"UPDATE users SET lastseen*": "middleware lastseen"}
    model = build_access(None, _forum(), reassign_statements=moves)
    assert model.cross_cutting == ()  # one unit issues it now: not a heartbeat any more
    writers = sorted(e for e in model.endpoints if "users" in model.writes.get(e, {}))
    assert writers == ["POST /settings", "middleware lastseen"]
    assert model.writes["middleware lastseen"]["users"] == 9  # every page's call, summed
    assert "users" not in model.writes.get("GET /page/0", {})


def test_reassign_statements_in_an_overrides_file_keeps_the_pattern_s_case(tmp_path):
    path = tmp_path / "o.toml"
    path.write_text('[reassign_statements]\n"UPDATE users SET lastseen*" = "middleware"\n')
    assert read_overrides(path).reassign_statements == {"UPDATE users SET lastseen*": "middleware"}
    path.write_text('[reassign_statements]\n"UPDATE users*" = 3\n')
    with pytest.raises(AnalysisError, match="reassign_statements must map statement patterns"):
        read_overrides(path)
