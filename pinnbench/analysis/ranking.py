"""Statistics across problems: time to a target error, average ranks, the Friedman test,
Wilcoxon signed-rank comparisons with Holm's correction, and Dolan-Moré performance profiles.

Every function here is pure: it takes tables and returns tables. Scores are costs (lower is
better). A run whose status is not ``ok`` scores ``inf``, so it loses to every finished run and
is never averaged away: a (problem, method) cell whose median over seeds is ``inf`` means most of
its runs failed or never reached the target.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats


def method_labels(runs: pd.DataFrame, by: Sequence[str] = ("method",)) -> pd.Series:
    """The label of each run's compared variant, as in the comparison table: the ``by`` columns
    joined by ``/``, split by configuration where one label covers runs of several settings
    (:func:`pinnbench.analysis.compare.cell_keys`)."""
    from pinnbench.analysis.compare import cell_keys

    return cell_keys(runs, by)["variant"].astype(str)


def run_scores(runs: pd.DataFrame, metric: str, by: Sequence[str] = ("method",)) -> pd.DataFrame:
    """One row per run: ``problem``, ``method`` (label), ``seed`` and ``score`` = the metric, or
    ``inf`` where the run did not finish ok or recorded no finite value."""
    if metric not in runs.columns:
        raise KeyError(f"no column {metric!r}")
    value = pd.to_numeric(runs[metric], errors="coerce").astype(float)
    ok = runs["status"].eq("ok") & np.isfinite(value)
    return pd.DataFrame({"problem": runs["problem"].to_numpy(),
                         "method": method_labels(runs, by).to_numpy(),
                         "seed": runs["seed"].to_numpy(),
                         "score": np.where(ok, value, np.inf)})


def time_to_target(runs: pd.DataFrame, history: pd.DataFrame, metric: str, target: float,
                   by: Sequence[str] = ("method",)) -> pd.DataFrame:
    """Per run, the first evaluation at which ``metric <= target``: its wall time (``time_s``,
    training time so far) and ``step``. Runs that never get there, including every run that did
    not finish ok, have ``reached`` False and ``inf`` time and step."""
    per_run = pd.DataFrame({"run_id": runs["run_id"].to_numpy(),
                            "problem": runs["problem"].to_numpy(),
                            "method": method_labels(runs, by).to_numpy(),
                            "seed": runs["seed"].to_numpy(),
                            "status": runs["status"].to_numpy()})
    first = pd.DataFrame(columns=["run_id", "time_s", "step"])
    if not history.empty and metric in history.columns:
        hit = history[pd.to_numeric(history[metric], errors="coerce") <= target]
        hit = hit.sort_values(["run_id", "step"]).drop_duplicates("run_id")
        first = hit[["run_id", "train_s", "step"]].rename(columns={"train_s": "time_s"})
    per_run = per_run.merge(first, on="run_id", how="left")
    per_run["reached"] = per_run["time_s"].notna() & per_run["status"].eq("ok")
    for col in ("time_s", "step"):
        per_run[col] = np.where(per_run["reached"], per_run[col].astype(float), np.inf)
    return per_run


def half_reached(values: np.ndarray) -> float:
    """The time (or step) by which half of the seeds had reached the target: the median, and
    for an even count the lower of the two middle values. It is ``inf`` exactly when fewer than
    half of the seeds got there (a plain median of [t, inf] would call one of two "not reached")."""
    ordered = np.sort(np.asarray(values, float))
    return float(ordered[(ordered.size - 1) // 2]) if ordered.size else np.nan


def target_summary(per_run: pd.DataFrame) -> pd.DataFrame:
    """Per (problem, method): ``reached`` as "k/n" and, over seeds, the time and step by which
    half of them had reached the target (:func:`half_reached`; a run that never reached it
    counts as infinitely slow, so the value is ``inf`` when fewer than half got there)."""
    rows = []
    for (problem, method), g in per_run.groupby(["problem", "method"], sort=True):
        rows.append({"problem": problem, "method": method,
                     "target_reached": f"{int(g['reached'].sum())}/{len(g)}",
                     "target_s": half_reached(g["time_s"]),
                     "target_step": half_reached(g["step"])})
    return pd.DataFrame(rows, columns=["problem", "method", "target_reached", "target_s",
                                       "target_step"])


def cell_matrix(scores: pd.DataFrame, column: str = "score") -> pd.DataFrame:
    """Problems x methods: the median over seeds of ``column`` (``inf`` stays ``inf``). A cell
    with no runs is NaN."""
    return scores.pivot_table(index="problem", columns="method", values=column,
                              aggfunc="median", dropna=False)


def complete_problems(matrix: pd.DataFrame) -> pd.DataFrame:
    """The problems on which every method was run (a NaN cell means not run; inf means run and
    failed); the block design of the tests below needs all of them."""
    return matrix.dropna(axis=0, how="any")


def rank_matrix(matrix: pd.DataFrame) -> pd.DataFrame:
    """Rank of each method within each problem, 1 = lowest score; ties share the average rank,
    and all infinite scores tie for last."""
    return matrix.rank(axis=1, method="average")


def average_ranks(matrix: pd.DataFrame) -> pd.Series:
    """Mean rank of each method over the problems where every method was run, best first."""
    return rank_matrix(complete_problems(matrix)).mean(axis=0).sort_values()


@dataclasses.dataclass(frozen=True)
class Friedman:
    statistic: float
    p_value: float
    n_problems: int
    n_methods: int
    note: str = ""
    # The smallest p the test can give with this many problems and methods (every problem
    # ranking the methods alike): a level below it can never be reached.
    min_p: float = np.nan


def friedman_min_p(n_problems: int, n_methods: int) -> float:
    """Smallest p-value of the (chi-square) Friedman test: its statistic is largest, n (k - 1),
    when every problem ranks the k methods in the same order."""
    k = n_methods
    return float(stats.chi2.sf(n_problems * (k - 1), k - 1)) if k > 1 else np.nan


def wilcoxon_min_p(n: int) -> float:
    """Smallest two-sided exact p-value of the signed-rank test on n non-zero differences (all
    of one sign): 2 / 2^n."""
    return min(1.0, 2.0 ** (1 - n)) if n > 0 else 1.0


def friedman_test(matrix: pd.DataFrame) -> Friedman:
    """Friedman's test that all methods have the same rank distribution across problems."""
    complete = complete_problems(matrix)
    n, k = complete.shape
    if k < 3:
        return Friedman(np.nan, np.nan, n, k, "needs 3 or more methods")
    if n < 2:
        return Friedman(np.nan, np.nan, n, k, "needs 2 or more problems run by every method")
    # The test ranks within each problem; giving it the ranks keeps infinite scores out of it.
    ranks = rank_matrix(complete).to_numpy()
    floor = friedman_min_p(n, k)
    if np.all(ranks == ranks[:, :1]):
        return Friedman(0.0, 1.0, n, k, "every method ties on every problem", floor)
    result = stats.friedmanchisquare(*ranks.T)
    return Friedman(float(result.statistic), float(result.pvalue), n, k, min_p=floor)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment of p-values (family-wise error), in the input order."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted


