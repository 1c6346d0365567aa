"""PostgreSQL server logs written with log_statement=all: stderr format or csvlog.

Statements are attributed to a code unit by one field of each line: by default the
application name (`%a`, which a service sets with `application_name=` in its DSN),
or any other `log_line_prefix` escape such as `%u` (user) or `%d` (database).
"""

from __future__ import annotations

import csv
import multiprocessing
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from operator import call, itemgetter
from pathlib import Path
from sys import intern
from typing import cast

from analysis.errors import AnalysisError

# the keyed reader finds numbers and the tokenizer's markers exactly as fingerprints do
from analysis.fingerprint import _MARKERS, _NUMBER_ASCII, _ZEROS, fingerprint, fingerprint_many
from analysis.workload import CACHE_LIMIT, WorkloadBuilder

DEFAULT_PREFIX = "%m [%p] %a "
# below this many bytes per process, starting processes costs more than it saves
PARALLEL_MIN_BYTES = 16 * 1024 * 1024
# csvlog column positions (PostgreSQL 13+ adds columns at the end, never in between).
_CSV_COLUMNS = {"a": 22, "u": 1, "d": 2, "p": 3, "h": 4, "r": 4, "c": 5, "b": 23}
_CSV_MESSAGE = 13
_MESSAGE = re.compile(
    # "parse"/"bind" lines repeat an "execute" one: counting them would count it thrice
    r"^(?:duration: [\d.]+ ms\s+)?(?:statement|execute [^:]*): (.*)$",
    re.DOTALL,
)
_LEVEL = r"(?P<_level>[A-Z]+\d?):\s+(?P<_message>.*)$"


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

    def _results(self, early: Callable[[str], object] | None) -> list[_Part]:
        """What every reading process found, in the order of their ranges; meanwhile,
        `early` on each new fingerprint they announced, while any of them still reads."""
        waiting = {receiver: child for child, receiver in self.children}
        found: dict[Connection, _Part] = {}
        queue: list[str] = []
        announced: set[str] = set()
        while waiting:
            pending = bool(queue) and early is not None
            ready = cast(list[Connection], wait(list(waiting), timeout=0 if pending else None))
            for receiver in ready:
                message = self._receive(waiting[receiver], receiver)
                if isinstance(message, _Part):
                    found[receiver] = message
                    del waiting[receiver]
                else:  # the shapes of its first block
                    queue.extend(fp for fp in message if fp not in announced)
                    announced.update(message)
            if pending and waiting and early is not None:
                early(queue.pop(0))  # one at a time: then the pipes again
        return [found[receiver] for _, receiver in self.children]

    def _receive(self, child: BaseProcess, receiver: Connection) -> _Part | list[str]:
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
        return cast(_Part | list[str], found)

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


def prefix_pattern(prefix: str, key: str) -> re.Pattern[str]:
    """Compile a log_line_prefix into a line pattern with the attribution field named."""
    if f"%{key}" not in prefix:
        raise AnalysisError(
            f"--pg-log: the log_line_prefix {prefix!r} has no %{key} to attribute statements "
            "by; pass the server's prefix with --pg-log-prefix, or another escape it has "
            "with --pg-attribute-by"
        )
    parts: list[str] = []
    seen: set[str] = set()
    i = 0
    while i < len(prefix):
        if prefix[i] == "%" and i + 1 < len(prefix):
            letter = prefix[i + 1]
            if letter == "%":
                parts.append("%")
            elif letter == "q":
                pass
            elif letter == key and letter not in seen:
                parts.append("(?P<unit>.*?)")
            else:
                parts.append(".*?")
            seen.add(letter)
            i += 2
        else:
            parts.append(re.escape(prefix[i]))
            i += 1
    return re.compile("^" + "".join(parts) + _LEVEL)


