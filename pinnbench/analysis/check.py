"""Accuracy gate: compare recorded runs with a baseline and call regressions.

Everything here is a pure function of two run tables (the columns of
:mod:`pinnbench.run.store`), so the decision rules can be tested on hand-made frames and
simulated (benchmarks/gate_error_rates.py). The rules are documented in docs/check.md.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from pinnbench.analysis.compare import mixed_cells
from pinnbench.run.store import load_runs, write_parquet

# Direction of every metric the gate knows: a metric is "worse" when it moves the other way.
LOWER_IS_BETTER = ("rel_l2", "rel_l1", "rel_rmse", "max_abs", "loss", "train_s", "compile_s",
                   "peak_host_rss_mb", "peak_device_mb", "coef_rel_l2")
HIGHER_IS_BETTER = ("steps_per_s",)
METRICS = LOWER_IS_BETTER + HIGHER_IS_BETTER
DEFAULT_METRICS = ("rel_l2",)
# Metrics only some problems have (an inverse problem's recovered coefficient): judged, by
# default too, where the baseline has them, and skipped in cells that have none on either side.
OPTIONAL_METRICS = ("coef_rel_l2",)

RULES = ("paired", "median")
DEFAULT_RULE = "paired"
DEFAULT_FACTOR = 1.5
# With 3 seeds a side, the smallest one-sided Mann-Whitney p-value is 1/20 = 0.05, so any
# smaller alpha could never call a regression at the seed count the CI suite uses.
DEFAULT_ALPHA = 0.05
# Paired rule: the chance, per gate run, that unchanged code whose seeds are drawn afresh fails
# the gate (split over the judged cells), and the smallest shift it ever calls a regression (a
# cell whose seeds agree to the last digit would otherwise fail on any change at all).
DEFAULT_FALSE_ALARM = 0.01
DEFAULT_MIN_FACTOR = 1.1
MIN_SEEDS_FOR_TEST = 3

# Verdicts that fail the gate, and those that let it pass.
FAILING = ("regression", "failed", "missing")
NEW = "new, not gated"
PASSING = ("pass", "improved", "worse, not significant", "no baseline", NEW)

KEY = ["problem", "method"]
REQUIRED_COLUMNS = ("problem", "method", "seed", "status")
MAX_VALUE = 80  # characters of a user's value echoed in an error line
BASELINE_META = "pinnbench.baseline"


class CheckInputError(ValueError):
    """Inputs the gate cannot judge (unknown metric, malformed or ambiguous tables)."""


def cut(value: object, limit: int = MAX_VALUE) -> str:
    """``value`` as text of at most ``limit`` characters, an ellipsis marking a cut."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclasses.dataclass(frozen=True)
class Gate:
    """The decision rule and its thresholds (docs/check.md)."""

    rule: str = DEFAULT_RULE
    factor: float = DEFAULT_FACTOR
    alpha: float = DEFAULT_ALPHA
    false_alarm: float = DEFAULT_FALSE_ALARM
    min_factor: float = DEFAULT_MIN_FACTOR

    def validate(self) -> None:
        checks = {"--rule": (self.rule in RULES, f"expected one of {', '.join(RULES)}, got "
                             f"{cut(self.rule)!r}"),
                  "--factor": (self.factor >= 1, f"expected a number >= 1, got {self.factor}"),
                  "--alpha": (0 < self.alpha <= 1,
                              f"expected a number in (0, 1], got {self.alpha}"),
                  "--false-alarm": (0 < self.false_alarm < 1,
                                    f"expected a number in (0, 1), got {self.false_alarm}"),
                  "--min-factor": (self.min_factor >= 1,
                                   f"expected a number >= 1, got {self.min_factor}")}
        for option, (ok, message) in checks.items():
            if not ok:
                raise CheckInputError(f"{option}: {message}")

    def cell_level(self, tests: int) -> float:
        """Per-cell false-alarm level so that ``tests`` independent cells together stay within
        ``false_alarm`` (Sidak): 1 - (1 - a)^(1 / tests)."""
        return 1 - (1 - self.false_alarm) ** (1 / max(tests, 1))


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
    from scipy.stats import mannwhitneyu  # scipy.stats: 0.7 s of every CLI start otherwise

    return float(mannwhitneyu(current, baseline, alternative=alternative).pvalue)