def _log_differences(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Paired differences of log10 scores (so problems with errors of different sizes weigh
    alike). The signed-rank test uses only the order of their magnitudes, so a difference
    against an infinite score is exactly represented by one larger than every finite one."""
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.log10(a) - np.log10(b)
    both_inf = np.isinf(a) & np.isinf(b)
    d[both_inf] = 0.0
    finite = np.isfinite(d)
    big = (np.abs(d[finite]).max() if finite.any() else 0.0) + 1.0
    d[~finite] = np.where(np.isinf(a[~finite]), big, -big)
    return d


def wilcoxon_holm(matrix: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Every pair of methods: a two-sided Wilcoxon signed-rank test over the problems both ran
    (paired log10 scores), with Holm-adjusted p-values across all pairs. ``wins_a`` counts the
    problems where ``a`` scored lower; ``better`` names the winner where ``p_holm <= alpha``."""
    complete = complete_problems(matrix)
    rows = []
    for a, b in combinations(complete.columns, 2):
        x, y = complete[a].to_numpy(float), complete[b].to_numpy(float)
        d = _log_differences(x, y)
        nonzero = d[d != 0]
        p = 1.0 if nonzero.size == 0 else float(stats.wilcoxon(nonzero).pvalue)
        rows.append({"a": a, "b": b, "n": len(d), "wins_a": int((d < 0).sum()),
                     "wins_b": int((d > 0).sum()), "ties": int((d == 0).sum()), "p": p,
                     "min_p": wilcoxon_min_p(nonzero.size)})
    table = pd.DataFrame(rows, columns=["a", "b", "n", "wins_a", "wins_b", "ties", "p", "min_p"])
    table["p_holm"] = holm(table["p"].to_numpy()) if len(table) else []
    # Holm multiplies the smallest p by the number of pairs, so no adjusted p can fall below
    # that times the smallest attainable one; a pair can reach alpha only above both floors.
    family = min(1.0, len(table) * table["min_p"].min()) if len(table) else 1.0
    table["min_p_holm"] = np.maximum(table["min_p"], family) if len(table) else []
    table["reachable"] = table["min_p_holm"] <= alpha * (1 + 1e-9)
    significant = table["p_holm"] <= alpha
    winner = np.where(table["wins_a"] > table["wins_b"], table["a"], table["b"])
    table["better"] = np.where(significant & (table["wins_a"] != table["wins_b"]), winner, "")
    return table


def performance_ratios(costs: pd.DataFrame) -> pd.DataFrame:
    """Dolan-Moré ratios: each instance's (row's) cost divided by the best cost on it. An
    instance nobody solved gives ``inf`` everywhere; a best cost of zero gives ratio 1 to the
    methods that matched it and ``inf`` to the rest."""
    c = costs.to_numpy(float)
    best = np.min(np.where(np.isnan(c), np.inf, c), axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = c / best
    r = np.where(np.isinf(best), np.inf, r)
    r = np.where((best == 0) & (c == 0), 1.0, r)
    r = np.where((best == 0) & (c > 0), np.inf, r)
    return pd.DataFrame(r, index=costs.index, columns=costs.columns)


def performance_profile(ratios: pd.DataFrame, taus: Sequence[float]) -> pd.DataFrame:
    """rho_m(tau): the fraction of instances on which method ``m`` is within a factor ``tau`` of
    the best. Rows are the taus, columns the methods."""
    r = ratios.to_numpy(float)
    taus = np.asarray(taus, dtype=float)
    rho = (r[None, :, :] <= taus[:, None, None]).mean(axis=1)
    return pd.DataFrame(rho, index=pd.Index(taus, name="tau"), columns=ratios.columns)


def profile_taus(ratios: pd.DataFrame, n: int = 200) -> np.ndarray:
    """Log-spaced taus from 1 to a little past the largest finite ratio."""
    r = ratios.to_numpy(float)
    finite = r[np.isfinite(r)]
    top = max(2.0, float(finite.max()) * 1.1) if finite.size else 2.0
    return np.geomspace(1.0, top, n)


def instance_costs(scores: pd.DataFrame, column: str = "score") -> pd.DataFrame:
    """Instances x methods for a performance profile: one instance per (problem, seed), so every
    run counts once and a failed run is one lost instance."""
    return scores.pivot_table(index=["problem", "seed"], columns="method", values=column,
                              aggfunc="median", dropna=False)


PROFILE_TAUS = (1.0, 2.0, 10.0)


@dataclasses.dataclass(frozen=True)
class RankSummary:
    """Everything ``compare --ranks`` shows for one criterion (final error, or time to target)."""

    criterion: str
    ranks: pd.Series
    friedman: Friedman
    pairwise: pd.DataFrame
    profile: pd.DataFrame
    skipped: tuple[str, ...]
    alpha: float = 0.05


def summarize(scores: pd.DataFrame, criterion: str, alpha: float = 0.05,
              column: str = "score") -> RankSummary:
    """Ranks and tests over the per-problem medians of ``column`` (per-run scores as from
    ``run_scores`` or ``time_to_target``), and a profile over (problem, seed) instances: the
    fraction where each method is best, within 2x and 10x of the best, and finite at all."""
    matrix = cell_matrix(scores, column)
    complete = complete_problems(matrix)
    skipped = tuple(str(p) for p in matrix.index.difference(complete.index))
    ratios = performance_ratios(instance_costs(scores, column))
    profile = performance_profile(ratios, PROFILE_TAUS)
    profile.index = ["best" if t == 1 else f"within {t:g}x" for t in PROFILE_TAUS]
    solved = pd.DataFrame([np.isfinite(ratios.to_numpy(float)).mean(axis=0)],
                          index=["solved"], columns=ratios.columns)
    return RankSummary(criterion, average_ranks(matrix), friedman_test(matrix),
                       wilcoxon_holm(matrix, alpha), pd.concat([profile, solved]), skipped,
                       alpha)


def _num(x: float, spec: str) -> str:
    return "—" if x is None or np.isnan(x) else format(x, spec)


def friedman_line(f: Friedman, alpha: float) -> str:
    """The Friedman result in words; a p-value is printed only where it could reach ``alpha``."""
    if f.note:
        return f"Friedman test not done: {f.note}"
    if f.min_p > alpha:
        return (f"Friedman test cannot reach p <= {alpha:g} with {f.n_problems} problems and "
                f"{f.n_methods} methods: the smallest possible p is {f.min_p:.3g}, so its p "
                "says nothing; run more problems")
    return f"Friedman χ² = {f.statistic:.3f}, p = {f.p_value:.3g}"


def _pairs_caption(summary: RankSummary) -> str:
    caption = f"Wilcoxon signed-rank, Holm-adjusted, on {summary.criterion}"
    pairs = summary.pairwise
    if len(pairs) and not pairs["reachable"].any():
        n = int(pairs["n"].max())
        caption += (f"; no pair can reach p <= {summary.alpha:g}: with {n} problem(s) the "
                    f"smallest possible Holm-adjusted p is {pairs['min_p_holm'].min():.3g} "
                    "(p not shown; run more problems)")
    elif len(pairs) and not pairs["reachable"].all():
        caption += f"; n/a: the pair cannot reach p <= {summary.alpha:g} with its problems"
    return caption


def _p_cells(r: object) -> list[str]:
    if not r.reachable:
        return ["n/a", "n/a"]
    return [_num(r.p, ".3g"), _num(r.p_holm, ".3g")]


def summary_tables(summary: RankSummary) -> list[tuple[str, list[str], list[list[str]]]]:
    """The summary as (caption, header, rows) text tables, shared by every output format."""
    f = summary.friedman
    scope = f"{f.n_problems} problem(s) run by all {f.n_methods} methods"
    if summary.skipped:
        scope += f"; left out (not run by every method): {', '.join(summary.skipped)}"
    ranks = (f"average rank on {summary.criterion} (1 = best; {scope}). "
             f"{friedman_line(f, summary.alpha)}",
             ["method", "average rank"],
             [[str(m), f"{r:.2f}"] for m, r in summary.ranks.items()])
    pairs = (_pairs_caption(summary),
             ["a", "b", "problems", "a wins", "b wins", "ties", "p", "p (Holm)", "better"],
             [[str(r.a), str(r.b), str(r.n), str(r.wins_a), str(r.wins_b), str(r.ties),
               *_p_cells(r), str(r.better) or "—"]
              for r in summary.pairwise.itertuples()])
    prof = summary.profile
    profile = (f"performance profile on {summary.criterion} over (problem, seed) runs: fraction "
               "within a factor of the best; failed runs count as infinitely bad",
               ["method", *map(str, prof.index)],
               [[str(m), *(f"{prof.loc[i, m]:.2f}" for i in prof.index)] for m in prof.columns])
    return [ranks, pairs, profile]


def _summary_md(caption: str, header: list[str], rows: list[list[str]]) -> str:
    def md(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [f"**{md(caption)}**", "", "| " + " | ".join(map(md, header)) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(map(md, row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _summary_latex(caption: str, header: list[str], rows: list[list[str]]) -> str:
    from pinnbench.analysis.compare import _latex_escape

    lines = [f"% {caption}", f"\\begin{{tabular}}{{{'l' * len(header)}}}", "\\toprule",
             " & ".join(map(_latex_escape, header)) + " \\\\", "\\midrule"]
    lines += [" & ".join(map(_latex_escape, row)) + " \\\\" for row in rows]
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


def _summary_html(caption: str, header: list[str], rows: list[list[str]]) -> str:
    import html

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "\n".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                     for row in rows)
    return (f'<table class="pinnbench-ranks">\n<caption>{html.escape(caption)}</caption>\n'
            f"<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>\n")


# Format -> the writer of one rank table; CSV has none: these tables are text, not numbers.
SUMMARY_FORMATS: dict[str, Callable[[str, list[str], list[list[str]]], str]] = {
    "md": _summary_md, "latex": _summary_latex, "html": _summary_html}


def summary_formats() -> str:
    """The formats of the rank tables, as a message names them ("md, latex or html")."""
    *rest, last = SUMMARY_FORMATS
    return f"{', '.join(rest)} or {last}"


def format_summary(summary: RankSummary, fmt: str) -> str:
    """The summary in ``md``, ``latex`` (booktabs) or ``html``."""
    if fmt not in SUMMARY_FORMATS:
        raise ValueError(f"no {fmt!r} form of the rank tables; use {summary_formats()}")
    write = SUMMARY_FORMATS[fmt]
    return "\n".join(write(caption, header, rows)
                     for caption, header, rows in summary_tables(summary))
