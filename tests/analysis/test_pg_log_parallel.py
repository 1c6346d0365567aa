"""Reading a PostgreSQL log in several processes counts exactly what one process counts."""

import os
import random
import subprocess
import sys

import pytest

import analysis.sources.pg_log as pg_log
import analysis.sources.pg_log_blocks as pg_log_blocks
from analysis.errors import AnalysisError
from analysis.fingerprint import fingerprint
from analysis.sources.pg_log import PgLogReading, read_pg_log
from analysis.workload import WorkloadBuilder
from tests.analysis.helpers import assert_same_scans


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


_UNITS = ["app", "shop-web", "", " pad ", "a b", "x]y", "é", "app\u00a0", "]]", "LOG"]
_SQL = [
    "SELECT a FROM t WHERE id = 5",
    "SELECT 'it''s' , 3.5e2 FROM t1",
    "INSERT INTO t (a,b) VALUES (1, 'x'), (2, 'y')",
    "SELECT x::int -- c",
    "SELECT E'a', 'name'",
    "SELECT ' LOG:  x'",
    "SELECT 1 LOG:  statement: 2",
    "SELECT 'unterminated",
    "SELECT '٣', ٣",
    "",
]


def _odd_log(path, rng: random.Random, prefix: str, lines: int) -> None:
    """Mostly plain statement lines, with every kind of line the block reader must leave
    to the line reader mixed in at random."""
    with path.open("w", encoding="utf-8") as fh:
        for n in range(lines):
            head = (
                prefix.replace("%m", f"2026-12-01 10:00:00.{n % 1000:03d} UTC")
                .replace("%p", str(100 + n % 7))
                .replace("%a", rng.choice(_UNITS) if rng.random() < 0.1 else f"app_{n % 3}")
                .replace("%u", "usr")
            )
            sql = rng.choice(_SQL) + f" {n}"
            kind = rng.random()
            if kind < 0.85:
                fh.write(f"{head}LOG:  statement: SELECT a FROM t WHERE b = {n} AND c = 'v{n}'\n")
            else:
                fh.write(
                    rng.choice(
                        [
                            f"{head}LOG:  statement: {sql}\n",
                            f"{head}LOG:  duration: 0.{n % 1000:03d} ms\n",
                            f"{head}LOG:  duration: 1.5 ms  statement: {sql}\n",
                            f"{head}LOG:  duration: 1.5 ms  statement: \n",
                            f"{head}LOG:  execute <unnamed>: {sql}\n",
                            f"{head}ERROR:  boom\n",
                            "not a log line\n",
                            f"no prefix LOG:  statement: {sql}\n",
                            "\n",
                            f"{head}LOG:  statement: {sql}\n\tAND b = {n}\n",
                            f"{head}LOG:  statement: a\rb {n}\n",
                            f"{head}LOG:  statement: a\u2028b {n}\n",
                            f"{head}LOG:  LOG:  statement: x\n",
                            f"\tstray {n}\n",
                        ]
                    )
                )
        fh.write(f"{head}LOG:  statement: SELECT 'last line, no newline'")