# ---- the paired rule: log-ratios per seed against the cell's own seed spread ----------------
@dataclasses.dataclass(frozen=True)
class Shift:
    """How much worse the current runs are, on a log scale, and how sure that is."""

    log_ratio: float   # mean log(worse_by) per seed (paired) or of the cell means (unpaired)
    tolerance: float   # the log ratio above which the cell is called a regression
    p_value: float     # one-sided t-test p of "current is worse"
    paired: int        # seeds paired (0: unpaired)
    spread: float      # pooled standard deviation of log values over seeds, both sides


def _worse_logs(values: np.ndarray, metric: str) -> np.ndarray:
    logs = np.log(values)
    return logs if metric in LOWER_IS_BETTER else -logs


@functools.lru_cache(maxsize=256)
def _t_quantile(level: float, df: int) -> float:
    from scipy import stats

    return float(stats.t.isf(level, df))


def paired_shift(base: dict[int, float], cur: dict[int, float], metric: str,
                 level: float, min_factor: float) -> Shift | None:
    """The paired rule on {seed: value} of one cell (ok, finite values): None where it cannot
    judge (fewer than 3 seeds a side, or values <= 0 that have no logarithm).

    The spread is the pooled standard deviation of the log values over seeds, baseline and
    current (n_b + n_c - 2 degrees of freedom); unchanged code with fresh seeds gives a shift
    of mean zero and that spread, so the t quantile at ``level`` bounds the false alarms.
    """
    b, c = np.array(list(base.values()), float), np.array(list(cur.values()), float)
    if b.size < MIN_SEEDS_FOR_TEST or c.size < MIN_SEEDS_FOR_TEST or (b <= 0).any() or (
            c <= 0).any():
        return None
    xb, xc = _worse_logs(b, metric), _worse_logs(c, metric)
    df = b.size + c.size - 2
    spread = math.sqrt((((xb - xb.mean()) ** 2).sum() + ((xc - xc.mean()) ** 2).sum()) / df)
    common = sorted(set(base) & set(cur))
    if len(common) >= MIN_SEEDS_FOR_TEST:
        d = _worse_logs(np.array([cur[s] for s in common]), metric) - _worse_logs(
            np.array([base[s] for s in common]), metric)
        shift, se, paired = float(d.mean()), spread * math.sqrt(2 / len(common)), len(common)
    else:
        shift, se, paired = float(xc.mean() - xb.mean()), spread * math.sqrt(
            1 / b.size + 1 / c.size), 0
    tolerance = max(_t_quantile(level, df) * se, math.log(min_factor))
    from scipy import stats

    p = float(stats.t.sf(shift / se, df)) if se > 0 else (0.0 if shift > 0 else 1.0)
    return Shift(shift, tolerance, p, paired, spread)


def shift_verdict(s: Shift, factor: float) -> str:
    if s.log_ratio > s.tolerance:
        return "regression"
    if s.log_ratio > math.log(factor):
        return "worse, not significant"
    return "improved" if s.log_ratio < -max(s.tolerance, math.log(factor)) else "pass"


# ---- table checks ----------------------------------------------------------------------------
def validate(frame: pd.DataFrame, name: str, metrics: Sequence[str]) -> None:
    """Raise :class:`CheckInputError` unless ``frame`` is a run table the gate can use: known
    metrics, the columns, and one configuration per (problem, method)."""
    for m in metrics:
        if m not in METRICS:
            raise CheckInputError(f"--metric: unknown metric {cut(m)!r}; expected one of: "
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
            f"(run ids {cut(ids)}): runs of different settings are mixed; rerun into an empty "
            "folder")
    mixed = mixed_cells(frame)
    if mixed:
        raise CheckInputError(f"{name}: {cut(mixed[0], 2 * MAX_VALUE)}; one cell must be one "
                              "configuration: rerun into an empty folder")


