"""How long `strangler demo` takes from nothing to the summary, against the 90 s goal.

Runs `python -m strangler demo --exit --json --port 0` from the checkout (so the
ownership handover step runs) in a child process, in a fresh folder each run, and prints
per run: wall time (Python's start-up included), each step's seconds from the demo's own
summary, and the ratio to the goal, with the machine's load average (it is shared).

    .venv/bin/python bench/demo_time.py            # one run at the defaults
    .venv/bin/python bench/demo_time.py --runs 3   # later runs reuse the folder
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_S = 90.0
ROOT = Path(__file__).resolve().parents[1]


def one_run(folder: Path, extra: list[str]) -> tuple[float, dict[str, float]]:
    started = time.perf_counter()
    done = subprocess.run(
        # `python -m strangler` from the checkout: the handover package is importable
        # there (the console script finds only the packages pyproject installs)
        [sys.executable, "-m", "strangler", "demo", "--dir", str(folder), "--port", "0",
         "--exit", "--json", *extra],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"the demo failed: {done.stderr.strip() or done.stdout[-500:]}")
    figures = json.loads(done.stdout)["figures"]
    if not figures.get("handover", {}).get("done"):
        print("note: the handover step was skipped in this run")
    return wall, figures["step_seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--requests", type=int, default=300, help="the demo's --requests")
    args = parser.parse_args()
    print(f"goal: {GOAL_S:.0f} s; cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(1, args.runs + 1):
            load = os.getloadavg()[0]
            wall, steps = one_run(Path(tmp), ["--requests", str(args.requests)])
            per_step = "  ".join(f"{k}: {v:.1f}" for k, v in steps.items())
            print(
                f"run {run}: {wall:5.1f} s wall = {wall / GOAL_S:.2f} x goal "
                f"(load avg {load:.1f} before)  steps [s] {per_step}"
            )


if __name__ == "__main__":
    main()
