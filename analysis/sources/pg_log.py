"""PostgreSQL server logs written with log_statement=all: stderr format or csvlog.

Statements are attributed to a code unit by one field of each line: by default the
application name (`%a`, which a service sets with `application_name=` in its DSN),
or any other `log_line_prefix` escape such as `%u` (user) or `%d` (database).

Here, the reading of a log (PgLogReading): a csvlog, or a stderr log's byte ranges, each
in a process of its own when the log is large, each range in blocks of whole lines. The
lines are parsed in pg_log_lines; pg_log_blocks reads most blocks in a few passes.
"""

from __future__ import annotations

import csv
import multiprocessing
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import cast

from analysis.errors import AnalysisError
from analysis.sources.pg_log_blocks import BlockReader
from analysis.sources.pg_log_lines import (
    STATEMENT_MESSAGE,
    Part,
    field_literal,
    prefix_pattern,
    unit_reader,
)
from analysis.workload import WorkloadBuilder

DEFAULT_PREFIX = "%m [%p] %a "
# below this many bytes per process, starting processes costs more than it saves
PARALLEL_MIN_BYTES = 16 * 1024 * 1024
# csvlog column positions (PostgreSQL 13+ adds columns at the end, never in between).
_CSV_COLUMNS = {"a": 22, "u": 1, "d": 2, "p": 3, "h": 4, "r": 4, "c": 5, "b": 23}
_CSV_MESSAGE = 13
_BLOCK = 4 * 1024 * 1024  # a stderr log's bytes read at a time (then cut at a whole line)


def read_pg_log(
    path: Path,
    builder: WorkloadBuilder,
    prefix: str = DEFAULT_PREFIX,
    attribute_by: str = "a",
    jobs: int = 1,
) -> int:
    """Add every logged statement to `builder`; return how many were read.

    A large stderr log is read by up to `jobs` processes, each fingerprinting and counting
    its own byte range (statements with inlined literals make fingerprinting the cost).
    """
    return PgLogReading(path, prefix, attribute_by, jobs).finish(builder)