def select(frame: pd.DataFrame, only: str | None = None,
           problems: Sequence[str] | None = None) -> pd.DataFrame:
    """The runs to gate: ``only`` is a glob on 'problem/method', the problem or the method (as
    ``run --only``); ``problems`` names problems."""
    keep = np.ones(len(frame), bool)
    if only is not None:
        keep &= np.array([fnmatch.fnmatchcase(f"{p}/{m}", only) or fnmatch.fnmatchcase(p, only)
                          or fnmatch.fnmatchcase(m, only)
                          for p, m in zip(frame["problem"].astype(str),
                                          frame["method"].astype(str), strict=True)], bool)
    if problems:
        keep &= frame["problem"].isin(problems).to_numpy()
    return frame[keep]


def _statuses(runs: pd.DataFrame) -> str:
    bad = runs[runs["status"] != "ok"].sort_values("seed")
    return ", ".join(f"seed {r.seed} {r.status}" for r in bad.itertuples())


def _seeds(values: pd.Series) -> str:
    return ", ".join(str(s) for s in sorted(values))


def _row(problem: str, method: str, metric: str, **fields: object) -> dict[str, object]:
    row: dict[str, object] = {"problem": problem, "method": method, "metric": metric,
                              "n_baseline": 0, "n_current": 0, "paired": 0, "baseline": np.nan,
                              "current": np.nan, "ratio": np.nan, "tolerance": np.nan,
                              "p_value": np.nan, "verdict": "", "detail": ""}
    row.update(fields)
    return row


def _finite(runs: pd.DataFrame, metric: str) -> np.ndarray:
    values = runs[metric].astype(float).to_numpy()
    return values[np.isfinite(values)]


def _by_seed(runs: pd.DataFrame, metric: str) -> dict[int, float]:
    values = runs[metric].astype(float)
    keep = np.isfinite(values)
    return dict(zip(runs.loc[keep, "seed"].astype(int), values[keep], strict=True))


def _problems(base: pd.DataFrame, cur: pd.DataFrame, metric: str) -> tuple[list[str], bool]:
    """What makes the cell fail before any statistics, and whether seeds are missing."""
    cur_ok = cur[cur["status"] == "ok"]
    found = []
    # Other seeds of the same configuration are compared unpaired; seeds are missing when the
    # current runs are fewer than the baseline's.
    missing = set(base["seed"]) - set(cur["seed"]) if len(cur) < len(base) else set()
    if missing:
        found.append(f"missing seed{'s' if len(missing) > 1 else ''} {_seeds(missing)}")
    if len(cur_ok) < len(cur):
        found.append(_statuses(cur))
    nonfinite = cur_ok[~np.isfinite(cur_ok[metric].astype(float))]
    if len(nonfinite):
        found.append(f"non-finite {metric} at seed {_seeds(nonfinite['seed'])}")
    return found, bool(missing)


def check_cell(base: pd.DataFrame, cur: pd.DataFrame, metric: str, gate: Gate,
               tests: int = 1) -> dict[str, object]:
    """Verdict for one (problem, method, metric); ``base`` and ``cur`` are that cell's runs and
    ``tests`` the number of cells judged in the gate run (which splits the false-alarm level)."""
    problem, method = base["problem"].iloc[0], base["method"].iloc[0]
    base_ok, cur_ok = base[base["status"] == "ok"], cur[cur["status"] == "ok"]
    counts = {"n_baseline": len(base_ok), "n_current": len(cur_ok)}
    found, missing = _problems(base, cur, metric)
    if found:
        verdict = "missing" if missing and len(found) == 1 else "failed"
        return _row(problem, method, metric, **counts, verdict=verdict, detail="; ".join(found))
    return _row(problem, method, metric, **counts,
                **judge(_by_seed(base_ok, metric), _by_seed(cur_ok, metric), metric, gate, tests))


