"""Counting statements per endpoint and shape, then parsing each shape exactly once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from analysis.fingerprint import fingerprint
from analysis.model import Observation, Shape, Unparsed, Workload

Progress = Callable[[int], None]
# Raw statement text -> fingerprint. Drivers send the same text again and again (their
# placeholders keep it constant), so most lines cost one dict lookup. Bounded so that
# logs with inlined literals cannot grow it without end.
CACHE_LIMIT = 200_000


class WorkloadBuilder:
    """Accumulates (endpoint, statement) pairs from any source; `build` parses the shapes."""

    def __init__(self, max_examples: int = 5) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.samples: dict[str, str] = {}
        self.sources: dict[str, str] = {}
        self.total = 0
        self.malformed = 0
        self.malformed_examples: list[str] = []
        self.max_examples = max_examples
        self.cache: dict[str, str] = {}
        self.dialects: Counter[str] = Counter()  # as declared by log lines, if they do

    def add(self, endpoint: str, sql: str, count: int = 1, source: str = "") -> None:
        """Record `count` executions of `sql` by `endpoint`."""
        fp = self.cache.get(sql)
        if fp is None:
            fp = self.fingerprint_of(sql, source)
        self.counts[endpoint, fp] += count
        self.total += count

    def fingerprint_of(self, sql: str, source: str = "") -> str:
        """Fingerprint `sql`, remember it in `cache`, keep the first text of each shape."""
        if len(self.cache) >= CACHE_LIMIT:
            self.cache.clear()
        fp = self.cache[sql] = fingerprint(sql)
        if fp not in self.samples:
            self.samples[fp] = sql
            self.sources[fp] = source
        return fp

    def merge(
        self, counts: Counter[tuple[str, str]], samples: dict[str, str], sources: dict[str, str]
    ) -> None:
        """Add counts a reader made on its own (another process), keeping first samples."""
        self.counts.update(counts)
        self.total += sum(counts.values())
        for fp, sql in samples.items():
            if fp not in self.samples:
                self.samples[fp] = sql
                self.sources[fp] = sources.get(fp, "")

    def reject(self, where: str, reason: str) -> None:
        """Count a malformed input line; keep the first few as examples."""
        self.malformed += 1
        if len(self.malformed_examples) < self.max_examples:
            self.malformed_examples.append(f"{where}: {reason}")

    def build(
        self,
        dialect: str | None,
        progress: Progress | None = None,
        parsed: dict[str, Shape] | None = None,
    ) -> Workload:
        """Parse every distinct shape once and return the finished workload (`parsed`:
        shapes already parsed from their fingerprint in `dialect`, while reading)."""
        from analysis.statements import ShapeError  # sqlglot: imported once it is needed

        shapes: dict[str, Shape] = {}
        failures: dict[str, str] = {}
        early = parsed or {}
        for done, fp in enumerate(self.samples, 1):
            try:
                shape = early.get(fp)
                shapes[fp] = shape if shape is not None else _parse(fp, self.samples[fp], dialect)
            except ShapeError as exc:
                failures[fp] = str(exc)
            if progress is not None and done % 500 == 0:
                progress(500)
        failed_count = 0
        observations = []
        for (endpoint, fp), count in sorted(self.counts.items()):
            if fp in failures:
                failed_count += count
            else:
                observations.append(Observation(endpoint, fp, count))
        examples = tuple(
            Unparsed(self.sources.get(fp, ""), self.samples[fp][:300], reason)
            for fp, reason in list(failures.items())[: self.max_examples]
        )
        return Workload(
            observations=tuple(observations),
            shapes=shapes,
            total=self.total,
            lines_malformed=self.malformed,
            malformed_examples=tuple(self.malformed_examples),
            unparsed=examples,
            unparsed_count=failed_count,
            unparsed_shapes=len(failures),
            samples={fp: self.samples[fp] for fp in shapes},
        )


def _parse(fp: str, sample: str, dialect: str | None) -> Shape:
    from analysis.statements import ShapeError, describe

    try:
        return describe(fp, dialect, fingerprint=fp)
    except ShapeError:
        if sample == fp:
            raise
        # The normalised text lost something the parser needed: try the statement as sent.
        return describe(sample, dialect, fingerprint=fp)
