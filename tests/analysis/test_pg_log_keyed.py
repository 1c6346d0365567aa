"""The keyed block reader of a PostgreSQL log (one fingerprint per skeleton key, for logs
with inlined literals) reads exactly what the line reader reads."""

import random

import pytest

import analysis.sources.pg_log as pg_log
import analysis.sources.pg_log_blocks as pg_log_blocks
from analysis.sources.pg_log import read_pg_log
from analysis.workload import WorkloadBuilder
from tests.analysis.helpers import assert_same_scans

# Statements the keyed reader (BlockReader.keyed) must tell apart, or leave to others: names
# whose digits differ (one skeleton, several shapes), numbers beside strings and names,
# escaped quotes, digits in strings, markers of the tokenizer (casts, placeholders,
# comments holding quotes), prefixed strings, LOG inside a string, empty statements.
_KEYED_SQL = [
    "SELECT a.col_{d}, a.col_{e} FROM t{d} AS a WHERE a.id = {n} AND b = 'x''{n}'",
    "SELECT col_{d} FROM t_{e} WHERE x = {n}.5 AND y = {n}e3 AND z = '{n}'{n}",
    "INSERT INTO t{d} (c{d}, c{e}) VALUES ({n}, 'a{n}b'), ({n}, '')",
    "UPDATE t SET a{d} = -{n}, b = '{n}' || '' WHERE id IN ({n}, {n},{n})",
    "SELECT x::int{d} FROM t WHERE a = '{n}'",
    "SELECT * FROM t{d} WHERE a = $1 AND b = '{n}'",
    "SELECT 1 /* 'a */' */ '' FROM t{d}",  # the same line, strings emptied, as the next
    "SELECT 1 /* 'a*/c' */ '' FROM t{d}",  # but not the same statement
    "SELECT E'a{n}', e'{n}' FROM t{d}",
    "SELECT ' LOG:  statement: {n}' FROM t{d}",
    "SELECT 'it''s', '{n}' FROM t{d} -- done {n}",
    "SELECT {n}'{n}' FROM t{d}",
    "",
]
_KEYED_UNITS = ["app_{d}", "worker {d}", "w-{d}", "web", " pad {d} ", "x]y{d}", "1{d}"]


def _keyed_log(path, rng: random.Random, prefix: str, lines: int, odd: bool) -> None:
    """Statement lines the keyed reader reads (digits of names and attribution fields
    varying, literals fresh), durations and other LOG messages; with `odd`, lines it must
    leave to the other readers too (a quote in the head, an odd number of quotes, an
    execute message, another level)."""
    with path.open("w", encoding="utf-8") as fh:
        for n in range(lines):
            d, e = rng.choice("0123"), rng.choice(["1", "12", "7"])
            unit = rng.choice(_KEYED_UNITS).format(d=d)
            head = (
                prefix.replace("%m", f"2026-12-01 10:00:{n % 60:02d}.{n % 1000:03d} UTC")
                .replace("%p", str(rng.choice([7, 100, 12345])))
                .replace("%a", unit)
                .replace("%u", unit)
            )
            number = str(rng.randint(0, 10 ** rng.randint(1, 6)))
            sql = rng.choice(_KEYED_SQL).format(d=d, e=e, n=number)
            quoted = rng.choice(["it's", f"a'{d}'"])  # an attribution field with quotes
            kind = rng.random()
            if kind < 0.8:
                fh.write(f"{head}LOG:  statement: {sql}\n")
            elif kind < 0.9:
                fh.write(f"{head}LOG:  duration: {number}.{d}{e} ms\n")
            elif kind < 0.99 or not odd:
                fh.write(f"{head}LOG:  connection received: host=10.0.0.{d} port={number}\n")
            else:
                fh.write(
                    rng.choice(
                        [
                            f"{head.replace(unit, quoted)}LOG:  statement: {sql}\n",
                            f"{head}LOG:  statement: SELECT 'a{number}\n",
                            f"{head}LOG:  execute <unnamed>: {sql}\n",
                            f"{head}LOG:  duration: 1.5 ms  statement: {sql}\n",
                            f"{head}ERROR:  boom {number}\n",
                        ]
                    )
                )