class PgLogReading:
    """A log being read: a large stderr log's reading processes start at once, in the
    background; `finish` waits for them and adds what they read (or reads a small log, or
    a csvlog, itself). Errors (a missing file, a prefix without the field) are raised by
    `finish`, in the order the caller finishes its inputs.

    One forked process per byte range, each sending its counts back through its own pipe
    (not a multiprocessing.Pool: terminating a Pool right after giving it work can
    deadlock on its task queue's lock, and `cancel` must always be safe).
    """

    def __init__(self, path: Path, prefix: str, attribute_by: str, jobs: int) -> None:
        self.path, self.prefix, self.key = path, prefix, attribute_by.lstrip("%")
        self.ranges: list[tuple[int, int]] = []
        self.children: list[tuple[BaseProcess, Connection]] = []
        if not path.is_file() or path.suffix.lower() == ".csv":
            return
        try:
            prefix_pattern(prefix, self.key)
        except AnalysisError:
            return  # raised again by finish
        size = path.stat().st_size
        jobs = max(1, min(jobs, size // PARALLEL_MIN_BYTES))
        self.ranges = _chunks(path, size, jobs)
        if len(self.ranges) > 1:
            # each process reads its own byte range of the file; only the counts come back
            context = multiprocessing.get_context("fork")
            for start, end in self.ranges:
                receiver, sender = context.Pipe(duplex=False)
                args = (sender, str(path), prefix, self.key, start, end)
                child = context.Process(target=_read_range, args=args, daemon=True)
                child.start()
                sender.close()
                self.children.append((child, receiver))

    def finish(self, builder: WorkloadBuilder, early: Callable[[str], object] | None = None) -> int:
        """Add every logged statement to `builder`; return how many were read.

        While reading processes still read, `early` is called with the fingerprint of each
        shape they have found so far (their first block's), one at a time (the pipeline
        parses them meanwhile, not after the reading)."""
        path = self.path
        if not path.is_file():
            raise AnalysisError(f"--pg-log {path}: no such file")
        if path.suffix.lower() == ".csv":
            return _read_csv(path, builder, self.key)
        prefix_pattern(self.prefix, self.key)  # a prefix without the field: a clear error
        try:
            if self.children:
                parts = self._results(early)
            else:
                parts = [_scan(str(path), self.prefix, self.key, *r) for r in self.ranges]
        finally:
            self.cancel()
        count = 0
        for part in parts:
            count += part.statements
            builder.merge(part.counts, part.samples, part.sources)
            for where, reason in part.rejected:
                builder.reject(where, reason)
            builder.malformed += part.malformed - len(part.rejected)
        if count == 0:
            raise AnalysisError(
                f"--pg-log {path}: no logged statements (is log_statement=all set?)"
            )
        return count

    def _results(self, early: Callable[[str], object] | None) -> list[Part]:
        """What every reading process found, in the order of their ranges; meanwhile,
        `early` on each new fingerprint they announced, while any of them still reads."""
        waiting = {receiver: child for child, receiver in self.children}
        found: dict[Connection, Part] = {}
        queue: list[str] = []
        announced: set[str] = set()
        while waiting:
            pending = bool(queue) and early is not None
            ready = cast(list[Connection], wait(list(waiting), timeout=0 if pending else None))
            for receiver in ready:
                message = self._receive(waiting[receiver], receiver)
                if isinstance(message, Part):
                    found[receiver] = message
                    del waiting[receiver]
                else:  # the shapes of its first block
                    queue.extend(fp for fp in message if fp not in announced)
                    announced.update(message)
            if pending and waiting and early is not None:
                early(queue.pop(0))  # one at a time: then the pipes again
        return [found[receiver] for _, receiver in self.children]

    def _receive(self, child: BaseProcess, receiver: Connection) -> Part | list[str]:
        try:
            found = receiver.recv()
        except EOFError:  # it died without sending anything (killed, out of memory)
            child.join()
            raise AnalysisError(
                f"--pg-log {self.path}: a reading process ended without a result "
                f"(exit code {child.exitcode})"
            ) from None
        if isinstance(found, BaseException):
            raise found
        return cast(Part | list[str], found)

    def cancel(self) -> None:
        """Stop the reading processes, if any are left (finished, or not wanted)."""
        for child, receiver in self.children:
            receiver.close()
            if child.is_alive():
                child.kill()
            child.join()
        self.children = []


def _read_range(sender: Connection, path: str, prefix: str, key: str, start: int, end: int) -> None:
    """In a reading process: scan one byte range, send the counts (or the error) back;
    before them, the fingerprints of the shapes its first block holds."""
    try:
        found: object = _scan(path, prefix, key, start, end, sender.send)
    except Exception as exc:  # raised by the parent's finish
        found = exc
    try:
        sender.send(found)
    except Exception as exc:  # an error that does not pickle: its text then
        sender.send(AnalysisError(f"--pg-log {path}: {type(exc).__name__}: {found}"))
    sender.close()


def _chunks(path: Path, size: int, jobs: int) -> list[tuple[int, int]]:
    """Split the file into `jobs` byte ranges, each starting at a line that is not a
    continuation (a tab-indented line belongs to the statement before it)."""
    starts = [0]
    with path.open("rb") as handle:
        for i in range(1, jobs):
            handle.seek(size * i // jobs)
            handle.readline()  # the rest of a line cut in two
            while True:
                offset = handle.tell()
                line = handle.readline()
                if not line or not line.startswith(b"\t"):
                    break
            if starts[-1] < offset < size:
                starts.append(offset)
    return list(zip(starts, [*starts[1:], size], strict=True))


def _scan(
    path: str,
    prefix: str,
    key: str,
    start: int,
    end: int,
    announce: Callable[[list[str]], object] | None = None,
) -> Part:
    """Fingerprint and count every statement in bytes [start, end) of a stderr log; after
    the first block with statements, `announce` the fingerprints found so far."""
    pattern = prefix_pattern(prefix, key)
    literal = field_literal(prefix, key)
    reader = BlockReader(path, start, pattern, unit_reader(prefix, key, pattern), literal)
    samples = reader.part.samples
    for text in _blocks(path, start, end):
        if not reader.bulk(text):
            reader.lines(text.splitlines())
        if announce is not None and samples:
            announce(list(samples))
            announce = None
    return reader.part


def _blocks(path: str, start: int, end: int) -> Iterator[str]:
    """The lines starting in bytes [start, end), read in large blocks of whole lines; a
    block ends before a line that does not start with a tab (a continuation line stays in
    the block of the statement it continues)."""
    with open(path, "rb") as handle:
        handle.seek(start)
        left, carry = end - start, b""
        while left > 0:
            block = handle.read(min(_BLOCK, left))
            if not block:
                break
            left -= len(block)
            block = carry + block
            cut = _cut(block) if left > 0 else len(block)
            carry = block[cut:]
            if cut:
                yield block[:cut].decode("utf-8", "replace")
        if carry:  # the range's last line runs past `end`: it started inside it
            yield (carry + handle.readline()).decode("utf-8", "replace")


def _cut(block: bytes) -> int:
    """Where to end a block: after its last newline that a byte not a tab follows (0: none;
    the whole block then waits for the next read)."""
    cut = block.rfind(b"\n", 0, len(block) - 1) + 1
    while cut > 0 and block[cut] == 9:  # a tab: the line continues a statement
        cut = block.rfind(b"\n", 0, cut - 1) + 1
    return cut


def _read_csv(path: Path, builder: WorkloadBuilder, key: str) -> int:
    if key not in _CSV_COLUMNS:
        known = ", ".join(f"%{k}" for k in _CSV_COLUMNS)
        raise AnalysisError(f"--pg-attribute-by %{key}: csvlog has no such field ({known})")
    column = _CSV_COLUMNS[key]
    count = 0
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        for number, row in enumerate(csv.reader(handle), 1):
            if len(row) <= max(column, _CSV_MESSAGE):
                builder.reject(f"{path}:row {number}", f"{len(row)} columns, not a csvlog row")
                continue
            if row[11] != "LOG":
                continue
            statement = STATEMENT_MESSAGE.match(row[_CSV_MESSAGE])
            if statement is not None:
                unit = row[column].strip() or "[no application name]"
                builder.add(unit, statement.group(1), source=f"{path}:row {number}")
                count += 1
    if count == 0:
        raise AnalysisError(f"--pg-log {path}: no logged statements (is log_statement=all set?)")
    return count
