"""Accuracy of `strangler analyze` on the corpus, side by side with simple baselines.

For every workload of tests/analysis/corpus (generated afresh from its spec into a
temporary folder) it prints the analyzer's and the baseline's pairwise F1, MoJoFM and
c2c coverage (at 0.5) against the workload's published split, the number of contexts,
and the analyzer's verdict ("split" or "one context", with the share of write
transactions that would span contexts under the best split it found).

Baselines (bench/baseline.py): with a workload, Louvain on an endpoint co-access graph;
schema only, the connected components of the foreign-key graph.

No per-workload tuning: the analyzer runs with its defaults on every workload. The
leave-one-out table then asks whether those defaults were fitted to the corpus: for each
workload, the parameter setting of a small grid that scores best (mean pairwise F1) on
the *other* workloads is chosen and used to score the held-out one.

    .venv/bin/python bench/analyze_accuracy.py                # everything (about 1 min)
    .venv/bin/python bench/analyze_accuracy.py --no-loo       # skip leave-one-out
    .venv/bin/python bench/analyze_accuracy.py --only tpcc forum
    .venv/bin/python bench/analyze_accuracy.py --sensitivity --no-loo --no-schema

`--sensitivity` prints, per workload, the pairwise F1 at each value of each grid parameter
with the others at their defaults: where a workload's score falls off a narrow window, a
held-out choice of that parameter costs it. The leave-one-out table says, for each
held-out workload, on which other workloads the chosen setting scores differently from the
defaults (what drew the choice away from them), and how many settings of the grid score
above the baseline on every workload and on each.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.cluster import DEFAULT_RESOLUTION
from analysis.graph import GraphWeights
from analysis.verdict import ONE_CONTEXT_COVERAGE, ONE_CONTEXT_SHARE
from bench.baseline import components_baseline, louvain_baseline
from tests.analysis.corpus.generate import Materialised
from tests.analysis.corpus.score import Result, evaluate, generate_all, rescore

# The grid leave-one-out chooses from: the resolution, the verdict threshold and the graph
# weights that were tuned on the corpus, each around its default (one point of the grid).
GRID: dict[str, tuple[Any, ...]] = {
    "resolution": (1.25, 1.5, 1.75),
    "share": (0.55, 0.67, 0.8),
    "coverage": (0.4, 0.5, 0.6),
    "own": (0.25, 0.5, 1.0),
    "write_read": (0.5, 0.75, 1.0),
    "join": (0.0, 0.25, 0.5),
}


def defaults() -> dict[str, Any]:
    """The analyzer's defaults for the parameters of GRID."""
    weights = GraphWeights()
    found: dict[str, Any] = {
        "resolution": DEFAULT_RESOLUTION,
        "share": ONE_CONTEXT_SHARE,
        "coverage": ONE_CONTEXT_COVERAGE,
    }
    found.update({k: getattr(weights, k) for k in GRID if k not in found})
    return found


def _row(r: Result) -> str:
    o, b = r.ours, r.baseline
    spanning = "" if r.spanning is None else f" ({100 * r.spanning:.0f} % span)"
    mark = "" if (o.f1 > b.f1 and o.mojofm > b.mojofm) else (
        " =" if (o.f1 >= b.f1 and o.mojofm >= b.mojofm) else " <")  # fmt: skip
    return (
        f"| {r.name}{' (neg)' if r.negative else ''} | {o.f1:.2f} | {b.f1:.2f} | "
        f"{o.mojofm:.1f} | {b.mojofm:.1f} | {o.c2c:.0f} | {b.c2c:.0f} | "
        f"{o.contexts} / {b.contexts} / {r.truth_contexts} | {r.verdict}{spanning}{mark} |"
    )