@pytest.mark.parametrize(("prefix", "key"), [("%m [%p] %a ", "a"), ("%m %u ", "u")])
@pytest.mark.parametrize("odd", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_keyed_reader_reads_what_the_line_reader_reads(
    tmp_path, monkeypatch, prefix, key, odd, seed
):
    # Lines of one skeleton (the line, strings emptied, digits 0) with the same digits of
    # names and attribution field must have one fingerprint, read from the first of them;
    # counts, samples and where they were found must be what the line reader finds.
    log = tmp_path / "postgresql.log"
    _keyed_log(log, random.Random(seed), prefix, 3000, odd)
    monkeypatch.setattr(pg_log, "_BLOCK", 8192)
    monkeypatch.setattr(pg_log_blocks, "_NEW_KEYS_SHARE", 0)  # never too varied: keys, always
    monkeypatch.setattr(pg_log_blocks, "_KEYED_TRIES", 10**6)  # and it never stops trying
    used = []
    keyed = pg_log_blocks.BlockReader.keyed

    def counting(self, text):
        used.append(keyed(self, text))
        return used[-1]

    monkeypatch.setattr(pg_log_blocks.BlockReader, "keyed", counting)
    size = log.stat().st_size
    ranges = pg_log._chunks(log, size, 2)
    fast = [pg_log._scan(str(log), prefix, key, a, b) for a, b in ranges]
    monkeypatch.setattr(pg_log_blocks.BlockReader, "bulk", lambda self, text: False)
    slow = [pg_log._scan(str(log), prefix, key, a, b) for a, b in ranges]
    assert_same_scans(fast, slow)
    assert True in used
    assert (False in used) == odd
    # one skeleton, several shapes: the digits of names tell them apart
    shapes = set(fast[0].samples)
    assert {"SELECT a.col_0, a.col_1 FROM t0 AS a WHERE a.id = ? AND b = ?"} <= shapes


def _plain_log(path) -> None:
    with path.open("w") as fh:
        for n in range(6000):
            head = f"2026-12-01 10:00:00.{n % 1000:03d} UTC [{n % 9}] app_{n % 2} LOG:  "
            fh.write(f"{head}statement: SELECT * FROM t{n % 4} WHERE id = {n} AND b = 'x{n}'\n")
            fh.write(f"{head}duration: 0.{n % 1000:03d} ms\n")


def test_the_keyed_reader_reads_a_plain_log_by_keys_and_learns_its_shapes_once(
    tmp_path, monkeypatch
):
    log = tmp_path / "postgresql.log"
    _plain_log(log)
    monkeypatch.setattr(pg_log, "_BLOCK", 64 * 1024)
    monkeypatch.setattr(pg_log_blocks.BlockReader, "lines", None)  # the line reader is not needed
    monkeypatch.setattr(pg_log_blocks, "fingerprint_many", None)  # nor the other block passes
    made = []
    fingerprint_of = pg_log_blocks.fingerprint
    monkeypatch.setattr(
        pg_log_blocks, "fingerprint", lambda sql: made.append(sql) or fingerprint_of(sql)
    )
    builder = WorkloadBuilder()
    assert read_pg_log(log, builder) == 6000
    assert builder.counts["app_1", "SELECT * FROM t1 WHERE id = ? AND b = ?"] == 1500
    assert builder.sources["SELECT * FROM t0 WHERE id = ? AND b = ?"] == f"{log}:1"
    # a fingerprint per key (skeleton, digits of names and of the application name), not
    # per line: 4 tables x 2 applications x the lengths of the id
    assert len(made) <= 4 * 2 * 4


def test_the_keyed_reader_forgets_keys_beyond_its_limit(tmp_path, monkeypatch):
    # 9 keys per length of the id (8 statements, the durations): a block with ids one
    # digit longer knows 9 and meets 9 new ones, past the limit of 12
    log = tmp_path / "postgresql.log"
    _plain_log(log)
    monkeypatch.setattr(pg_log, "_BLOCK", 4096)
    monkeypatch.setattr(pg_log_blocks, "_NEW_KEYS_SHARE", 0)
    monkeypatch.setattr(pg_log_blocks, "_KEY_LIMIT", 12)
    size = log.stat().st_size
    fast = pg_log._scan(str(log), "%m [%p] %a ", "a", 0, size)
    monkeypatch.setattr(pg_log_blocks.BlockReader, "bulk", lambda self, text: False)
    slow = pg_log._scan(str(log), "%m [%p] %a ", "a", 0, size)
    assert list(fast.counts.items()) == list(slow.counts.items())
    assert list(fast.sources.items()) == list(slow.sources.items())


def test_the_keyed_reader_leaves_quoted_attribution_fields_to_the_line_reader(
    tmp_path, monkeypatch
):
    # 'a'1'' and 'a'2'' are one skeleton once strings are emptied: read by keys, the
    # second would count as the first
    log = tmp_path / "postgresql.log"
    with log.open("w") as fh:
        for n in range(400):
            head = f"2026-12-01 10:00:00.000 UTC [7] a'{n % 2}' LOG:  "
            fh.write(f"{head}statement: SELECT * FROM t WHERE id = {n}\n")
    monkeypatch.setattr(pg_log_blocks, "_NEW_KEYS_SHARE", 0)
    builder = WorkloadBuilder()
    assert read_pg_log(log, builder) == 400
    assert builder.counts["a'1'", "SELECT * FROM t WHERE id = ?"] == 200
