"""Reading a PostgreSQL log in several processes counts exactly what one process counts."""

import pytest

import analysis.sources.pg_log as pg_log
from analysis.fingerprint import fingerprint
from analysis.sources.pg_log import read_pg_log
from analysis.workload import WorkloadBuilder


def _log(path, statements: int) -> None:
    """Inlined literals, durations, an ERROR line, a malformed line and continuations."""
    with path.open("w") as fh:
        for n in range(statements):
            head = f"2026-12-01 10:00:{n % 60:02d}.000 UTC [{100 + n % 7}] app_{n % 3} "
            if n % 5 == 0:  # a statement continued on tab-indented lines
                fh.write(f"{head}LOG:  statement: UPDATE t{n % 4} SET a = {n}\n\tWHERE id = {n}\n")
            else:
                fh.write(f"{head}LOG:  statement: SELECT * FROM t{n % 4} WHERE b = '{n}'\n")
            if n % 9 == 0:
                fh.write(f"{head}LOG:  duration: 0.{n:03d} ms\n")
            if n == 50:
                fh.write(f"{head}ERROR:  relation does not exist\n")
                fh.write("not a log line at all\n")


@pytest.mark.parametrize("jobs", [2, 3, 7])
def test_parallel_reading_counts_what_one_process_counts(tmp_path, monkeypatch, jobs):
    log = tmp_path / "postgresql.log"
    _log(log, 400)
    one = WorkloadBuilder()
    assert read_pg_log(log, one, jobs=1) == 400
    monkeypatch.setattr(pg_log, "PARALLEL_MIN_BYTES", 1)  # split even a small file
    many = WorkloadBuilder()
    assert read_pg_log(log, many, jobs=jobs) == 400
    assert many.counts == one.counts
    assert many.total == one.total == 400
    assert set(many.samples) == set(one.samples)
    assert many.malformed == one.malformed == 1
    assert ("app_0", "UPDATE t0 SET a = ? WHERE id = ?") in many.counts


def test_the_quick_fingerprint_path_agrees_with_the_tokenizer():
    # no placeholder or comment: strings and numbers replaced without the tokenizer
    assert fingerprint("SELECT a FROM t WHERE b = 'it''s' AND c IN (1, 2,3) LIMIT 10") == (
        "SELECT a FROM t WHERE b = ? AND c IN(?) LIMIT ?"
    )
    # the same statement with a comment goes through the tokenizer and ends the same
    assert (
        fingerprint("SELECT a FROM t /* x */ WHERE b = 'it''s' AND c IN (1, 2,3) LIMIT 10")
        == "SELECT a FROM t WHERE b = ? AND c IN(?) LIMIT ?"
    )
    assert fingerprint("select t1.c2 from t1 where x = E'a\\n' and y = 1.5e3") == (
        "select t1.c2 from t1 where x = ? and y = ?"
    )
