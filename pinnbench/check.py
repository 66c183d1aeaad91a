"""Accuracy gate: compare recorded runs with a baseline and call regressions.

Everything here is a pure function of two run tables (the columns of
:mod:`pinnbench.results.store`), so the decision rules can be tested on hand-made frames. The rules
are documented in docs/check.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu

from pinnbench.results.store import _write_atomic, load_runs

# Direction of every metric the gate knows: a metric is "worse" when it moves the other way.
LOWER_IS_BETTER = ("rel_l2", "rel_l1", "rel_rmse", "max_abs", "loss", "train_s", "compile_s",
                   "peak_host_rss_mb", "peak_device_mb")
HIGHER_IS_BETTER = ("steps_per_s",)
METRICS = LOWER_IS_BETTER + HIGHER_IS_BETTER
DEFAULT_METRICS = ("rel_l2",)

DEFAULT_FACTOR = 1.5
# With 3 seeds a side, the smallest one-sided Mann-Whitney p-value is 1/20 = 0.05, so any
# smaller alpha could never call a regression at the seed count the CI suite uses.
DEFAULT_ALPHA = 0.05
MIN_SEEDS_FOR_TEST = 3

# Verdicts that fail the gate, and those that let it pass.
FAILING = ("regression", "failed", "missing")
PASSING = ("pass", "improved", "worse, not significant", "no baseline", "new")

KEY = ["problem", "method"]
REQUIRED_COLUMNS = ("problem", "method", "seed", "status")


class CheckInputError(ValueError):
    """Inputs the gate cannot judge (unknown metric, malformed or ambiguous tables)."""


def min_p_value(n: int, m: int) -> float:
    """Smallest one-sided exact Mann-Whitney p-value possible with n and m untied samples."""
    return 1.0 / math.comb(n + m, n)


def worse_by(baseline: float, current: float, metric: str) -> float:
    """How many times worse ``current`` is than ``baseline`` (< 1: better), by direction."""
    num, den = (current, baseline) if metric in LOWER_IS_BETTER else (baseline, current)
    if den == 0:
        return 1.0 if num == 0 else math.inf
    return num / den


def one_sided_p(baseline: np.ndarray, current: np.ndarray, metric: str) -> float:
    """p-value of "current is worse than baseline" (Mann-Whitney U), by direction."""
    alternative = "greater" if metric in LOWER_IS_BETTER else "less"
    return float(mannwhitneyu(current, baseline, alternative=alternative).pvalue)


def validate(frame: pd.DataFrame, name: str, metrics: Sequence[str]) -> None:
    """Raise :class:`CheckInputError` unless ``frame`` is a run table the gate can use."""
    for m in metrics:
        if m not in METRICS:
            raise CheckInputError(f"--metric: unknown metric {m!r}; expected one of: "
                                  f"{', '.join(METRICS)}")
    for col in (*REQUIRED_COLUMNS, *metrics):
        if col not in frame.columns:
            raise CheckInputError(f"{name}: no column {col!r}")
    dup = frame[frame.duplicated(["problem", "method", "seed"], keep=False)]
    if not dup.empty:
        r = dup.iloc[0]
        ids = ", ".join(dup.loc[(dup["problem"] == r["problem"]) & (dup["method"] == r["method"])
                                & (dup["seed"] == r["seed"]), "run_id"].astype(str)) \
            if "run_id" in dup else "?"
        raise CheckInputError(
            f"{name}: several runs of {r['problem']}/{r['method']} seed {r['seed']} "
            f"(run ids {ids}): runs of different settings are mixed; rerun into an empty folder")


def _statuses(runs: pd.DataFrame) -> str:
    bad = runs[runs["status"] != "ok"].sort_values("seed")
    return ", ".join(f"seed {r.seed} {r.status}" for r in bad.itertuples())


def _seeds(values: pd.Series) -> str:
    return ", ".join(str(s) for s in sorted(values))


def _row(problem: str, method: str, metric: str, **fields: object) -> dict[str, object]:
    row: dict[str, object] = {"problem": problem, "method": method, "metric": metric,
                              "n_baseline": 0, "n_current": 0, "baseline": np.nan,
                              "current": np.nan, "ratio": np.nan, "p_value": np.nan,
                              "verdict": "", "detail": ""}
    row.update(fields)
    return row


def _finite(runs: pd.DataFrame, metric: str) -> np.ndarray:
    values = runs[metric].astype(float).to_numpy()
    return values[np.isfinite(values)]


def check_cell(base: pd.DataFrame, cur: pd.DataFrame, metric: str, factor: float,
               alpha: float) -> dict[str, object]:
    """Verdict for one (problem, method, metric); ``base`` and ``cur`` are that cell's runs."""
    problem, method = base["problem"].iloc[0], base["method"].iloc[0]
    base_ok, cur_ok = base[base["status"] == "ok"], cur[cur["status"] == "ok"]
    counts = {"n_baseline": len(base_ok), "n_current": len(cur_ok)}
    problems = []
    missing = set(base["seed"]) - set(cur["seed"])
    if missing:
        problems.append(f"missing seed{'s' if len(missing) > 1 else ''} {_seeds(missing)}")
    if len(cur_ok) < len(cur):
        problems.append(_statuses(cur))
    nonfinite = cur_ok[~np.isfinite(cur_ok[metric].astype(float))]
    if len(nonfinite):
        problems.append(f"non-finite {metric} at seed {_seeds(nonfinite['seed'])}")
    if problems:
        verdict = "missing" if missing and len(problems) == 1 else "failed"
        return _row(problem, method, metric, **counts, verdict=verdict,
                    detail="; ".join(problems))

    b, c = _finite(base_ok, metric), _finite(cur_ok, metric)
    b_med, c_med = (float(np.median(b)) if b.size else np.nan), float(np.median(c))
    if not b.size:
        return _row(problem, method, metric, **counts, current=c_med, verdict="no baseline",
                    detail="baseline has no ok run")
    ratio = worse_by(b_med, c_med, metric)
    detail = ""
    p = np.nan
    if b.size >= MIN_SEEDS_FOR_TEST and c.size >= MIN_SEEDS_FOR_TEST:
        p = one_sided_p(b, c, metric)
        floor = min_p_value(b.size, c.size)
        if floor > alpha:
            detail = f"p cannot go below {floor:.3g} with these seeds: raise --alpha"
    else:
        detail = f"fewer than {MIN_SEEDS_FOR_TEST} seeds: factor alone"
    # A relative tolerance: exact p-values such as 1/20 must count as reaching alpha = 0.05.
    significant = np.isnan(p) or p <= alpha * (1 + 1e-9)
    if ratio > factor:
        verdict = "regression" if significant else "worse, not significant"
    elif ratio < 1 / factor:
        verdict = "improved"
    else:
        verdict = "pass"
    return _row(problem, method, metric, **counts, baseline=b_med, current=c_med, ratio=ratio,
                p_value=p, verdict=verdict, detail=detail)


