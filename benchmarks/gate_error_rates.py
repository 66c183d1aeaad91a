"""False-alarm and miss rates of `pinnbench check`, measured by simulation on recorded runs.

Every cell of a baseline file (problem, method; the CI gate's are results/baseline/ci.parquet and
ci_second_order.parquet) has a seed spread: the standard deviation sigma of log(rel_l2) over its
seeds. The simulation draws gate runs from it and judges them with the gate's own code
(`pinnbench.analysis.check.judge`), all cells of a file together, as one `pinnbench check` does:

- **redraw** (unchanged code, re-randomised): baseline and current seeds are independent draws
  from log-normal(mean, sigma) of the cell; the worst case of "same code, other floating-point
  path", where a seed's new error is as far from its old one as another seed's.
- **vs recorded**: the recorded baseline as it is, the current seeds drawn afresh.
- **perturbed**: each current seed is its recorded baseline value times exp(N(0, (sigma/2)^2)):
  a change that moves every seed by half the seed spread, seed for seed.
- **regression F**: as redraw (and as perturbed), every current value multiplied by F.

A false alarm is a "regression" verdict without a regression; a miss is anything else with one.
Row "gate run fails" is the chance that at least one cell of the file is called a regression.
The last columns give the seeds per side the paired rule needs to catch a 1.5x regression with
probability 0.9 under the redraw model, and that chance at the recorded seed count (noncentral
t; the simulation checks it).

    python benchmarks/gate_error_rates.py [--reps 4000] [--rule paired] [FILE ...]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from pinnbench.analysis.check import DEFAULT_MIN_FACTOR, Gate, judge

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILES = (ROOT / "results/baseline/ci.parquet",
                 ROOT / "results/baseline/ci_second_order.parquet")
METRIC = "rel_l2"
FACTORS = (1.5, 2.0)
SEED_GRID = (3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200, 300)
TARGET_POWER = 0.9


def cells(path: Path) -> dict[str, np.ndarray]:
    """'problem/method' -> the ok values of the metric, in seed order."""
    runs = pd.read_parquet(path)
    runs = runs[runs["status"] == "ok"].sort_values("seed")
    return {f"{p}/{m}": g[METRIC].to_numpy(float) for (p, m), g in runs.groupby(
        ["problem", "method"])}


def verdicts(base: np.ndarray, cur: np.ndarray, gate: Gate, tests: int) -> bool:
    """Whether the gate calls this draw of one cell a regression (seeds 0..n-1 both sides)."""
    out = judge(dict(enumerate(base)), dict(enumerate(cur)), METRIC, gate, tests)
    return out["verdict"] == "regression"


def simulate(values: dict[str, np.ndarray], gate: Gate, reps: int,
             rng: np.random.Generator) -> pd.DataFrame:
    """Per cell and scenario, the fraction of draws called a regression; row "gate run fails":
    the fraction of draws in which any cell was."""
    names = list(values)
    tests = len(names)
    logs = {n: np.log(v) for n, v in values.items()}
    mu = {n: logs[n].mean() for n in names}
    sigma = {n: logs[n].std(ddof=1) for n in names}
    seeds = {n: v.size for n, v in values.items()}

    def redraw(n: str, factor: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        k = seeds[n]
        return (np.exp(rng.normal(mu[n], sigma[n], k)),
                factor * np.exp(rng.normal(mu[n], sigma[n], k)))

    def recorded(n: str, factor: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        return values[n], factor * np.exp(rng.normal(mu[n], sigma[n], seeds[n]))

    def perturbed(n: str, factor: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        return values[n], factor * values[n] * np.exp(rng.normal(0, sigma[n] / 2, seeds[n]))

    scenarios = {"false alarm: redraw": (redraw, 1.0),
                 "false alarm: vs recorded": (recorded, 1.0),
                 "false alarm: perturbed": (perturbed, 1.0)}
    for f in FACTORS:
        scenarios[f"caught {f:g}x: redraw"] = (redraw, f)
        scenarios[f"caught {f:g}x: perturbed"] = (perturbed, f)
    table = {}
    for scenario, (draw, factor) in scenarios.items():
        hits = np.zeros((reps, tests), bool)
        for r in range(reps):
            for j, n in enumerate(names):
                hits[r, j] = verdicts(*draw(n, factor), gate, tests)
        table[scenario] = [*hits.mean(axis=0), hits.any(axis=1).mean()]
    frame = pd.DataFrame(table, index=[*names, "gate run fails"])
    frame.insert(0, "sigma", [*(sigma[n] for n in names), np.nan])
    frame.insert(1, "seeds", [*(seeds[n] for n in names), np.nan])
    return frame


def power(sigma: float, n: int, factor: float, level: float, min_factor: float) -> float:
    """Chance the paired rule calls a uniform ``factor`` regression with n seeds a side under
    the redraw model: the shift's t statistic (2n - 2 degrees) against the tolerance."""
    df = 2 * n - 2
    se = sigma * math.sqrt(2 / n)
    t_crit = max(float(stats.t.isf(level, df)), math.log(min_factor) / se)
    return float(stats.nct.sf(t_crit, df, math.log(factor) / se))


def seeds_needed(sigma: float, tests: int, gate: Gate, factor: float = 1.5) -> str:
    level = gate.cell_level(tests)
    for n in SEED_GRID:
        if power(sigma, n, factor, level, gate.min_factor) >= TARGET_POWER:
            return str(n)
    return f"> {SEED_GRID[-1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, default=list(DEFAULT_FILES))
    parser.add_argument("--reps", type=int, default=4000, help="simulated gate runs per scenario")
    parser.add_argument("--rule", default="paired", choices=("paired", "median"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    gate = Gate(rule=args.rule, min_factor=DEFAULT_MIN_FACTOR)
    rng = np.random.default_rng(args.seed)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 20)
    print(f"rule {args.rule}; {args.reps} simulated gate runs per scenario; seed {args.seed}")
    for path in args.files:
        values = cells(path)
        frame = simulate(values, gate, args.reps, rng)
        if args.rule == "paired":
            frame["seeds for 1.5x"] = [*(seeds_needed(frame.loc[n, "sigma"], len(values), gate)
                                         for n in values), ""]
            frame["analytic 1.5x"] = [*(power(frame.loc[n, "sigma"], len(values[n]), 1.5,
                                              gate.cell_level(len(values)), gate.min_factor)
                                        for n in values), np.nan]
        print(f"\n{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
              f"{len(values)} cells, false alarms per cell at level "
              f"{gate.cell_level(len(values)):.4f}")
        print(frame.to_string(float_format=lambda x: f"{x:.3f}"))


if __name__ == "__main__":
    main()
