"""Verdicts on the papers' claims, from recorded runs, by the rules at the top of REPRODUCTION.md.

A claim is "method A beats method B on a metric, on one problem, at one step budget". Each claim
names the committed suite and profile whose runs measure it; this script reads those runs (the
Parquet rows ``pinnbench run`` writes), refuses cells it cannot judge, applies the verdict rule
and writes the markdown tables into REPRODUCTION.md between ``<!-- reproduce:KEY begin -->`` and
``<!-- reproduce:KEY end -->``, so the document cannot drift from the data.

    .venv/bin/python benchmarks/reproduce.py                  # print every block
    .venv/bin/python benchmarks/reproduce.py --write REPRODUCTION.md
    .venv/bin/python benchmarks/reproduce.py --check REPRODUCTION.md   # exit 1 on drift

The rule, paired by seed, for d_i = log(worse-direction value of A) - log(... of B):
- *reproduced*: A is better in at least 4 of 5 seeds (``ceil(0.8 n)`` of n) and the effect,
  median(-d), exceeds the seed spread (pooled standard deviation of the log values about each
  method's mean, the spread of ``pinnbench check``'s paired rule);
- *not reproduced*: the same with A and B exchanged;
- *inconclusive* otherwise, with the condition that failed and its measured value.
Shown with it: the exact one-sided sign test (ties dropped) and the exact one-sided Wilcoxon
signed-rank test, both in the claim's direction.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from pinnbench.analysis.check import LOWER_IS_BETTER, METRICS, paired_shift
from pinnbench.analysis.compare import mixed_cells
from pinnbench.run.store import load_runs
from pinnbench.run.suite import load_suite

ROOT = Path(__file__).resolve().parent.parent
MIN_SEEDS = 5
WIN_FRACTION = 0.8  # 4 of 5 seeds
REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"


class ClaimError(ValueError):
    """A claim its runs cannot judge: too few seeds, mixed budgets, commits or settings."""


@dataclasses.dataclass(frozen=True)
class Claim:
    block: str        # the REPRODUCTION.md block its table goes into
    paper: str
    statement: str    # "A beats B", in the paper's words
    problem: str
    a: str            # method label of the claimed winner
    b: str
    suite: str        # committed suite file, relative to the repository root
    profile: str | None
    results: str      # results folder the command writes
    budget: int       # budget.steps every run of the claim must have
    metric: str = "rel_l2"

    @property
    def command(self) -> str:
        profile = f" --profile {self.profile}" if self.profile else ""
        return f"pinnbench run {self.suite}{profile} --only {self.problem} --out {self.results}"


# The claims measured so far. A claim is added here only with a committed suite and profile.
CLAIMS: tuple[Claim, ...] = (
    Claim("ropinn", "RoPINN", "PINN + region beats PINN (paper 0.981 → 0.095)", "reaction",
          "region", "pinn", "suites/papers/ropinn_region.toml", "seeds5",
          "results/ropinn_region_seeds5", 1000),
    Claim("ropinn", "RoPINN", "PINN + region, the reference code's calibration, beats PINN",
          "reaction", "region_reference", "pinn", "suites/papers/ropinn_region.toml", "seeds5",
          "results/ropinn_region_seeds5", 1000),
    Claim("ropinn", "RoPINN", "PINN + region beats PINN (paper 0.840 → 0.720)", "convection",
          "region", "pinn", "suites/papers/ropinn_region.toml", "seeds5",
          "results/ropinn_region_seeds5", 1000),
    *(claim
      for problem in ("heat", "burgers", "laplace")
      for claim in (
          Claim("apts", "Data-parallel APTS", "APTS beats Adam per outer iteration", problem,
                "apts_d2", "adam", "suites/papers/apts.toml", "seeds5", "results/apts_seeds5",
                150),
          Claim("apts", "Data-parallel APTS",
                "APTS beats L-BFGS per outer iteration (paper: competitive)", problem, "apts_d2",
                "lbfgs", "suites/papers/apts.toml", "seeds5", "results/apts_seeds5", 150))),
    Claim("fbpinn", "FBPINN / ELM-FBPINN", "FBPINN (20 × 8, Adam) beats the PINN (2 × 64, Adam)",
          "oscillator", "fbpinn", "pinn", "suites/papers/fbpinn_workshop.toml", None,
          "results/fbpinn_workshop", 10000),
    Claim("fbpinn", "FBPINN / ELM-FBPINN", "ELM-FBPINN (20 × 8, CG) beats the PINN",
          "oscillator", "elm_fbpinn", "pinn", "suites/papers/fbpinn_workshop.toml", None,
          "results/fbpinn_workshop", 10000),
    Claim("glf", "GLF sampling", "GLF beats RAD (paper 0.0036 vs 0.0101)", "allen_cahn2d", "glf",
          "rad", "suites/papers/glf_allen_cahn.toml", "seeds5", "results/glf_allen_cahn_seeds5",
          10000),
    Claim("glf", "GLF sampling", "GLF beats uniform sampling", "allen_cahn2d", "glf", "uniform",
          "suites/papers/glf_allen_cahn.toml", "seeds5", "results/glf_allen_cahn_seeds5", 10000),
)


# ---- the rule ----------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Verdict:
    verdict: str
    reason: str
    seeds: tuple[int, ...]
    wins_a: int
    wins_b: int
    effect: float     # median over seeds of log(B / A) in the better direction; > 0: A better
    spread: float     # pooled seed standard deviation of the log values
    p_sign: float     # exact one-sided sign test, A better (ties dropped)
    p_wilcoxon: float  # exact one-sided signed-rank test, A better
    p_sign_b: float   # the same tests, B better
    p_wilcoxon_b: float
    median_a: float
    median_b: float


def sign_test_p(wins: int, n: int) -> float:
    """Exact one-sided sign test: P(X >= wins) for X ~ Binomial(n, 1/2); 1 when n = 0."""
    if n == 0:
        return 1.0
    return float(stats.binomtest(wins, n, 0.5, alternative="greater").pvalue)


def _wilcoxon_p(d: np.ndarray) -> float:
    """Exact one-sided signed-rank p that the differences lie below zero (zeros dropped)."""
    nonzero = d[d != 0]
    if nonzero.size == 0:
        return 1.0
    return float(stats.wilcoxon(nonzero, alternative="less", method="exact").pvalue)


def _needed(n: int) -> int:
    # The tolerance keeps 0.8 * 5 = 4.000000000000001 at 4.
    return math.ceil(WIN_FRACTION * n - 1e-9)


def judge(a: dict[int, float], b: dict[int, float], metric: str = "rel_l2") -> Verdict:
    """The verdict rule on {seed: value} of the two methods (ok runs, finite positive values).

    Raises ClaimError with fewer than MIN_SEEDS seeds run by both."""
    if metric not in METRICS:
        raise ClaimError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
    seeds = tuple(sorted(set(a) & set(b)))
    if len(seeds) < MIN_SEEDS:
        only = sorted(set(a) ^ set(b))
        raise ClaimError(f"{len(seeds)} seeds run by both methods ({', '.join(map(str, seeds))}"
                         f"{'; unpaired: ' + ', '.join(map(str, only)) if only else ''}); "
                         f"the rule needs {MIN_SEEDS}")
    va, vb = np.array([a[s] for s in seeds], float), np.array([b[s] for s in seeds], float)
    if not (np.isfinite(va).all() and np.isfinite(vb).all() and (va > 0).all()
            and (vb > 0).all()):
        raise ClaimError(f"{metric} must be finite and positive in every seed to take its log")
    sign = 1.0 if metric in LOWER_IS_BETTER else -1.0
    d = sign * (np.log(va) - np.log(vb))  # < 0: A better in that seed
    wins_a, wins_b = int((d < 0).sum()), int((d > 0).sum())
    effect = float(-np.median(d))
    # Only the spread is taken from the gate's paired rule; its level and factor play no part.
    spread = paired_shift(dict(zip(seeds, vb, strict=True)), dict(zip(seeds, va, strict=True)),
                          metric, 0.05, 1.0).spread
    n, need = len(seeds), _needed(len(seeds))
    untied = wins_a + wins_b
    if wins_a >= need and effect > spread:
        verdict = REPRODUCED
        reason = f"{wins_a} of {n} seeds, effect {effect:.3g} > spread {spread:.3g}"
    elif wins_b >= need and -effect > spread:
        verdict, reason = NOT_REPRODUCED, (f"the other way: {wins_b} of {n} seeds, effect "
                                           f"{-effect:.3g} > spread {spread:.3g}")
    else:
        verdict = INCONCLUSIVE
        parts = [f"A better in {wins_a} of {n} seeds (needs {need})"] if wins_a < need else []
        if wins_b >= need:
            parts.append(f"B better in {wins_b} of {n}")
        if abs(effect) <= spread:
            parts.append(f"effect {abs(effect):.3g} below spread {spread:.3g}")
        else:  # larger than the spread, but the seeds do not agree enough on its sign
            parts.append(f"effect {effect:.3g} (A better if > 0) above spread {spread:.3g}")
        reason = ", ".join(parts)
    return Verdict(verdict, reason, seeds, wins_a, wins_b, effect, spread,
                   sign_test_p(wins_a, untied), _wilcoxon_p(d), sign_test_p(wins_b, untied),
                   _wilcoxon_p(-d), float(np.median(va)), float(np.median(vb)))


# ---- the runs of a claim ----------------------------------------------------------------------
def _single(rows: pd.DataFrame, column: str, what: str, claim: Claim) -> object:
    values = sorted({str(v) for v in rows[column]}) if column in rows else []
    if len(values) != 1:
        raise ClaimError(f"{_name(claim)}: the runs mix {what} ({', '.join(values) or 'none'}); "
                         f"one claim is judged on one {what[:-1] if what.endswith('s') else what}")
    return values[0]


def _name(claim: Claim) -> str:
    return f"{claim.paper} {claim.problem}: {claim.a} vs {claim.b}"


def claim_runs(runs: pd.DataFrame, claim: Claim) -> pd.DataFrame:
    """The claim's rows, refused (ClaimError) where they mix budgets, commits or settings."""
    if runs.empty:
        raise ClaimError(f"{_name(claim)}: no runs in {claim.results}; run `{claim.command}`")
    rows = runs[(runs["problem"] == claim.problem) & runs["method"].isin([claim.a, claim.b])]
    for m in (claim.a, claim.b):
        if not (rows["method"] == m).any():
            raise ClaimError(f"{_name(claim)}: no runs of {m}; run `{claim.command}`")
    steps = _single(rows, "budget.steps", "budgets", claim)
    if float(steps) != claim.budget:
        raise ClaimError(f"{_name(claim)}: runs at budget.steps = {steps}, the claim is at "
                         f"{claim.budget}")
    _single(rows, "git_commit", "commits", claim)
    mixed = mixed_cells(rows)
    if mixed:
        raise ClaimError(f"{_name(claim)}: " + "; ".join(mixed))
    return rows


