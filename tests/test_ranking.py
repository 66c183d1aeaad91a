"""Statistics across problems on hand-made tables whose answers are worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pinnbench.analysis import ranking
from pinnbench.cli import app

INF = math.inf


def matrix(rows: dict[str, list[float]], methods: str = "ABC") -> pd.DataFrame:
    return pd.DataFrame(rows, index=list(methods)).T


def test_ranks_with_ties_and_failures():
    m = matrix({"p1": [0.1, 0.2, 0.3], "p2": [0.5, 0.5, INF], "p3": [INF, 0.1, INF]})
    r = ranking.rank_matrix(m)
    assert r.loc["p1"].tolist() == [1, 2, 3]
    assert r.loc["p2"].tolist() == [1.5, 1.5, 3]
    assert r.loc["p3"].tolist() == [2.5, 1, 2.5]
    avg = ranking.average_ranks(m)
    assert avg.index.tolist() == ["B", "A", "C"]
    assert avg.tolist() == pytest.approx([4.5 / 3, 5 / 3, 8.5 / 3])


def test_problems_a_method_did_not_run_are_left_out():
    m = matrix({"p1": [0.1, 0.2, 0.3], "p2": [0.3, np.nan, 0.1]})
    assert ranking.average_ranks(m).to_dict() == {"A": 1.0, "B": 2.0, "C": 3.0}
    s = ranking.summarize(pd.DataFrame({"problem": ["p1"] * 3 + ["p2"] * 2,
                                        "method": ["A", "B", "C", "A", "C"], "seed": 0,
                                        "score": [0.1, 0.2, 0.3, 0.3, 0.1]}), "err")
    assert s.skipped == ("p2",)


def test_friedman_consistent_order():
    # Four problems, A < B < C on each: mean ranks 1, 2, 3, so
    # chi2 = 12 N / (k (k+1)) * (sum R^2 - k (k+1)^2 / 4) = 4 * (14 - 12) = 8, and with
    # 2 degrees of freedom p = exp(-chi2 / 2).
    m = matrix({f"p{i}": [0.1 * i, 0.2 * i, INF] for i in range(1, 5)})
    f = ranking.friedman_test(m)
    assert (f.statistic, f.n_problems, f.n_methods, f.note) == (pytest.approx(8.0), 4, 3, "")
    assert f.p_value == pytest.approx(math.exp(-4))


def test_friedman_needs_three_methods_and_two_problems():
    assert "3 or more methods" in ranking.friedman_test(matrix({"p": [1, 2]}, "AB")).note
    assert np.isnan(ranking.friedman_test(matrix({"p": [1, 2, 3]})).p_value)
    tie = ranking.friedman_test(matrix({"p": [1, 1, 1], "q": [2, 2, 2]}))
    assert (tie.statistic, tie.p_value) == (0.0, 1.0)


def test_friedman_says_when_it_cannot_reach_significance():
    # Two problems, three methods, the same order on both: the largest statistic there is,
    # chi2 = n (k - 1) = 4, p = exp(-2) = 0.135 > 0.05, so the p is not a result.
    f = ranking.friedman_test(matrix({"p1": [0.1, 0.2, 0.3], "p2": [0.2, 0.3, 0.4]}))
    assert f.statistic == pytest.approx(4.0)
    assert f.p_value == pytest.approx(math.exp(-2)) == pytest.approx(f.min_p)
    line = ranking.friedman_line(f, 0.05)
    assert "cannot reach p <= 0.05 with 2 problems and 3 methods" in line and "0.135" in line
    assert "p = " not in line
    # Four problems can: the smallest p is exp(-4) = 0.018.
    four = ranking.friedman_test(matrix({f"p{i}": [0.1 * i, 0.2 * i, 0.3 * i]
                                         for i in range(1, 5)}))
    assert four.min_p == pytest.approx(math.exp(-4))
    assert ranking.friedman_line(four, 0.05).startswith("Friedman χ² = 8.000, p = 0.0183")


def test_wilcoxon_says_when_no_pair_can_reach_significance():
    # Two problems: the smallest two-sided exact p is 2 / 2^2 = 0.5, and Holm over 3 pairs
    # cannot go below 1.
    m = matrix({"p1": [0.1, 0.2, 0.3], "p2": [0.2, 0.3, 0.4]})
    t = ranking.wilcoxon_holm(m)
    assert t["p"].tolist() == pytest.approx([0.5, 0.5, 0.5])
    assert t["min_p"].tolist() == pytest.approx([0.5, 0.5, 0.5])
    assert not t["reachable"].any()
    s = ranking.summarize(pd.DataFrame({"problem": ["p1"] * 3 + ["p2"] * 3,
                                        "method": list("ABC") * 2, "seed": 0,
                                        "score": [0.1, 0.2, 0.3, 0.2, 0.3, 0.4]}), "err")
    caption, _, rows = ranking.summary_tables(s)[1]
    assert "no pair can reach p <= 0.05: with 2 problem(s)" in caption
    assert all(r[6:8] == ["n/a", "n/a"] for r in rows)
    # Six problems, two methods: 2 / 2^6 = 0.03125 is within reach, and is reached.
    six = ranking.wilcoxon_holm(matrix({f"p{i}": [0.1, 0.5] for i in range(6)}, "AB"))
    assert six["reachable"].tolist() == [True]
    assert six["p"].tolist() == pytest.approx([2 / 2 ** 6])
    assert six["better"].tolist() == ["A"]


def test_half_reached_is_not_reached_only_when_fewer_than_half_got_there():
    assert ranking.half_reached([1.0, INF]) == 1.0  # one of two seeds: half got there
    assert ranking.half_reached([INF, INF]) == INF
    assert ranking.half_reached([3.0, 1.0, INF]) == 3.0
    assert ranking.half_reached([1.0, INF, INF]) == INF  # one of three: fewer than half
    assert ranking.half_reached([4.0, 2.0, 1.0, 3.0]) == 2.0


def test_holm():
    # Sorted 0.01, 0.03, 0.04 are scaled by 3, 2, 1 -> 0.03, 0.06, 0.04, then made monotone.
    assert ranking.holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert ranking.holm([0.5, 0.9]).tolist() == pytest.approx([1.0, 1.0])


def test_wilcoxon_holm_exact_p_values():
    # A beats B by a different factor on each of 5 problems: W = 0, exact two-sided
    # p = 2 / 2^5 = 0.0625. A against C: C failed on two problems, which count as the largest
    # differences, and C wins the other three, so the signed ranks are 1, 2, 3 (C) against 4, 5
    # (A): W = 6, p = 2 * P(W <= 6) = 2 * 10 / 32 = 0.625. B against C likewise.
    m = matrix({f"p{i}": [10.0 ** -i, 10.0 ** (-i) * (i + 1), 10.0 ** (-i) / 2 if i > 2 else INF]
                for i in range(1, 6)})
    t = ranking.wilcoxon_holm(m, alpha=0.2).set_index(["a", "b"])
    assert t.loc[("A", "B"), ["wins_a", "wins_b", "ties"]].tolist() == [5, 0, 0]
    assert t.loc[("A", "B"), "p"] == pytest.approx(0.0625)
    assert t.loc[("A", "C"), ["wins_a", "wins_b"]].tolist() == [2, 3]
    assert t.loc[("A", "C"), "p"] == pytest.approx(0.625)
    assert t["p_holm"].tolist() == pytest.approx([0.1875, 1.0, 1.0])
    assert t["better"].tolist() == ["A", "", ""]


def test_wilcoxon_all_ties():
    t = ranking.wilcoxon_holm(matrix({"p": [INF, INF], "q": [0.1, 0.1]}, "AB"))
    assert t[["ties", "p", "p_holm", "better"]].iloc[0].tolist() == [2, 1.0, 1.0, ""]


def test_performance_profile():
    costs = pd.DataFrame({"A": [1.0, 4.0, INF, INF, 0.0], "B": [2.0, 1.0, 3.0, INF, 1.0]})
    r = ranking.performance_ratios(costs)
    assert r["A"].tolist() == [1.0, 4.0, INF, INF, 1.0]
    assert r["B"].tolist() == [2.0, 1.0, 1.0, INF, INF]
    rho = ranking.performance_profile(r, [1.0, 2.0, 4.0, 1e9])
    assert rho["A"].tolist() == pytest.approx([0.4, 0.4, 0.6, 0.6])
    assert rho["B"].tolist() == pytest.approx([0.4, 0.6, 0.6, 0.6])
    taus = ranking.profile_taus(r)
    assert taus[0] == 1.0 and taus[-1] == pytest.approx(4.4)


def runs_and_history() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two methods x 3 seeds on one problem; history rows (step, wall s, error) per run."""
    curves = {
        ("fast", 0, "ok"): [(0, 0.0, 1.0), (10, 1.0, 1e-2), (20, 2.0, 1e-4)],
        ("fast", 1, "ok"): [(0, 0.0, 1.0), (10, 1.5, 1e-3), (20, 3.0, 1e-4)],
        ("fast", 2, "diverged"): [(0, 0.0, 1.0), (10, 0.5, 1e-4)],
        ("slow", 0, "ok"): [(0, 0.0, 1.0), (10, 4.0, 1e-2), (20, 8.0, 5e-4)],
        ("slow", 1, "ok"): [(0, 0.0, 1.0), (10, 5.0, 1e-2)],
        ("slow", 2, "ok"): [(0, 0.0, 1.0), (10, 2.0, 1e-2), (20, 6.0, 1e-3)],
    }
    runs, hist = [], []
    for (method, seed, status), curve in curves.items():
        rid = f"{method}{seed}"
        runs.append({"run_id": rid, "problem": "p", "method": method, "seed": seed,
                     "status": status, "rel_l2": curve[-1][2] if status == "ok" else np.nan})
        hist += [{"run_id": rid, "step": s, "train_s": t, "rel_l2": e} for s, t, e in curve]
    return pd.DataFrame(runs), pd.DataFrame(hist)


