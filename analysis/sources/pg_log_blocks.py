"""PostgreSQL stderr logs, a block at a time: BlockReader reads a block of whole lines in a
few passes over all of it (`bulk`) or, in a literal-heavy log, by line keys, fingerprinting
each key once (`keyed`); a block either pass cannot read exactly as the line reader
(pg_log_lines) would goes to it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from operator import call, itemgetter
from sys import intern

# the keyed reader finds numbers and the tokenizer's markers exactly as fingerprints do
from analysis.fingerprint import (
    DIGITS_TO_ZERO,
    MARKERS,
    NUMBER_ASCII,
    fingerprint,
    fingerprint_many,
)
from analysis.sources.pg_log_lines import NO_UNIT, LineReader, UnitOf, statement_of, where

# str.splitlines() also ends lines at these: a block holding one is read line by line
_OTHER_BREAKS = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e")
_WIDE_BREAKS = ("\x85", "\u2028", "\u2029")
# The keyed reader (BlockReader.keyed): a block with more than 1 line in 8 of a new key is read
# by `bulk`'s other passes; the skeletons and keys it remembers are bounded.
_NEW_KEYS_SHARE = 8
_SKELETON_LIMIT = _KEY_LIMIT = 20_000
_KEYED_TRIES = 3  # blocks it may decline (by their kind, not their variety) before it stops
# what picks the digits of a key without any (""), of a line without a statement, of a
# statement fingerprinted alone: three getters told apart by identity
_NOTHING, _SKIP, _ALONE = (itemgetter(slice(0, 0)) for _ in range(3))
# what sends a statement to the tokenizer: fingerprint.MARKERS or a prefixed string (E'a')
_TOKENIZER = re.compile("|".join([*map(re.escape, MARKERS), "[EeNnXxBb]'"]))
_SLOW = "\x00"  # the skeleton key of a statement line fingerprinted on its own


class BlockReader(LineReader):
    """The statements of one byte range, a block at a time: `bulk` (and `keyed`) when they
    can read a block exactly as `lines` would, `lines` otherwise."""

    def __init__(
        self, path: str, start: int, pattern: re.Pattern[str], unit_of: UnitOf, literal: str
    ) -> None:
        super().__init__(path, start, pattern, unit_of)
        self.literal = literal  # before the attribution field ("": no block reading)
        # the keyed reader: skeleton -> what picks its key's digits (BlockReader._digits_of),
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
        has the literal before its attribution field (read as `unit_reader` reads it).
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
            if at < 0 or statement_of(line[at + 7 :]) is not None:
                return False  # no LOG at all, or a statement in another form (STATEMENT_MESSAGE)
        found = [line.partition("\x00") for line in lines if "\x00" in line]
        begins = [head.rfind(literal) for head, _, _ in found]
        if -1 in begins:
            return False  # a line without the literal: malformed, for `lines` to count
        skip = len(literal)
        units = [
            head[begin + skip :].strip() or NO_UNIT
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
                    part.sources[fp] = where(self.path, self.start, numbers[i])
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
        fingerprint._numbers_by_skeleton (when no marker of the tokenizer, MARKERS or a
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
        skeletons = list(map(intern, bare.translate(DIGITS_TO_ZERO).split("\n")))
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
                sources[fp] = where(self.path, self.start, self.number + at + 1)
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
            return _SKIP if "'" not in message and statement_of(message) is None else None
        literal = self.literal
        begin = skeleton.rfind(literal, 0, at)
        if begin < 0:
            return None
        sql = message[11:]
        if _TOKENIZER.search(sql):
            return _ALONE
        places = [i for i in range(begin + len(literal), at) if skeleton[i] == "0"]
        offset, end = at + 18, 0
        for number in [*NUMBER_ASCII.finditer(sql), None]:
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
        return line[line.rfind(self.literal, 0, at) + len(self.literal) : at].strip() or NO_UNIT


def _sql(line: str) -> str:
    """The statement of a `statement: ` line of a block `BlockReader.keyed` reads."""
    return line[line.find(" LOG:  ") + 18 :]


def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)