def _values(rows: pd.DataFrame, method: str, metric: str) -> dict[int, float]:
    ok = rows[(rows["method"] == method) & (rows["status"] == "ok")]
    return {int(s): float(v) for s, v in zip(ok["seed"], ok[metric], strict=True)}


def suite_run_ids(claim: Claim) -> set[str]:
    """The run ids the claim's committed suite and profile name for its two cells."""
    suite = load_suite(ROOT / claim.suite, claim.profile)
    return {spec.run_id for m in (claim.a, claim.b)
            for spec in suite.runs(only=f"{claim.problem}/{m}")}


def evaluate(claim: Claim, runs: pd.DataFrame, expected: set[str] | None = None
             ) -> tuple[Verdict, pd.DataFrame]:
    """Verdict and rows of one claim. With ``expected`` (run ids of the suite and profile),
    rows that are not among them, e.g. from an edited copy of the suite, are refused."""
    rows = claim_runs(runs, claim)
    if expected is not None:
        foreign = sorted(set(rows["run_id"]) - expected)
        if foreign:
            raise ClaimError(f"{_name(claim)}: {len(foreign)} runs are not runs of "
                             f"{claim.suite} --profile {claim.profile} as committed "
                             f"({', '.join(foreign[:3])}); rerun `{claim.command}`")
    failed = rows[rows["status"] != "ok"]
    try:
        verdict = judge(_values(rows, claim.a, claim.metric), _values(rows, claim.b, claim.metric),
                        claim.metric)
    except ClaimError as e:
        note = f" ({len(failed)} runs not ok: {', '.join(sorted(set(failed['status'])))})" \
            if len(failed) else ""
        raise ClaimError(f"{_name(claim)}: {e}{note}") from None
    return verdict, rows