def table(title: str, results: list[Result]) -> None:
    print(f"\n{title}\n")
    print("| workload | F1 ours | F1 base | MoJoFM ours | MoJoFM base | c2c ours | c2c base "
          "| contexts ours / base / truth | verdict |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(_row(r))
    f1 = statistics.mean(r.ours.f1 for r in results)
    base = statistics.mean(r.baseline.f1 for r in results)
    mojo = statistics.mean(r.ours.mojofm for r in results)
    mojo_b = statistics.mean(r.baseline.mojofm for r in results)
    print(f"| **mean** | **{f1:.3f}** | {base:.3f} | **{mojo:.1f}** | {mojo_b:.1f} | | | | "
          f"F1 {f1 - base:+.3f} |")  # fmt: skip
    worse = [
        r.name for r in results if r.ours.f1 < r.baseline.f1 or r.ours.mojofm < r.baseline.mojofm
    ]
    print(
        f"\nworkloads where the baseline scores higher (F1 or MoJoFM): {', '.join(worse) or 'none'}"
    )


def leave_one_out(made: list[Materialised], results: list[Result]) -> None:
    keys = list(GRID)
    settings = [
        dict(zip(keys, values, strict=True)) for values in itertools.product(*GRID.values())
    ]
    parsed = {m.spec.name: evaluate(m, louvain_baseline)[1] for m in made}
    scores: dict[int, dict[str, float]] = {
        i: {m.spec.name: rescore(m, parsed[m.spec.name], **options) for m in made}
        for i, options in enumerate(settings)
    }
    print(f"\nLeave-one-out over {len(settings)} settings (chosen by mean pairwise F1 on the "
          "other workloads)\n")  # fmt: skip
    at_defaults = {m.spec.name: rescore(m, parsed[m.spec.name], **defaults()) for m in made}
    print("| held out | chosen | F1 held out | F1 with defaults | the choice on the others |")
    print("|---|---|---|---|---|")
    held_scores, default_scores = [], []
    for m in made:
        name = m.spec.name

        def others(i: int, held: str = name) -> tuple[float, int]:
            rest = [v for k, v in scores[i].items() if k != held]
            return statistics.mean(rest), -i

        best = max(scores, key=others)
        default = evaluate(m, louvain_baseline)[0].ours.f1
        held_scores.append(scores[best][name])
        default_scores.append(default)
        chosen = ", ".join(f"{k}={v}" for k, v in settings[best].items())
        moved = ", ".join(
            f"{k} {at_defaults[k]:.2f} -> {v:.2f}"
            for k, v in scores[best].items()
            if k != name and abs(v - at_defaults[k]) > 1e-9
        )
        print(
            f"| {name} | {chosen} | {scores[best][name]:.2f} | {default:.2f} | "
            f"{moved or 'as the defaults'} |"
        )
    print(f"| **mean** | | **{statistics.mean(held_scores):.3f}** | "
          f"{statistics.mean(default_scores):.3f} | |")  # fmt: skip
    robustness(scores, results)


def robustness(scores: dict[int, dict[str, float]], results: list[Result]) -> None:
    """How many grid settings score above the baseline: everywhere, and per workload (a
    perfect tie, both 1.0, counts as above). Few settings above it on a workload means
    its score stands on a narrow window of the parameters."""
    baseline = {r.name: r.baseline.f1 for r in results}

    def above(name: str, f1: float) -> bool:
        return f1 > baseline[name] or f1 == baseline[name] == 1.0

    everywhere = sum(all(above(n, f) for n, f in row.items()) for row in scores.values())
    level = sum(all(f >= baseline[n] for n, f in row.items()) for row in scores.values())
    per = ", ".join(
        f"{n} {sum(above(n, row[n]) for row in scores.values())}" for n in sorted(baseline)
    )
    print(f"\nsettings above the baseline's F1 on every workload: {everywhere} of {len(scores)}"
          f"; not below it on any: {level}; above it, per workload: {per}")  # fmt: skip


def sensitivity(made: list[Materialised], results: list[Result]) -> None:
    """Per workload, F1 at each value of each GRID parameter, the others at defaults."""
    base = defaults()
    parsed = {m.spec.name: evaluate(m, louvain_baseline)[1] for m in made}
    baseline = {r.name: r.baseline.f1 for r in results}
    print("\nSensitivity: pairwise F1 at each value of one parameter, the others at their "
          "defaults (* default, ! below the baseline's F1)")  # fmt: skip
    for key, values in GRID.items():
        print(f"\n| {key} | F1 base | " + " | ".join(
            f"{v}{'*' if v == base[key] else ''}" for v in values) + " | spread |")  # fmt: skip
        print("|---|---|" + "---|" * (len(values) + 1))
        for m in made:
            name = m.spec.name
            row = [rescore(m, parsed[name], **{**base, key: v}) for v in values]
            cells = " | ".join(f"{f:.2f}{'!' if f < baseline[name] else ''}" for f in row)
            print(f"| {name} | {baseline[name]:.2f} | {cells} | {max(row) - min(row):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="workload names (default: all)")
    parser.add_argument("--no-loo", action="store_true", help="skip leave-one-out")
    parser.add_argument("--no-schema", action="store_true", help="skip the schema-only table")
    parser.add_argument(
        "--sensitivity",
        action="store_true",
        help="per workload, F1 at each value of each grid parameter (the others at defaults)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="analyze-accuracy-") as tmp:
        made = generate_all(Path(tmp), args.only)
        results = [evaluate(m, louvain_baseline)[0] for m in made]
        table("With the workload (baseline: Louvain on endpoint co-access)", results)
        negatives = [r for r in results if r.negative]
        if negatives:
            print("\nnegative controls: " + ", ".join(
                f"{r.name} -> {r.ours.contexts} context(s), verdict {r.verdict}"
                for r in negatives))  # fmt: skip
        if not args.no_schema:
            schema = [evaluate(m, components_baseline, schema_only=True)[0] for m in made]
            table("Schema only (baseline: foreign-key connected components)", schema)
        if args.sensitivity:
            sensitivity(made, results)
        if not args.no_loo:
            leave_one_out(made, results)


if __name__ == "__main__":
    main()