@pytest.mark.parametrize(
    ("prefix", "key"),
    [
        ("%m [%p] %a ", "a"),
        ("%m [%p] %u ", "u"),
        ("%m <%p> %a ", "a"),
        ("%m %a ", "a"),
        ("<%a> ", "a"),
    ],
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_block_reader_reads_what_the_line_reader_reads(tmp_path, monkeypatch, prefix, key, seed):
    # The block reader (a few passes over 4 MiB at a time) must count, sample and locate
    # exactly as the line reader; blocks it cannot read exactly go to the line reader.
    log = tmp_path / "postgresql.log"
    _odd_log(log, random.Random(seed), prefix, 600)
    monkeypatch.setattr(pg_log, "_BLOCK", 700)  # many blocks, cut in many places
    used = []
    bulk = pg_log_blocks.BlockReader.bulk

    def counting(self, text):
        used.append(bulk(self, text))
        return used[-1]

    size = log.stat().st_size
    monkeypatch.setattr(pg_log_blocks.BlockReader, "bulk", counting)
    ranges = pg_log._chunks(log, size, 3)
    fast = [pg_log._scan(str(log), prefix, key, a, b) for a, b in ranges]
    monkeypatch.setattr(pg_log_blocks.BlockReader, "bulk", lambda self, text: False)
    slow = [pg_log._scan(str(log), prefix, key, a, b) for a, b in ranges]
    assert_same_scans(fast, slow)
    # a field not last in the prefix: every block is read line by line
    assert (True in used) == (prefix != "<%a> ")
    assert False in used


def test_a_plain_log_is_read_in_blocks(tmp_path, monkeypatch):
    log = tmp_path / "postgresql.log"
    _log(log, 0)
    with log.open("w") as fh:
        for n in range(2000):
            head = f"2026-12-01 10:00:00.000 UTC [{n % 9}] app_{n % 2} LOG:  "
            fh.write(f"{head}statement: SELECT * FROM t{n % 4} WHERE id = {n} AND b = 'x{n}'\n")
            fh.write(f"{head}duration: 0.{n % 1000:03d} ms\n")
    monkeypatch.setattr(pg_log, "_BLOCK", 4096)
    monkeypatch.setattr(pg_log_blocks.BlockReader, "lines", None)  # the line reader is not needed
    builder = WorkloadBuilder()
    assert read_pg_log(log, builder) == 2000
    assert builder.counts["app_1", "SELECT * FROM t1 WHERE id = ? AND b = ?"] == 500
    assert builder.sources["SELECT * FROM t0 WHERE id = ? AND b = ?"] == f"{log}:1"


def test_a_started_reading_reports_errors_when_finished_and_can_be_cancelled(tmp_path):
    missing = PgLogReading(tmp_path / "missing.log", "%m [%p] %a ", "a", 2)
    with pytest.raises(AnalysisError, match="no such file"):
        missing.finish(WorkloadBuilder())
    log = tmp_path / "postgresql.log"
    _log(log, 50)
    bad_prefix = PgLogReading(log, "%m [%p] ", "a", 2)
    with pytest.raises(AnalysisError, match="has no %a"):
        bad_prefix.finish(WorkloadBuilder())


def test_a_reading_started_in_processes_can_be_cancelled_at_once(tmp_path, monkeypatch):
    # cancelled right after it started (run() fails on a later input): the processes are
    # stopped and nothing hangs (a multiprocessing.Pool terminated that early could)
    log = tmp_path / "postgresql.log"
    _log(log, 400)
    monkeypatch.setattr(pg_log, "PARALLEL_MIN_BYTES", 1)
    for _ in range(20):
        reading = PgLogReading(log, "%m [%p] %a ", "a", 2)
        children = [child for child, _ in reading.children]
        assert len(children) == 2
        reading.cancel()
        assert reading.children == [] and not any(c.is_alive() for c in children)
        reading.cancel()  # twice: nothing left to stop
    finished = PgLogReading(log, "%m [%p] %a ", "a", 2)
    assert finished.finish(WorkloadBuilder()) == 400
    assert finished.children == []


def _held_after_the_first_block(monkeypatch, event) -> None:
    """Reading processes wait after their first block until `event` is set (by the
    parent's early parsing): the parent then surely parses while they read."""
    blocks = pg_log._blocks

    def held(path, start, end):
        for number, text in enumerate(blocks(path, start, end)):
            if number == 1:
                event.wait(60)
            yield text

    monkeypatch.setattr(pg_log, "_blocks", held)
    monkeypatch.setattr(pg_log, "_BLOCK", 2048)
    monkeypatch.setattr(pg_log, "PARALLEL_MIN_BYTES", 1)


def test_finish_hands_out_the_shapes_found_while_the_processes_still_read(tmp_path, monkeypatch):
    import multiprocessing

    log = tmp_path / "postgresql.log"
    _log(log, 400)
    parsed = multiprocessing.get_context("fork").Event()
    _held_after_the_first_block(monkeypatch, parsed)
    early: list[str] = []

    def parse(fp: str) -> None:
        early.append(fp)
        parsed.set()

    builder = WorkloadBuilder()
    assert PgLogReading(log, "%m [%p] %a ", "a", 2).finish(builder, parse) == 400
    assert early and len(early) == len(set(early)) and set(early) <= set(builder.samples)


def test_shapes_parsed_while_reading_make_the_same_workload(tmp_path, monkeypatch):
    import multiprocessing

    from analysis import statements
    from analysis.pipeline import Inputs, run

    log = tmp_path / "postgresql.log"
    _log(log, 400)
    alone = run(Inputs(pg_logs=(log,), jobs=1)).workload
    parsed = multiprocessing.get_context("fork").Event()
    _held_after_the_first_block(monkeypatch, parsed)
    described: list[str] = []
    real = statements.describe

    def counted(sql, dialect=None, fingerprint=None):
        described.append(sql)
        parsed.set()  # (the processes wait for the first one)
        return real(sql, dialect, fingerprint)

    monkeypatch.setattr(statements, "describe", counted)
    parallel = run(Inputs(pg_logs=(log,), jobs=2)).workload
    assert parallel == alone
    assert len(described) == len(alone.shapes)  # each shape parsed once, early or after


def test_an_error_in_a_reading_process_is_raised_by_finish(tmp_path, monkeypatch):
    log = tmp_path / "postgresql.log"
    _log(log, 400)
    monkeypatch.setattr(pg_log, "PARALLEL_MIN_BYTES", 1)

    def broken(*args):
        raise ValueError("cannot read")

    monkeypatch.setattr(pg_log, "_scan", broken)
    with pytest.raises(ValueError, match="cannot read"):
        PgLogReading(log, "%m [%p] %a ", "a", 2).finish(WorkloadBuilder())

    def dies(*args):
        os._exit(3)

    monkeypatch.setattr(pg_log, "_scan", dies)
    with pytest.raises(AnalysisError, match=r"ended without a result \(exit code 3\)"):
        PgLogReading(log, "%m [%p] %a ", "a", 2).finish(WorkloadBuilder())


def test_the_pipeline_imports_no_parser_or_graph_library_before_it_starts_reading():
    # analysis.pipeline.run starts the PostgreSQL log readers first, then imports sqlglot
    # and networkx while they read: importing what `strangler analyze` imports before
    # calling run must not pull them in (nor SQLAlchemy, needed for --db only).
    code = (
        "import sys, analysis.config, analysis.outputs, analysis.pipeline, analysis.report;"
        "print(sorted(m for m in ('networkx', 'sqlglot', 'sqlalchemy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_run_stops_the_log_readers_when_a_later_input_fails(tmp_path, monkeypatch):
    import multiprocessing

    from analysis.pipeline import Inputs, run, start

    log = tmp_path / "postgresql.log"
    _log(log, 400)
    bad = tmp_path / "overrides.toml"
    bad.write_text("nonsense = 1\n")
    monkeypatch.setattr(pg_log, "PARALLEL_MIN_BYTES", 1)
    with pytest.raises(AnalysisError, match="unknown key 'nonsense'"):
        run(Inputs(pg_logs=(log,), overrides=bad, jobs=2))
    assert multiprocessing.active_children() == []
    # and, read in two processes with another log after it, the run counts both
    second = tmp_path / "second.log"
    _log(second, 100)
    analysis = run(Inputs(pg_logs=(log, second), jobs=2))
    assert analysis.workload.total == 500
    assert multiprocessing.active_children() == []
    # started before run (the CLI: its progress display meanwhile), stopped by run
    inputs = Inputs(pg_logs=(log, second), jobs=2)
    started = start(inputs)
    assert started is not None and len(started.children) == 2
    assert run(inputs, started=started).workload == analysis.workload
    assert multiprocessing.active_children() == []
    with pytest.raises(AnalysisError, match="unknown key 'nonsense'"):
        run(Inputs(pg_logs=(log,), overrides=bad, jobs=2), started=start(inputs))
    assert multiprocessing.active_children() == []