# ---- markdown ---------------------------------------------------------------------------------
def _num(x: float) -> str:
    return f"{x:.3g}"


def _seed_range(seeds: Sequence[int]) -> str:
    s = list(seeds)
    return f"{s[0]}–{s[-1]}" if s == list(range(s[0], s[-1] + 1)) and len(s) > 2 else \
        ", ".join(map(str, s))


def block_markdown(results: Sequence[tuple[Claim, Verdict | str, pd.DataFrame | None]]) -> str:
    """The table of one block: one row per claim, then provenance and per-seed values."""
    head = ("| claim | problem | budget (steps) | seeds | median A | median B | A better | "
            "median log(B/A) | seed spread | sign test p, A / B better | "
            "Wilcoxon p, A / B better | verdict |\n"
            "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
    lines, notes = [head], []
    for claim, v, rows in results:
        label = f"{claim.statement}: A = {claim.a}, B = {claim.b}, {claim.metric}"
        if isinstance(v, str):  # refused: the reason instead of figures
            lines.append(f"| {label} | {claim.problem} | {claim.budget} | – | – | – | – | – | – "
                         f"| – | – | not judged: {v} |")
            continue
        lines.append(
            f"| {label} | {claim.problem} | {claim.budget} | {_seed_range(v.seeds)} | "
            f"{_num(v.median_a)} | {_num(v.median_b)} | {v.wins_a}/{len(v.seeds)} | "
            f"{v.effect:.3f} | {v.spread:.3f} | {_num(v.p_sign)} / {_num(v.p_sign_b)} | "
            f"{_num(v.p_wilcoxon)} / {_num(v.p_wilcoxon_b)} | "
            f"**{v.verdict}** ({v.reason}) |")
        commit = str(rows["git_commit"].iloc[0])[:10]
        per_seed = ", ".join(
            f"{s}: {_num(rows[(rows.method == claim.a) & (rows.seed == s)][claim.metric].iloc[0])}"
            f" / {_num(rows[(rows.method == claim.b) & (rows.seed == s)][claim.metric].iloc[0])}"
            for s in v.seeds)
        notes.append(f"- {claim.problem}, {claim.a} / {claim.b}: `{claim.command}` at commit "
                     f"`{commit}` (suite "
                     f"`{rows['suite'].iloc[0]}`, "
                     f"{f'profile `{claim.profile}`' if claim.profile else 'no profile'}); "
                     f"{claim.metric} "
                     f"A / B per seed: {per_seed}.")
    tests = ("Log is natural. p-values are exact and one-sided, first for A better (the claim), "
             "then for B better: sign test on the seeds that do not tie, Wilcoxon signed-rank on "
             "the paired log-ratios; with 5 seeds neither can go below 1/32 = 0.031.")
    return "\n".join(lines) + "\n\n" + "\n".join(notes + [tests])


def render(claims: Sequence[Claim] = CLAIMS, check_suite: bool = True) -> dict[str, str]:
    """Markdown per block key; a claim that cannot be judged shows why instead of figures. A
    block with a claim whose results folder is absent (a fresh clone) is left out, so that
    rewriting a document never replaces measured tables by "no runs"."""
    by_block: dict[str, list] = {}
    cache: dict[str, pd.DataFrame] = {}
    absent = set()
    for claim in claims:
        folder = ROOT / claim.results
        if not folder.exists():
            print(f"{claim.results} is absent: block {claim.block!r} left as it is; run "
                  f"`{claim.command}`", file=sys.stderr)
            absent.add(claim.block)
            continue
        if claim.results not in cache:
            cache[claim.results] = load_runs(folder) if folder.exists() else pd.DataFrame()
        try:
            expected = suite_run_ids(claim) if check_suite else None
            verdict, rows = evaluate(claim, cache[claim.results], expected)
            by_block.setdefault(claim.block, []).append((claim, verdict, rows))
        except ClaimError as e:
            print(f"refused: {e}", file=sys.stderr)
            by_block.setdefault(claim.block, []).append((claim, str(e), None))
    return {k: block_markdown(v) for k, v in by_block.items() if k not in absent}


def _pattern(key: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- reproduce:{re.escape(key)} begin[^>]*-->\n).*?"
                      rf"(\n<!-- reproduce:{re.escape(key)} end -->)", re.S)


def replace_blocks(text: str, blocks: dict[str, str]) -> str:
    """The document with each marked block's content replaced; a block the document lacks is an
    error (a claim whose table would be shown nowhere)."""
    for key, body in blocks.items():
        pattern = _pattern(key)
        if not pattern.search(text):
            raise ClaimError(f"no block <!-- reproduce:{key} begin --> ... end in the document")
        text = pattern.sub(lambda m, body=body: m.group(1) + body + m.group(2), text)
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", type=Path, help="rewrite the blocks of this document")
    parser.add_argument("--check", type=Path, help="exit 1 when this document's blocks differ")
    args = parser.parse_args(argv)
    blocks = render()
    if args.write or args.check:
        path = args.write or args.check
        old = path.read_text()
        new = replace_blocks(old, blocks)
        if args.check:
            if new != old:
                print(f"{path}: tables differ from the recorded runs", file=sys.stderr)
                return 1
            return 0
        path.write_text(new)
        print(f"{path}: {len(blocks)} blocks written")
        return 0
    for key, body in blocks.items():
        print(f"<!-- reproduce:{key} -->\n{body}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
