"""Score the analyzer and the baselines on the corpus (used by bench/analyze_accuracy.py
and tests/analysis/test_corpus.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from analysis.access import AccessModel
from analysis.decompose import decompose
from analysis.graph import GraphWeights
from analysis.mojo import c2c_coverage, mojofm, pairwise_f1
from analysis.pipeline import Analysis, Inputs, run
from tests.analysis.corpus.generate import Materialised, materialise, names

Baseline = Callable[[AccessModel], dict[str, str]]


@dataclass(frozen=True)
class Score:
    """One split against the truth."""

    f1: float
    mojofm: float
    c2c: float
    contexts: int


@dataclass(frozen=True)
class Result:
    """The analyzer and a baseline on one workload."""

    name: str
    negative: bool
    ours: Score
    baseline: Score
    truth_contexts: int
    verdict: str
    spanning: float | None


def score(split: Mapping[str, str], truth: Mapping[str, str]) -> Score:
    """Pairwise F1, MoJoFM and c2c coverage (at 0.5) of `split` against `truth`."""
    return Score(
        f1=pairwise_f1(split, truth),
        mojofm=mojofm(split, truth),
        c2c=c2c_coverage(split, truth, 0.5),
        contexts=len({split[t] for t in truth if t in split}),
    )


def generate_all(out: Path, only: list[str] | None = None) -> list[Materialised]:
    """Materialise every corpus workload (or `only` those) under `out`."""
    return [materialise(name, out) for name in (only or names())]


def inputs_for(made: Materialised, schema_only: bool = False, **options: Any) -> Inputs:
    """The analyzer's inputs for a workload: its schema and its log (unless schema-only)."""
    inputs = Inputs(schema=(made.schema,), **options)
    if schema_only:
        return inputs
    if made.workload.suffix == ".log":
        return replace(inputs, pg_logs=(made.workload,))
    return replace(inputs, logs=(made.workload,))


def rescore(
    made: Materialised,
    analysis: Analysis,
    resolution: float,
    share: float,
    coverage: float,
    **weights: float,
) -> float:
    """Pairwise F1 of the split the analyzer makes from an already parsed workload with
    other parameters (leave-one-out: no re-parsing for every grid point)."""
    found = decompose(
        analysis.model, analysis.overrides, resolution, 42, share, GraphWeights(**weights), coverage
    )
    return pairwise_f1(found.split.table_context, made.spec.truth_map())


def evaluate(
    made: Materialised, baseline: Baseline, schema_only: bool = False, **options: Any
) -> tuple[Result, Analysis]:
    """Run the analyzer on one workload and score it and `baseline` against the truth."""
    analysis = run(inputs_for(made, schema_only, **options))
    truth = made.spec.truth_map()
    verdict = analysis.verdict
    result = Result(
        name=made.spec.name,
        negative=made.spec.negative,
        ours=score(analysis.split.table_context, truth),
        baseline=score(baseline(analysis.model), truth),
        truth_contexts=len(made.spec.truth),
        verdict=verdict.kind,
        spanning=verdict.spanning_write_share,
    )
    return result, analysis