def judge(base: dict[int, float], cur: dict[int, float], metric: str, gate: Gate,
          tests: int = 1) -> dict[str, object]:
    """The statistics and verdict of one cell from {seed: value} of its ok runs with finite
    values, the current side non-empty (what ``check_cell`` does once no run is missing or
    failed; the simulation of benchmarks/gate_error_rates.py calls it directly)."""
    b, c = np.array(list(base.values()), float), np.array(list(cur.values()), float)
    c_med = float(np.median(c))
    if not b.size:
        return {"current": c_med, "verdict": "no baseline", "detail": "baseline has no ok run"}
    medians = {"baseline": float(np.median(b)), "current": c_med}
    if gate.rule == "paired":
        shift = paired_shift(base, cur, metric, gate.cell_level(tests), gate.min_factor)
        if shift is not None:
            return {**medians, "paired": shift.paired, "ratio": math.exp(shift.log_ratio),
                    "tolerance": math.exp(shift.tolerance), "p_value": shift.p_value,
                    "verdict": shift_verdict(shift, gate.factor),
                    "detail": "" if shift.paired else "other seeds than the baseline's: "
                                                      "unpaired"}
    return _median_rule(metric, b, c, medians, gate)


def _median_rule(metric: str, b: np.ndarray, c: np.ndarray, medians: dict[str, float],
                 gate: Gate) -> dict[str, object]:
    """The rule of the median ratio and Mann-Whitney (``--rule median``, and the paired rule's
    fallback where it cannot judge)."""
    ratio = worse_by(medians["baseline"], medians["current"], metric)
    detail = ""
    p = np.nan
    if b.size >= MIN_SEEDS_FOR_TEST and c.size >= MIN_SEEDS_FOR_TEST:
        p = one_sided_p(b, c, metric)
        floor = min_p_value(b.size, c.size)
        if floor > gate.alpha:
            detail = f"p cannot go below {floor:.3g} with these seeds: raise --alpha"
    else:
        detail = f"fewer than {MIN_SEEDS_FOR_TEST} seeds: factor alone"
    if gate.rule == "paired" and not detail:
        detail = "values <= 0 have no log ratio: median rule"
    # A relative tolerance: exact p-values such as 1/20 must count as reaching alpha = 0.05.
    significant = np.isnan(p) or p <= gate.alpha * (1 + 1e-9)
    if ratio > gate.factor:
        verdict = "regression" if significant else "worse, not significant"
    elif ratio < 1 / gate.factor:
        verdict = "improved"
    else:
        verdict = "pass"
    return {**medians, "ratio": ratio, "tolerance": gate.factor, "p_value": p,
            "verdict": verdict, "detail": detail}