@dataclass
class _Part:
    """What one process found in its byte range of a log."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    statements: int = 0
    malformed: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)


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
) -> _Part:
    """Fingerprint and count every statement in bytes [start, end) of a stderr log; after
    the first block with statements, `announce` the fingerprints found so far."""
    pattern = prefix_pattern(prefix, key)
    literal = _field_literal(prefix, key)
    reader = _Reader(path, start, pattern, _unit_reader(prefix, key, pattern), literal)
    samples = reader.part.samples
    for text in _blocks(path, start, end):
        if not reader.bulk(text):
            reader.lines(text.splitlines())
        if announce is not None and samples:
            announce(list(samples))
            announce = None
    return reader.part


_BLOCK = 4 * 1024 * 1024
_CACHE_PROBE = 5_000
_NO_UNIT = "[no application name]"
# str.splitlines() also ends lines at these: a block holding one is read line by line
_OTHER_BREAKS = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e")
_WIDE_BREAKS = ("\x85", "\u2028", "\u2029")
# The keyed reader (_Reader.keyed): a block with more than 1 line in 8 of a new key is read
# by `bulk`'s other passes; the skeletons and keys it remembers are bounded.
_NEW_KEYS_SHARE = 8
_SKELETON_LIMIT = _KEY_LIMIT = 20_000
_KEYED_TRIES = 3  # blocks it may decline (by their kind, not their variety) before it stops
# what picks the digits of a key without any (""), of a line without a statement, of a
# statement fingerprinted alone: three getters told apart by identity
_NOTHING, _SKIP, _ALONE = (itemgetter(slice(0, 0)) for _ in range(3))
# what sends a statement to the tokenizer: fingerprint._MARKERS or a prefixed string (E'a')
_TOKENIZER = re.compile("|".join([*map(re.escape, _MARKERS), "[EeNnXxBb]'"]))
_SLOW = "\x00"  # the skeleton key of a statement line fingerprinted on its own


class _Reader:
    """The statements of one byte range, block by block (each block holds whole lines and
    ends where a statement does: its next line is not a tab-indented continuation)."""

    def __init__(
        self,
        path: str,
        start: int,
        pattern: re.Pattern[str],
        unit_of: Callable[[str, int], str | None],
        literal: str,
    ) -> None:
        self.path, self.start, self.pattern, self.unit_of = path, start, pattern, unit_of
        self.literal = literal  # before the attribution field ("": no block reading)
        self.part = _Part()
        self.number = 0  # lines read before the current block
        self.cache: dict[str, str] = {}
        self.use_cache, self.hits = True, 0
        # the keyed reader: skeleton -> what picks its key's digits (_Reader._digits_of),
        # key -> (unit, fingerprint) (None: a line without a statement)
        self.digits: dict[str, Callable[[str], object]] = {}
        self.keys: dict[tuple[str, object], tuple[str, str] | None] = {}
        self.keyed_tries = _KEYED_TRIES if literal and not _has_digit(literal) else 0

    def bulk(self, text: str) -> bool:
        """Read a block whose every line is a one-line LOG message in a few passes over the
        whole block; False (nothing read) when a line needs `lines`.

        The conditions make it read exactly what `lines` reads: lines end only at `\\n`,
        none continues a statement, every line holds `LOG:  ` once (so its ` LOG:  ` is
        the first), every statement is a `statement: ` message, and every statement line
        has the literal before its attribution field (read as `_unit_reader` reads it).
        """
        literal = self.literal
        if not literal or "\x00" in text:
            return False
        if "\t" in text and (text.startswith("\t") or "\n\t" in text):
            return False
        ascii = text.isascii()
        for mark in _OTHER_BREAKS if ascii else _OTHER_BREAKS + _WIDE_BREAKS:
            if mark in text:
                return False
        if ascii and self.keyed_tries and self.keyed(text):
            return True
        # every statement line becomes "head\0sql"; a line is the text between newlines
        lines = text.replace(" LOG:  statement: ", "\x00").split("\n")
        if not lines[-1]:
            lines.pop()
        if text.count("LOG:  ") != len(lines):  # (unlike " LOG:  ", cannot overlap itself)
            return False
        for line in [line for line in lines if "\x00" not in line]:
            at = line.find(" LOG:  ")
            if at < 0 or _statement_of(line[at + 7 :]) is not None:
                return False  # no LOG at all, or a statement in another form (_MESSAGE)
        found = [line.partition("\x00") for line in lines if "\x00" in line]
        begins = [head.rfind(literal) for head, _, _ in found]
        if -1 in begins:
            return False  # a line without the literal: malformed, for `lines` to count
        skip = len(literal)
        units = [
            head[begin + skip :].strip() or _NO_UNIT
            for (head, _, _), begin in zip(found, begins, strict=True)
        ]
        statements = [sql for _, _, sql in found]
        fingerprints = fingerprint_many(statements, self.cache if self.use_cache else None)
        part = self.part
        part.counts.update(zip(units, fingerprints, strict=True))
        samples = part.samples
        new = set(fingerprints).difference(samples)
        if new:  # the first text of each new shape, and where it was
            numbers = [n for n, line in enumerate(lines, self.number + 1) if "\x00" in line]
            for i, fp in enumerate(fingerprints):
                if fp in new and fp not in samples:
                    samples[fp] = statements[i]
                    part.sources[fp] = _where(self.path, self.start, numbers[i])
        part.statements += len(statements)
        self.number += len(lines)
        return True

    def keyed(self, text: str) -> bool:
        """Read an ASCII block (checked by `bulk`) by line keys; False (nothing read) when
        a line of it needs `bulk`'s other passes or `lines`.

        A line's skeleton is the line with its strings' contents removed (their quotes
        kept) and every digit made 0. Lines of one skeleton have every character but digits
        and string contents at the same places, so `lines` reads them alike: the same kind
        of message, the attribution field at the same place, and statements whose
        fingerprints differ only by the digits of names, as in
        fingerprint._numbers_by_skeleton (when no marker of the tokenizer, _MARKERS or a
        prefixed string, lies outside their strings). A line's key is its skeleton and
        those digits and the attribution field's: one fingerprint per key, made from the
        first line with it, instead of one per line. Statements with markers are
        fingerprinted one by one. A head holding a quote, a line without ` LOG:  `, a line
        with an odd number of quotes, or a statement in another form (`execute`,
        `duration: ... statement:`) sends the block elsewhere.
        """
        newlines = text.count("\n")
        if "'" in text:
            pieces = text.split("'")
            pieces[1::2] = [""] * (len(pieces) // 2)
            bare = "'".join(pieces)
            del pieces
        else:
            bare = text
        lines = bare.split("\n")
        if len(lines) != newlines + 1:
            return self._declined()  # a line with an odd number of quotes
        # interned: equal skeletons are then one object, which dicts compare at once
        skeletons = list(map(intern, bare.translate(_ZEROS).split("\n")))
        del bare
        if not lines[-1]:  # the empty text after the last newline
            skeletons.pop()
            lines.pop()
        count = len(lines)
        digits = self.digits
        distinct = set(skeletons)
        new = distinct.difference(digits)
        if len(new) * _NEW_KEYS_SHARE > count:
            return False  # too varied for keys (often the first lines of a range)
        if new and len(digits) + len(new) > _SKELETON_LIMIT:
            digits.clear()
            self.keys.clear()
            new = distinct
        for skeleton in new:
            getter = self._digits_of(skeleton)
            if getter is None:
                return self._declined()
            digits[skeleton] = getter
        get = digits.__getitem__
        raw: list[str] = []
        keys: list[tuple[str, object]] = []
        alone: dict[object, tuple[str, str]] = {}  # line index -> (unit, fingerprint)
        slow = {skeleton for skeleton in distinct if digits[skeleton] is _ALONE}
        if slow:  # statements with markers: keyed by their line, fingerprinted one by one
            raw = text.split("\n")
            keys = list(zip(skeletons, map(call, map(get, skeletons), lines), strict=True))
            indexes = [i for i, skeleton in enumerate(skeletons) if skeleton in slow]
            for i in indexes:
                keys[i] = (_SLOW, i)
            found_fps = fingerprint_many([_sql(raw[i]) for i in indexes])
            units = [self._unit(raw[i]) for i in indexes]
            alone = dict(zip(indexes, zip(units, found_fps, strict=True), strict=True))
            counted = Counter(keys)
        else:
            keyed = zip(skeletons, map(call, map(get, skeletons), lines), strict=True)
            counted = Counter(keyed)
        known = self.keys
        missing = [key for key in counted if key[0] is not _SLOW and key not in known]
        if len(missing) * _NEW_KEYS_SHARE > count:
            return False
        first: dict[tuple[str, object], int] = {}  # key -> its first line (when needed)
        if missing or alone:
            if len(known) + len(missing) > _KEY_LIMIT:
                known.clear()
                missing = [key for key in counted if key[0] is not _SLOW]
            raw = raw or text.split("\n")
            backwards = range(count - 1, -1, -1)
            if keys:
                first = dict(zip(reversed(keys), backwards, strict=True))
            else:  # a new key's first line: mostly its skeleton's first line
                starts = dict(zip(reversed(skeletons), backwards, strict=True))
                wanted = set()
                for key in missing:
                    i = starts[key[0]]
                    if digits[key[0]](lines[i]) == key[1]:
                        first[key] = i
                    else:  # a skeleton with several keys: its lines, one by one
                        wanted.add(key[0])
                for i in [i for i, skeleton in enumerate(skeletons) if skeleton in wanted]:
                    skeleton = skeletons[i]
                    first.setdefault((skeleton, digits[skeleton](lines[i])), i)
            for key in missing:
                line = raw[first[key]]
                skip = digits[key[0]] is _SKIP
                known[key] = None if skip else (self._unit(line), fingerprint(_sql(line)))
        part = self.part
        counts, samples, sources = part.counts, part.samples, part.sources
        statements = 0
        # in the order of each key's first line: counts and samples are made in the order
        # `lines` makes them (the first line of each new shape is that of one of its keys)
        for key, many in counted.items():
            found = alone[key[1]] if key[0] is _SLOW else known[key]
            if found is None:
                continue
            counts[found] += many
            statements += many
            fp = found[1]
            if fp not in samples:
                at = first[key]
                samples[fp] = _sql(raw[at])
                sources[fp] = _where(self.path, self.start, self.number + at + 1)
        part.statements += statements
        self.number += count
        self.keyed_tries = _KEYED_TRIES
        return True

    def _declined(self) -> bool:
        """A block `keyed` cannot read (by its kind of lines): after a few in a row, it
        stops trying."""
        self.keyed_tries -= 1
        return False

    def _digits_of(self, skeleton: str) -> Callable[[str], object] | None:
        """What picks a key's digits from a line of `skeleton` (with strings' contents
        removed): those of the attribution field and of names in the statement; _SKIP for a
        line `lines` skips, _ALONE for a statement fingerprinted alone; None: `keyed`
        cannot read such a line."""
        at = skeleton.find(" LOG:  ")
        if at < 0 or "'" in skeleton[:at]:
            return None
        message = skeleton[at + 7 :]
        if not message.startswith("statement: "):
            if not message.startswith(("execute ", "duration: ")):
                return _SKIP  # a connection, a checkpoint...: no statement in any form
            return _SKIP if "'" not in message and _statement_of(message) is None else None
        literal = self.literal
        begin = skeleton.rfind(literal, 0, at)
        if begin < 0:
            return None
        sql = message[11:]
        if _TOKENIZER.search(sql):
            return _ALONE
        places = [i for i in range(begin + len(literal), at) if skeleton[i] == "0"]
        offset, end = at + 18, 0
        for number in [*_NUMBER_ASCII.finditer(sql), None]:
            stop = number.start() if number is not None else len(sql)
            place = sql.find("0", end, stop)
            while place >= 0:
                places.append(offset + place)
                place = sql.find("0", place + 1, stop)
            if number is not None:
                end = number.end()
        return itemgetter(*places) if places else _NOTHING

    def _unit(self, line: str) -> str:
        """The attribution field of a statement line of a block `keyed` reads."""
        at = line.find(" LOG:  ")
        return line[line.rfind(self.literal, 0, at) + len(self.literal) : at].strip() or _NO_UNIT

    def lines(self, lines: list[str]) -> None:
        """Read a block line by line (continuations, other messages, malformed lines)."""
        part, path, start, cache = self.part, self.path, self.start, self.cache
        counts, samples, sources = part.counts, part.samples, part.sources
        buffer: list[str] = []
        unit, first = "", ""

        def flush() -> None:
            sql = buffer[0] if len(buffer) == 1 else "\n".join(buffer)
            fp = cache.get(sql) if self.use_cache else None
            if fp is None:
                fp = fingerprint(sql)
                if self.use_cache:
                    if len(cache) >= CACHE_LIMIT:
                        cache.clear()
                    cache[sql] = fp
                if fp not in samples:
                    samples[fp] = sql
                    sources[fp] = first
            else:
                self.hits += 1
            part.statements += 1
            counts[unit or _NO_UNIT, fp] += 1
            if part.statements == _CACHE_PROBE and self.hits < _CACHE_PROBE // 10:
                self.use_cache = False  # literals inlined: every text is new, the cache only costs
                cache.clear()

        number = self.number
        for line in lines:
            number += 1
            if line.startswith("\t"):
                if buffer:
                    buffer.append(line[1:])
                continue
            if buffer:
                flush()
                buffer = []
            at = line.find(" LOG:  ")
            statement = _statement_of(line[at + 7 :]) if at >= 0 else None
            if statement is None:
                # other LOG lines (durations, connections) and other levels are skipped;
                # a line that does not start with the prefix is counted as malformed
                if at < 0 and line.strip() and self.pattern.match(line) is None:
                    _malformed(part, _where(path, start, number))
                continue
            found = self.unit_of(line, at)
            if found is None:
                _malformed(part, _where(path, start, number))
                continue
            unit, buffer, first = found, [statement], _where(path, start, number)
        if buffer:
            flush()
        self.number = number


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


def _sql(line: str) -> str:
    """The statement of a `statement: ` line of a block `_Reader.keyed` reads."""
    return line[line.find(" LOG:  ") + 18 :]


def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def _where(path: str, start: int, number: int) -> str:
    return f"{path}:{number}" if start == 0 else f"{path}:line {number} after byte {start}"


def _field_literal(prefix: str, key: str) -> str:
    """The text between the last escape before the attribution field and the field, when
    the prefix ends with the field and a space (`%m [%p] %a ` -> `] `); else ""."""
    head = prefix[: -len(f"%{key} ")] if prefix.endswith(f"%{key} ") else ""
    literal = head[head.rfind("%") + 2 :] if "%" in head else head
    return "" if "%" in literal else literal


def _unit_reader(
    prefix: str, key: str, pattern: re.Pattern[str]
) -> Callable[[str, int], str | None]:
    """How to read the attribution field of a line whose ` LOG:  ` is at `at`.

    When the prefix ends with the field and a space (`... %a `), the field is what lies
    between the literal before it and ` LOG:`, found with two string searches; any other
    prefix is matched with its regular expression.
    """
    literal = _field_literal(prefix, key)
    if literal:

        def fast(line: str, at: int) -> str | None:
            begin = line.rfind(literal, 0, at)
            return None if begin < 0 else line[begin + len(literal) : at].strip()

        return fast

    def slow(line: str, at: int) -> str | None:
        match = pattern.match(line)
        return None if match is None else match["unit"].strip()

    return slow


def _statement_of(message: str) -> str | None:
    """The SQL of a LOG message: `statement: ...`, `execute ...: ...`, `duration: ...`."""
    if message.startswith("statement: "):
        return message[11:]
    if message.startswith(("execute ", "duration: ")):
        found = _MESSAGE.match(message)
        return found.group(1) if found else None
    return None


def _malformed(part: _Part, where: str) -> None:
    part.malformed += 1
    if len(part.rejected) < 5:
        part.rejected.append((where, "does not start with the log_line_prefix"))


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
            statement = _MESSAGE.match(row[_CSV_MESSAGE])
            if statement is not None:
                unit = row[column].strip() or "[no application name]"
                builder.add(unit, statement.group(1), source=f"{path}:row {number}")
                count += 1
    if count == 0:
        raise AnalysisError(f"--pg-log {path}: no logged statements (is log_statement=all set?)")
    return count