def test_time_to_target():
    runs, hist = runs_and_history()
    per_run = ranking.time_to_target(runs, hist, "rel_l2", 1e-3).set_index("run_id")
    assert per_run.loc["fast0", ["reached", "time_s", "step"]].tolist() == [True, 2.0, 20]
    assert per_run.loc["fast1", ["time_s", "step"]].tolist() == [1.5, 10]
    # It got there, but then diverged: a failed run never counts as reaching the target.
    assert not per_run.loc["fast2", "reached"] and per_run.loc["fast2", "time_s"] == INF
    assert per_run.loc["slow1", "time_s"] == INF
    summary = ranking.target_summary(per_run.reset_index()).set_index("method")
    assert summary["target_reached"].tolist() == ["2/3", "2/3"]
    # Medians over all three seeds, the one that never got there being infinitely slow.
    assert summary["target_s"].tolist() == [2.0, 8.0]
    assert summary["target_step"].tolist() == [20.0, 20.0]


def test_run_scores_count_failures_as_infinite():
    runs, _ = runs_and_history()
    s = ranking.run_scores(runs, "rel_l2")
    assert s["score"].tolist() == [1e-4, 1e-4, INF, 5e-4, 1e-2, 1e-3]
    with pytest.raises(KeyError):
        ranking.run_scores(runs, "max_abs")


