"""Seed spread of recorded runs: per method and evaluation step, the median rel_l2 over seeds and
the standard deviation of log(rel_l2) (the sigma that sets a gate cell's seeds, docs/check.md).

    python benchmarks/seed_spread.py RESULTS_FOLDER
"""

from __future__ import annotations

import sys

import numpy as np

from pinnbench.run.store import load_history, load_runs


def main() -> None:
    folder = sys.argv[1]
    runs, history = load_runs(folder), load_history(folder)
    history = history.merge(runs[["run_id", "method"]], on="run_id")
    for method, rows in history.groupby("method"):
        cells = []
        for step, at in rows.groupby("step"):
            if step == 0:
                continue
            logs = np.log(at["rel_l2"].astype(float))
            cells.append(f"{step}: {np.exp(logs.median()):.1e} / {logs.std(ddof=1):.2f}")
        print(f"{method} ({runs['method'].eq(method).sum()} seeds)  step: median / sigma  "
              + "  ".join(cells))


if __name__ == "__main__":
    main()