def check_runs(baseline: pd.DataFrame, current: pd.DataFrame,
               metrics: Sequence[str] = DEFAULT_METRICS, factor: float = DEFAULT_FACTOR,
               alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """One verdict row per (problem, method, metric) of the baseline, then one per new cell.

    Columns: problem, method, metric, n_baseline, n_current (ok runs), baseline, current
    (medians over ok seeds), ratio (how many times worse, by the metric's direction), p_value
    (one-sided Mann-Whitney U; NaN below 3 seeds a side), verdict, detail.
    """
    if factor < 1:
        raise CheckInputError(f"--factor: expected a number >= 1, got {factor}")
    if not 0 < alpha <= 1:
        raise CheckInputError(f"--alpha: expected a number in (0, 1], got {alpha}")
    validate(baseline, "baseline", metrics)
    validate(current, "results", metrics)
    rows = []
    cur_groups = dict(tuple(current.groupby(KEY, sort=False)))
    for key, base in baseline.groupby(KEY, sort=True):
        cur = cur_groups.get(key)
        for metric in metrics:
            if cur is None:
                rows.append(_row(*key, metric, n_baseline=int((base["status"] == "ok").sum()),
                                 verdict="missing", detail="no runs"))
            else:
                rows.append(check_cell(base, cur, metric, factor, alpha))
    known = set(baseline.groupby(KEY).groups)
    for key, cur in current.groupby(KEY, sort=True):
        if key not in known:
            ok = cur[cur["status"] == "ok"]
            for metric in metrics:
                values = _finite(ok, metric)
                rows.append(_row(*key, metric, n_current=len(ok),
                                 current=float(np.median(values)) if values.size else np.nan,
                                 verdict="new", detail="not in the baseline"))
    return pd.DataFrame(rows, columns=list(_row("", "", "")))


def passed(verdicts: pd.DataFrame) -> bool:
    return not verdicts["verdict"].isin(FAILING).any()


def changed_settings(baseline: pd.DataFrame, current: pd.DataFrame) -> int:
    """How many current runs have a different run id (other settings) than the baseline's run
    of the same problem, method and seed."""
    if "run_id" not in baseline or "run_id" not in current:
        return 0
    cols = [*KEY, "seed", "run_id"]
    merged = current[cols].merge(baseline[cols], on=[*KEY, "seed"], suffixes=("", "_base"))
    return int((merged["run_id"] != merged["run_id_base"]).sum())


def read_baseline(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise CheckInputError(f"{path}: no such baseline file (write one with --update-baseline)")
    try:
        return pd.read_parquet(path)
    except Exception as e:  # noqa: BLE001 - any unreadable file is bad input, whatever the cause
        raise CheckInputError(f"{path}: not a readable Parquet file ({type(e).__name__})") from None


def read_results(results: str | Path) -> pd.DataFrame:
    results = Path(results)
    if not results.is_dir():
        raise CheckInputError(f"{results}: no such results folder")
    runs = load_runs(results)
    if runs.empty:
        raise CheckInputError(f"{results}: no recorded runs")
    return runs


def write_baseline(runs: pd.DataFrame, path: str | Path) -> None:
    """Write ``runs`` as the baseline file, atomically: a reader never sees half a file."""
    validate(runs, "results", ())
    _write_atomic(runs.sort_values([*KEY, "seed"], ignore_index=True), Path(path))