def test_summary_formats():
    runs, hist = runs_and_history()
    s = ranking.summarize(ranking.run_scores(runs, "rel_l2"), "final rel_l2")
    assert s.ranks.to_dict() == {"fast": 1.0, "slow": 2.0}
    assert s.profile.loc["solved"].tolist() == pytest.approx([2 / 3, 1.0])
    md = ranking.format_summary(s, "md")
    assert "| fast | 1.00 |" in md and "Friedman test not done: needs 3 or more methods" in md
    assert ranking.format_summary(s, "latex").count("\\begin{tabular}") == 3
    assert ranking.format_summary(s, "html").count('<table class="pinnbench-ranks">') == 3
    with pytest.raises(ValueError):
        ranking.format_summary(s, "csv")


@pytest.fixture
def folder(tmp_path):
    runs, hist = runs_and_history()
    runs["train_s"], runs["steps_per_s"], runs["peak_host_rss_mb"] = 3.0, 10.0, 100.0
    for rid, g in runs.groupby("run_id"):
        for sub, frame in (("runs", g), ("history", hist[hist["run_id"] == rid])):
            (tmp_path / sub).mkdir(exist_ok=True)
            frame.to_parquet(tmp_path / sub / f"{rid}.parquet", index=False)
    return tmp_path


def test_compare_command_with_target_and_ranks(folder, tmp_path):
    out = tmp_path / "table.md"
    result = CliRunner().invoke(app, ["compare", str(folder), "--target", "1e-3", "--ranks",
                                      "--baseline", "slow", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    header = text.splitlines()[0]
    assert "÷ slow" in header and "reached ≤0.001" in header and "s to target" in header
    assert ("| p | fast | 2/3 | 1.00e-04 ± 0.00e+00 | **1.000e-04** | [1.00e-04, 1.00e-04] "
            "| [1.00e-04, 1.00e-04] | 1.00e-04 | 1.00e-04 | 0.10 | [0.01, 0.20] | 3.0 | 10.0 "
            "| 100 | 2/3 | 2.00 | 20 | 1 diverged |") in text
    # One problem: no pair can reach significance, so no p-value is printed as a result.
    assert "| fast | slow | 1 | 1 | 0 | 0 | n/a | n/a | — |" in text
    assert "no pair can reach p <= 0.05: with 1 problem(s)" in text
    assert "average rank on time to rel_l2 <= 0.001" in text
    result = CliRunner().invoke(app, ["compare", str(folder), "--format", "csv",
                                      "--target", "0.5"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].endswith("target_reached,target_s,target_step,is_best")
    assert lines[1].startswith("p,fast,2/3,1 diverged,")
    # The diverged seed reached 0.5 first, but counts as never reaching it.
    assert lines[1].endswith(",2/3,1.5,10.0,True")


@pytest.mark.parametrize("args,fragment", [
    (["--by", "model.width"], "--by: no column 'model.width'"),
    (["--baseline", "sgd"], "--baseline: no method 'sgd'"),
    (["--format", "pdf"], "--format: expected one of md, latex, csv, html"),
    (["--format", "csv", "--ranks"], "no CSV form"),
    (["--target", "0"], "--target: expected a positive error"),
    (["--out", "table.txt"], "name a --format"),
])
def test_compare_bad_input(folder, args, fragment):
    result = CliRunner().invoke(app, ["compare", str(folder), *args])
    assert result.exit_code == 2
    assert fragment in " ".join(result.output.split())
    assert len(result.output.strip().splitlines()) == 1