def check_runs(baseline: pd.DataFrame, current: pd.DataFrame,
               metrics: Sequence[str] = DEFAULT_METRICS, factor: float = DEFAULT_FACTOR,
               alpha: float = DEFAULT_ALPHA, gate: Gate | None = None,
               names: tuple[str, str] = ("baseline", "results")) -> pd.DataFrame:
    """One verdict row per (problem, method, metric) of the baseline, then one per new cell.

    Columns: problem, method, metric, n_baseline, n_current (ok runs), paired (seeds paired),
    baseline, current (medians over ok seeds), ratio (how many times worse, by the metric's
    direction: the geometric mean of the per-seed ratios under the paired rule, the ratio of
    medians under the median rule), tolerance (the ratio above which the cell regresses),
    p_value, verdict, detail. ``gate`` gives the rule (default: paired); ``factor`` and
    ``alpha`` are the median rule's thresholds when no ``gate`` is given. ``names`` (the
    baseline's and the results' paths, say) name them in bad-input messages.
    """
    gate = gate or Gate(factor=factor, alpha=alpha)
    gate.validate()
    validate(baseline, names[0], metrics)
    validate(current, names[1], metrics)
    rows = []
    cur_groups = dict(tuple(current.groupby(KEY, sort=False)))
    base_groups = list(baseline.groupby(KEY, sort=True))
    tests = len(base_groups) * len(metrics)
    for key, base in base_groups:
        cur = cur_groups.get(key)
        for metric in metrics:
            if metric in OPTIONAL_METRICS and not _present(base, metric) and (
                    cur is None or not _present(cur, metric)):
                continue  # a forward problem has no coefficient to judge
            if cur is None:
                rows.append(_row(*key, metric, n_baseline=int((base["status"] == "ok").sum()),
                                 verdict="missing", detail="no runs"))
            else:
                rows.append(check_cell(base, cur, metric, gate, tests))
    known = set(baseline.groupby(KEY).groups)
    for key, cur in current.groupby(KEY, sort=True):
        if key not in known:
            ok = cur[cur["status"] == "ok"]
            for metric in metrics:
                if metric in OPTIONAL_METRICS and not _present(cur, metric):
                    continue
                values = _finite(ok, metric)
                rows.append(_row(*key, metric, n_current=len(ok),
                                 current=float(np.median(values)) if values.size else np.nan,
                                 verdict=NEW, detail="the baseline has no such cell: "
                                                     "rebaseline to gate it"))
    return pd.DataFrame(rows, columns=list(_row("", "", "")))


def _present(runs: pd.DataFrame, metric: str) -> bool:
    return metric in runs and bool(pd.to_numeric(runs[metric], errors="coerce").notna().any())


def default_metrics(baseline: pd.DataFrame) -> list[str]:
    """What the gate judges when no metric is named: rel_l2, and the optional metrics the
    baseline has."""
    return [*DEFAULT_METRICS, *(m for m in OPTIONAL_METRICS if _present(baseline, m))]


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


# ---- files -----------------------------------------------------------------------------------
def read_baseline(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise CheckInputError(f"{cut(path)}: no such baseline file (write one with "
                              "--update-baseline)")
    try:
        return pd.read_parquet(path)
    except Exception as e:
        raise CheckInputError(f"{cut(path)}: not a readable Parquet file "
                              f"({type(e).__name__})") from None


def baseline_origin(frame: pd.DataFrame) -> dict[str, object]:
    """What ``write_baseline`` recorded about where a baseline came from ({} for a file written
    before it did)."""
    origin = frame.attrs.get(BASELINE_META, {})
    return origin if isinstance(origin, dict) else {}


def read_results(results: str | Path) -> pd.DataFrame:
    results = Path(results)
    if not results.is_dir():
        raise CheckInputError(f"{cut(results)}: no such results folder")
    runs = load_runs(results)
    if runs.empty:
        raise CheckInputError(f"{cut(results)}: no recorded runs")
    return runs


def _commits(runs: pd.DataFrame) -> list[str]:
    if "git_commit" not in runs:
        return []
    return sorted(str(c) for c in runs["git_commit"].dropna().unique())


def write_baseline(runs: pd.DataFrame, path: str | Path, commit: str | None = None,
                   name: str = "results") -> None:
    """Write ``runs`` as the baseline file, atomically (a reader never sees half a file),
    recording in the file the commit the runs were recorded at (``commit`` if given, else their
    ``git_commit`` values). ``name`` names the runs in bad-input messages."""
    validate(runs, name, ())
    frame = runs.sort_values([*KEY, "seed"], ignore_index=True)
    frame.attrs = {BASELINE_META: {"commits": [commit] if commit else _commits(runs),
                                   "runs": len(runs)}}
    write_parquet(frame, Path(path))
