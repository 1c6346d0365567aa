import json
from pathlib import Path

import pytest

from analysis.errors import AnalysisError
from analysis.sources.attribution_log import read_attribution_log
from analysis.sources.pg_log import read_pg_log
from analysis.sources.pg_stat import read_pg_stat_statements
from analysis.sources.sql_dir import read_sql_dir
from analysis.workload import WorkloadBuilder


def _log(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _record(endpoint: str, sql: str) -> str:
    return json.dumps({"ts": "2026-11-26T10:00:00Z", "endpoint": endpoint, "sql": sql})


def test_attribution_log_counts_each_shape_once_per_endpoint(tmp_path):
    log = _log(
        tmp_path / "sql.jsonl",
        _record("GET /a", "SELECT * FROM t WHERE id = 1"),
        _record("GET /a", "SELECT * FROM t WHERE id = 2"),
        _record("GET /b", "SELECT * FROM t WHERE id = ?"),
    )
    builder = WorkloadBuilder()
    assert read_attribution_log(log, builder) == 3
    workload = builder.build(None)
    assert workload.total == 3
    assert len(workload.shapes) == 1
    assert {(o.endpoint, o.count) for o in workload.observations} == {("GET /a", 2), ("GET /b", 1)}


def test_malformed_lines_are_counted_and_skipped_and_the_run_continues(tmp_path):
    log = _log(
        tmp_path / "sql.jsonl",
        "not json at all",
        json.dumps({"endpoint": "GET /a"}),
        json.dumps({"endpoint": "GET /a", "sql": 5}),
        "[1, 2]",
        "",
        _record("GET /a", "SELECT * FROM t"),
    )
    builder = WorkloadBuilder()
    assert read_attribution_log(log, builder) == 1
    workload = builder.build(None)
    assert workload.lines_malformed == 4
    assert workload.malformed_examples[0].endswith(":1: not JSON (Expecting value)")
    assert "missing 'sql'" in workload.malformed_examples[1]
    assert "'sql' is not a string" in workload.malformed_examples[2]
    assert "not a JSON object" in workload.malformed_examples[3]


def test_unparseable_statements_are_counted_with_the_parsers_reason(tmp_path):
    log = _log(
        tmp_path / "sql.jsonl",
        _record("GET /a", "SELEC broken FROM"),
        _record("GET /a", "SELEC broken FROM"),
        _record("GET /a", "SELECT * FROM t"),
    )
    builder = WorkloadBuilder()
    read_attribution_log(log, builder)
    workload = builder.build(None)
    assert workload.unparsed_count == 2
    assert workload.unparsed_shapes == 1
    assert workload.unparsed[0].source.endswith("sql.jsonl:1")
    assert "Unexpected token" in workload.unparsed[0].reason


def test_empty_missing_and_all_malformed_logs_are_clear_errors(tmp_path):
    with pytest.raises(AnalysisError, match="no such file"):
        read_attribution_log(tmp_path / "nope.jsonl", WorkloadBuilder())
    with pytest.raises(AnalysisError, match="empty"):
        read_attribution_log(_log(tmp_path / "e.jsonl"), WorkloadBuilder())
    with pytest.raises(AnalysisError, match=r"no statement records in 2 lines \(.*:1: not JSON"):
        read_attribution_log(_log(tmp_path / "b.jsonl", "x", "y"), WorkloadBuilder())


def test_sql_dir_makes_each_file_a_code_unit(tmp_path):
    (tmp_path / "orders").mkdir()
    (tmp_path / "orders" / "checkout.sql").write_text(
        "UPDATE stock SET qty = qty - :n WHERE id = :id;\nINSERT INTO orders (id) VALUES (:id);"
    )
    builder = WorkloadBuilder()
    assert read_sql_dir(tmp_path, builder, None) == 2
    workload = builder.build(None)
    assert {o.endpoint for o in workload.observations} == {"orders/checkout"}
    with pytest.raises(AnalysisError, match="no such folder"):
        read_sql_dir(tmp_path / "nothing", WorkloadBuilder(), None)
    (tmp_path / "empty").mkdir()
    with pytest.raises(AnalysisError, match=r"no \.sql files"):
        read_sql_dir(tmp_path / "empty", WorkloadBuilder(), None)


def test_postgres_stderr_log_is_attributed_by_application_name(tmp_path):
    log = _log(
        tmp_path / "postgresql.log",
        "2026-11-26 10:00:00.001 UTC [101] shop-web LOG:  statement: SELECT * FROM orders",
        "\tWHERE id = 5",
        "2026-11-26 10:00:00.002 UTC [101] shop-web LOG:  duration: 0.2 ms  statement: SELECT 1",
        "2026-11-26 10:00:00.003 UTC [102] shop-batch LOG:  execute <unnamed>: "
        "UPDATE stock SET qty = $1 WHERE id = $2",
        "2026-11-26 10:00:00.004 UTC [102] shop-batch DETAIL:  parameters: $1 = '3', $2 = '9'",
        '2026-11-26 10:00:00.005 UTC [103] shop-web ERROR:  relation "x" does not exist',
        "garbage line",
    )
    builder = WorkloadBuilder()
    assert read_pg_log(log, builder, "%m [%p] %a ") == 3
    workload = builder.build("postgres")
    by_unit = {(o.endpoint, o.fingerprint) for o in workload.observations}
    assert ("shop-web", "SELECT * FROM orders WHERE id = ?") in by_unit
    assert ("shop-batch", "UPDATE stock SET qty = ? WHERE id = ?") in by_unit
    assert workload.lines_malformed == 1


def test_postgres_log_prefix_without_the_attribution_field_is_a_clear_error(tmp_path):
    log = _log(tmp_path / "pg.log", "2026-11-26 10:00:00 UTC [1] LOG:  statement: SELECT 1")
    with pytest.raises(AnalysisError, match="has no %a"):
        read_pg_log(log, WorkloadBuilder(), "%m [%p] ")
    builder = WorkloadBuilder()
    assert read_pg_log(log, builder, "%m [%p] ", attribute_by="p") == 1


def test_postgres_csvlog_is_attributed_by_application_name(tmp_path):
    def row(message: str, app: str, level: str = "LOG") -> list[str]:
        cells = [""] * 26
        cells[0], cells[11], cells[13], cells[22] = "2026-11-26 10:00:00 UTC", level, message, app
        return cells

    import csv

    path = tmp_path / "postgresql.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(row("statement: SELECT *\nFROM carts WHERE id = 1", "cart-svc"))
        writer.writerow(row("connection authorized: user=x", "cart-svc"))
        writer.writerow(row("statement: DELETE FROM carts WHERE id = 2", "cart-svc", "LOG"))
        writer.writerow(["too", "short"])
    builder = WorkloadBuilder()
    assert read_pg_log(path, builder) == 2
    workload = builder.build("postgres")
    assert {o.endpoint for o in workload.observations} == {"cart-svc"}
    assert workload.lines_malformed == 1


def test_pg_stat_statements_csv_and_json_weigh_by_calls(tmp_path):
    csv_file = tmp_path / "pgss.csv"
    csv_file.write_text(
        'queryid,query,calls\n1,"SELECT * FROM a JOIN b ON a.id = b.a_id WHERE a.id = $1",40\n'
        "2,UPDATE a SET x = $1,notanumber\n"
    )
    builder = WorkloadBuilder()
    assert read_pg_stat_statements(csv_file, builder) == 1
    workload = builder.build("postgres")
    assert workload.observations[0].count == 40
    assert workload.lines_malformed == 1
    json_file = tmp_path / "pgss.json"
    json_file.write_text(json.dumps([{"query": "SELECT * FROM a", "calls": 3}]))
    builder = WorkloadBuilder()
    assert read_pg_stat_statements(json_file, builder) == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("q,c\nx,1\n")
    with pytest.raises(AnalysisError, match="needs 'query' and 'calls'"):
        read_pg_stat_statements(bad, WorkloadBuilder())
