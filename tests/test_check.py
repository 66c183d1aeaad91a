"""The accuracy gate: decision rules on hand-made run tables, and the CLI end to end."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import cli
from typer.testing import CliRunner

from pinnbench.analysis.check import (
    NEW,
    CheckInputError,
    Gate,
    changed_settings,
    check_runs,
    min_p_value,
    passed,
    worse_by,
    write_baseline,
)
from pinnbench.cli import app


def runs(method: str, values: list[float], *, problem: str = "p", metric: str = "rel_l2",
         statuses: list[str] | None = None, seeds: list[int] | None = None,
         run_tag: str = "") -> pd.DataFrame:
    seeds = seeds if seeds is not None else list(range(len(values)))
    statuses = statuses or ["ok"] * len(values)
    return pd.DataFrame({
        "run_id": [f"{problem}-{method}-{s}{run_tag}" for s in seeds],
        "problem": problem, "method": method, "seed": seeds, "status": statuses,
        metric: values,
    })


def median_rule(base: pd.DataFrame, cur: pd.DataFrame, factor: float = 1.5, alpha: float = 0.05,
                **kw) -> pd.DataFrame:
    """The median-ratio / Mann-Whitney rule (``--rule median``)."""
    return check_runs(base, cur, gate=Gate(rule="median", factor=factor, alpha=alpha), **kw)


def verdict(base: pd.DataFrame, cur: pd.DataFrame, **kw) -> dict:
    table = median_rule(base, cur, **kw)
    assert len(table) == 1
    return table.iloc[0].to_dict()


# ---- direction and p-values -------------------------------------------------------------------
def test_worse_by_follows_the_metric_direction():
    assert worse_by(0.1, 0.2, "rel_l2") == pytest.approx(2.0)
    assert worse_by(0.2, 0.1, "rel_l2") == pytest.approx(0.5)
    assert worse_by(10.0, 30.0, "train_s") == pytest.approx(3.0)
    # Throughput: fewer steps per second is worse.
    assert worse_by(100.0, 25.0, "steps_per_s") == pytest.approx(4.0)
    assert worse_by(0.0, 0.0, "rel_l2") == 1.0
    assert worse_by(0.0, 1e-9, "rel_l2") == math.inf


def test_smallest_possible_p_value():
    assert min_p_value(3, 3) == pytest.approx(1 / 20)
    assert min_p_value(5, 5) == pytest.approx(1 / 252)
    assert min_p_value(3, 4) == pytest.approx(1 / 35)


# ---- decision rule ---------------------------------------------------------------------------
def test_separated_and_twice_worse_is_a_regression():
    v = verdict(runs("adam", [1.0, 1.1, 0.9]), runs("adam", [2.0, 2.2, 1.8]))
    assert v["verdict"] == "regression"
    assert v["baseline"] == pytest.approx(1.0)
    assert v["current"] == pytest.approx(2.0)
    assert v["ratio"] == pytest.approx(2.0)
    # Complete separation of 3 and 3 seeds: the exact one-sided p-value is 1/20.
    assert v["p_value"] == pytest.approx(0.05)
    assert (v["n_baseline"], v["n_current"]) == (3, 3)


def test_a_stricter_alpha_than_three_seeds_allow_cannot_call_a_regression():
    v = verdict(runs("adam", [1.0, 1.1, 0.9]), runs("adam", [2.0, 2.2, 1.8]), alpha=0.01)
    assert v["verdict"] == "worse, not significant"
    assert "0.05" in v["detail"]


def test_worse_median_without_significance_passes():
    # Current seeds 0.5, 1.6, 3.0 against 0.9, 1.0, 1.1: U = 6 of 9, exact P(U >= 6) = 7/20.
    table = median_rule(runs("adam", [1.0, 1.1, 0.9]), runs("adam", [0.5, 1.6, 3.0]))
    v = table.iloc[0]
    assert v["ratio"] == pytest.approx(1.6)
    assert v["p_value"] == pytest.approx(7 / 20)
    assert v["verdict"] == "worse, not significant"
    assert passed(table)


def test_significant_but_within_the_factor_passes():
    v = verdict(runs("adam", [1.0, 1.1, 0.9]), runs("adam", [1.3, 1.4, 1.35]))
    assert v["p_value"] == pytest.approx(0.05)
    assert v["ratio"] == pytest.approx(1.35)
    assert v["verdict"] == "pass"


def test_factor_is_strict():
    v = verdict(runs("adam", [1.0]), runs("adam", [1.5]))
    assert v["verdict"] == "pass"
    v = verdict(runs("adam", [1.0]), runs("adam", [1.5000001]))
    assert v["verdict"] == "regression"


def test_fewer_than_three_seeds_the_factor_alone_decides():
    base = runs("adam", [1.0, 1.2])
    v = verdict(base, runs("adam", [1.7, 1.8]))
    assert v["verdict"] == "regression"
    assert math.isnan(v["p_value"])
    assert v["ratio"] == pytest.approx(1.75 / 1.1)
    assert verdict(base, runs("adam", [1.5, 1.6]))["verdict"] == "pass"
    # Three seeds on one side only is still "fewer than 3 on a side".
    v = verdict(base, runs("adam", [1.7, 1.8, 1.9]))
    assert v["verdict"] == "regression"
    assert math.isnan(v["p_value"])


def test_custom_factor():
    base, cur = runs("adam", [1.0, 1.1, 0.9]), runs("adam", [2.0, 2.2, 1.8])
    assert verdict(base, cur, factor=2.5)["verdict"] == "pass"
    assert verdict(base, cur, factor=1.9)["verdict"] == "regression"


def test_improvement_is_reported_and_passes():
    table = median_rule(runs("adam", [1.0, 1.1, 0.9]), runs("adam", [0.1, 0.2, 0.3]))
    assert table.iloc[0]["verdict"] == "improved"
    assert table.iloc[0]["ratio"] == pytest.approx(0.2)
    assert passed(table)


def test_higher_is_better_metric():
    base = runs("adam", [100.0, 110.0, 90.0], metric="steps_per_s")
    slower = runs("adam", [50.0, 55.0, 45.0], metric="steps_per_s")
    v = verdict(base, slower, metrics=["steps_per_s"])
    assert v["verdict"] == "regression"
    assert v["ratio"] == pytest.approx(2.0)
    assert v["p_value"] == pytest.approx(0.05)
    faster = runs("adam", [200.0, 220.0, 180.0], metric="steps_per_s")
    assert verdict(base, faster, metrics=["steps_per_s"])["verdict"] == "improved"


def test_each_metric_is_judged_on_its_own():
    base = runs("adam", [1.0, 1.1, 0.9]).assign(train_s=[10.0, 11.0, 9.0])
    cur = runs("adam", [1.0, 1.1, 0.9]).assign(train_s=[30.0, 33.0, 27.0])
    assert median_rule(base, cur)["verdict"].tolist() == ["pass"]  # time only when asked
    table = median_rule(base, cur, metrics=["rel_l2", "train_s"])
    assert table["metric"].tolist() == ["rel_l2", "train_s"]
    assert table["verdict"].tolist() == ["pass", "regression"]
    assert table["ratio"].tolist() == pytest.approx([1.0, 3.0])


# ---- missing and failed runs ---------------------------------------------------------------
def test_a_method_without_current_runs_fails():
    base = pd.concat([runs("adam", [1.0, 1.1, 0.9]), runs("lbfgs", [0.1, 0.1, 0.1])])
    table = median_rule(base, runs("adam", [1.0, 1.1, 0.9]))
    assert table["method"].tolist() == ["adam", "lbfgs"]
    assert table["verdict"].tolist() == ["pass", "missing"]
    assert table.iloc[1]["detail"] == "no runs"
    assert not passed(table)


def test_a_missing_seed_fails():
    v = verdict(runs("adam", [1.0, 1.1, 0.9]), runs("adam", [1.0, 1.1]))
    assert v["verdict"] == "missing"
    assert v["detail"] == "missing seed 2"


@pytest.mark.parametrize("status", ["diverged", "error", "crashed"])
def test_a_non_ok_current_run_fails_even_if_the_rest_is_fine(status):
    cur = runs("adam", [1.0, float("nan"), 0.9], statuses=["ok", status, "ok"])
    table = median_rule(runs("adam", [1.0, 1.1, 0.9]), cur)
    v = table.iloc[0]
    assert v["verdict"] == "failed"
    assert v["detail"] == f"seed 1 {status}"
    assert v["n_current"] == 2
    assert not passed(table)


def test_a_non_finite_error_in_an_ok_run_fails():
    v = verdict(runs("adam", [1.0, 1.1, 0.9]), runs("adam", [1.0, np.inf, 0.9]))
    assert v["verdict"] == "failed"
    assert v["detail"] == "non-finite rel_l2 at seed 1"


def test_failed_baseline_runs_are_left_out_of_its_median():
    base = runs("adam", [1.0, np.nan, 1.2], statuses=["ok", "diverged", "ok"])
    v = verdict(base, runs("adam", [1.1, 1.2, 1.0]))
    assert v["n_baseline"] == 2
    assert v["baseline"] == pytest.approx(1.1)
    assert v["verdict"] == "pass"


def test_new_cells_are_listed_but_pass():
    cur = pd.concat([runs("adam", [1.0, 1.1, 0.9]), runs("sgd", [5.0, 6.0, 7.0])])
    table = median_rule(runs("adam", [1.0, 1.1, 0.9]), cur)
    assert table["verdict"].tolist() == ["pass", NEW]
    assert table.iloc[1]["current"] == pytest.approx(6.0)
    assert passed(table)


def test_cells_are_matched_by_problem_and_method():
    base = pd.concat([runs("adam", [1.0, 1.0, 1.0], problem="a"),
                      runs("adam", [0.1, 0.1, 0.1], problem="b")])
    cur = pd.concat([runs("adam", [1.0, 1.0, 1.0], problem="a"),
                     runs("adam", [1.0, 1.0, 1.0], problem="b")])
    table = median_rule(base, cur)
    assert table["problem"].tolist() == ["a", "b"]
    assert table["verdict"].tolist() == ["pass", "regression"]


def test_changed_settings_counts_runs_with_other_ids():
    base = runs("adam", [1.0, 1.1, 0.9])
    cur = pd.concat([runs("adam", [1.0], seeds=[0]),
                     runs("adam", [1.1, 0.9], seeds=[1, 2], run_tag="-other")])
    assert changed_settings(base, cur) == 2
    assert changed_settings(base, base) == 0


# ---- bad input -------------------------------------------------------------------------------
def test_unknown_or_absent_metric_is_bad_input():
    base = runs("adam", [1.0, 1.1, 0.9])
    with pytest.raises(CheckInputError, match="unknown metric 'rel_l3'"):
        check_runs(base, base, metrics=["rel_l3"])
    with pytest.raises(CheckInputError, match="baseline: no column 'max_abs'"):
        check_runs(base, base, metrics=["max_abs"])


def test_mixed_settings_in_one_folder_are_bad_input():
    cur = pd.concat([runs("adam", [1.0, 1.1, 0.9]), runs("adam", [1.0], run_tag="-old")])
    with pytest.raises(CheckInputError, match="several runs of p/adam seed 0"):
        check_runs(runs("adam", [1.0, 1.1, 0.9]), cur)


@pytest.mark.parametrize(("kw", "message"), [({"factor": 0.5}, "--factor"),
                                             ({"alpha": 0.0}, "--alpha"),
                                             ({"alpha": 1.5}, "--alpha")])
def test_impossible_thresholds_are_bad_input(kw, message):
    base = runs("adam", [1.0, 1.1, 0.9])
    with pytest.raises(CheckInputError, match=message):
        check_runs(base, base, **kw)


def test_write_baseline_round_trips(tmp_path):
    frame = pd.concat([runs("lbfgs", [0.1, 0.2, 0.3]), runs("adam", [1.0, 1.1, 0.9])])
    path = tmp_path / "sub" / "base.parquet"
    write_baseline(frame, path)
    back = pd.read_parquet(path)
    assert back["method"].tolist() == ["adam"] * 3 + ["lbfgs"] * 3
    assert back["rel_l2"].tolist() == pytest.approx([1.0, 1.1, 0.9, 0.1, 0.2, 0.3])
    assert [p.name for p in path.parent.iterdir()] == ["base.parquet"]


# ---- end to end: train, make a baseline, catch a deliberately worsened method --------------
TINY_SUITE = """
name = "tiny"
seeds = [0, 1, 2]
precision = "float32"

[budget]
steps = 500
eval_every = 500

[problems.helmholtz2d]
a1 = 1
a2 = 1

[defaults]
model = { type = "mlp", width = 16, depth = 1 }
sampler = { type = "uniform", n_interior = 128, n_boundary = 32 }

[methods.adam]
optimizer = { type = "adam", lr = 2e-2 }

# The same method with a learning rate 100 times too small: it must be caught.
[profile.slow_lr]
methods.adam.optimizer = { lr = 2e-4 }
"""


def pinnbench_check(*args: str | Path) -> subprocess.CompletedProcess:
    """The installed entry point, so the exit code is the one a CI job sees."""
    script = Path(sys.executable).with_name("pinnbench")
    return subprocess.run([str(script), "check", *map(str, args)], capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gate")
    suite = root / "tiny.toml"
    suite.write_text(TINY_SUITE)
    cli = CliRunner()
    folders = {}
    for name, extra in (("first", []), ("again", []), ("worse", ["--profile", "slow_lr"])):
        folders[name] = root / name
        result = cli.invoke(app, ["run", str(suite), "--out", str(folders[name]),
                                  "--no-isolate", *extra])
        assert result.exit_code == 0, result.output
    folders["baseline"] = root / "baseline" / "tiny.parquet"
    result = cli.invoke(app, ["check", str(folders["first"]), "--baseline",
                              str(folders["baseline"]), "--update-baseline"])
    assert result.exit_code == 0, result.output
    assert "wrote 3 runs (1 problem/method cells)" in result.output
    return folders


def test_rerun_of_the_unchanged_suite_passes(trained):
    first = pd.read_parquet(trained["baseline"]).sort_values("seed")
    again = pd.concat(pd.read_parquet(p) for p in (trained["again"] / "runs").glob("*.parquet"))
    again = again.sort_values("seed")
    # Same settings, same seeds, same CPU: the same errors, not just close ones.
    assert again["run_id"].tolist() == first["run_id"].tolist()
    np.testing.assert_allclose(again["rel_l2"], first["rel_l2"], rtol=1e-6)
    proc = cli("check", trained["again"], "--baseline", trained["baseline"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "check passed: 1 pass" in proc.stdout


def test_worsened_method_is_a_regression(trained):
    proc = pinnbench_check(trained["worse"], "--baseline", trained["baseline"])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "regression" in proc.stdout
    assert "check failed: 1 regression" in proc.stdout
    base = pd.read_parquet(trained["baseline"])
    worse = pd.concat(pd.read_parquet(p) for p in (trained["worse"] / "runs").glob("*.parquet"))
    assert worse["optimizer.lr"].tolist() == pytest.approx([2e-4] * 3)
    assert worse["rel_l2"].median() > 1.5 * base["rel_l2"].median()
    assert worse["rel_l2"].min() > base["rel_l2"].max()


def test_a_failed_run_fails_the_gate(trained, tmp_path):
    results = tmp_path / "results"
    shutil.copytree(trained["again"], results)
    victim = sorted((results / "runs").glob("*.parquet"))[0]
    row = pd.read_parquet(victim).assign(status="diverged")
    row.to_parquet(victim)
    proc = pinnbench_check(results, "--baseline", trained["baseline"])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"seed {row['seed'].iloc[0]} diverged" in proc.stdout
    victim.unlink()
    proc = pinnbench_check(results, "--baseline", trained["baseline"])
    assert proc.returncode == 1
    assert f"missing seed {row['seed'].iloc[0]}" in proc.stdout


def test_bad_input_exits_2(trained, tmp_path):
    cases = [
        ((tmp_path / "nowhere", "--baseline", trained["baseline"]), "no such results folder"),
        ((trained["again"], "--baseline", tmp_path / "none.parquet"), "no such baseline file"),
        ((trained["again"], "--baseline", trained["baseline"], "--metric", "accuracy"),
         "--metric: unknown metric 'accuracy'"),
    ]
    (tmp_path / "junk.parquet").write_text("not parquet")
    cases.append(((trained["again"], "--baseline", tmp_path / "junk.parquet"),
                  "not a readable Parquet file"))
    for args, message in cases:
        proc = cli("check", *args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert message in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1


# ---- the paired rule (default) -----------------------------------------------------------------
def test_paired_rule_an_exact_rerun_passes_with_ratio_one():
    base = runs("adam", [1.0, 1.1, 0.9])
    v = check_runs(base, base).iloc[0]
    assert v["verdict"] == "pass"
    assert (v["ratio"], v["paired"]) == (pytest.approx(1.0), 3)


def test_paired_rule_tolerance_comes_from_the_seed_spread():
    from scipy import stats

    base = runs("adam", [1.0, 1.1, 0.9])
    cur = runs("adam", [1.5, 1.65, 1.35])  # every seed 1.5x worse
    logs = np.log([1.0, 1.1, 0.9])
    spread = logs.std(ddof=1)  # both sides have it; pooled over 3 + 3 - 2 = 4 degrees
    se = spread * math.sqrt(2 / 3)
    v = check_runs(base, cur).iloc[0]
    # One cell judged: the whole 1 % false-alarm level is its own.
    assert v["tolerance"] == pytest.approx(math.exp(stats.t.isf(0.01, 4) * se))
    assert v["ratio"] == pytest.approx(1.5)
    assert v["p_value"] == pytest.approx(stats.t.sf(math.log(1.5) / se, 4))
    assert v["verdict"] == "regression"
    # Seven cells split the level (Sidak): the tolerance widens.
    assert Gate().cell_level(7) == pytest.approx(1 - 0.99 ** (1 / 7))
    wide = pd.concat([runs("adam", [1.0, 1.1, 0.9], problem=f"p{i}") for i in range(7)])
    worse = pd.concat([runs("adam", [1.5, 1.65, 1.35], problem=f"p{i}") for i in range(7)])
    t7 = check_runs(wide, worse)
    assert t7["tolerance"].tolist() == pytest.approx(
        [math.exp(stats.t.isf(1 - 0.99 ** (1 / 7), 4) * se)] * 7)


def test_paired_rule_noisy_cells_need_a_larger_shift():
    # Twice worse on a cell whose seeds spread over a factor of 6 is within its noise: shown
    # (worse than --factor) but passing.
    base = runs("adam", [1.0, 3.0, 0.5])
    v = check_runs(base, runs("adam", [2.0, 6.0, 1.0])).iloc[0]
    assert v["ratio"] == pytest.approx(2.0)
    assert v["tolerance"] > 2.0
    assert v["verdict"] == "worse, not significant"


def test_paired_rule_never_calls_a_shift_below_the_minimum_factor():
    # Seeds that agree to the last digit have no spread; a 5 % change is not a regression.
    base = runs("adam", [1.0, 1.0, 1.0])
    assert check_runs(base, runs("adam", [1.05] * 3)).iloc[0]["verdict"] == "pass"
    v = check_runs(base, runs("adam", [1.2] * 3)).iloc[0]
    assert v["tolerance"] == pytest.approx(1.1)
    assert v["verdict"] == "regression"


def test_paired_rule_other_seeds_are_compared_unpaired_not_missing():
    base = runs("adam", [1.0, 1.1, 0.9])
    v = check_runs(base, runs("adam", [2.0, 2.2, 1.8], seeds=[3, 4, 5])).iloc[0]
    assert v["paired"] == 0 and "unpaired" in v["detail"]
    assert v["verdict"] == "regression"
    # Fewer current runs than baseline seeds is still missing.
    v = check_runs(base, runs("adam", [1.0, 1.1], seeds=[0, 1])).iloc[0]
    assert (v["verdict"], v["detail"]) == ("missing", "missing seed 2")


def test_paired_rule_falls_back_to_the_factor_below_three_seeds():
    v = check_runs(runs("adam", [1.0, 1.2]), runs("adam", [1.7, 1.8])).iloc[0]
    assert v["verdict"] == "regression" and "factor alone" in v["detail"]
    assert v["tolerance"] == pytest.approx(1.5)


def test_paired_rule_higher_is_better():
    base = runs("adam", [100.0, 110.0, 90.0], metric="steps_per_s")
    v = check_runs(base, runs("adam", [50.0, 55.0, 45.0], metric="steps_per_s"),
                   metrics=["steps_per_s"]).iloc[0]
    assert v["ratio"] == pytest.approx(2.0) and v["verdict"] == "regression"


@pytest.mark.parametrize(("gate", "option"), [(Gate(rule="mean"), "--rule"),
                                              (Gate(false_alarm=0.0), "--false-alarm"),
                                              (Gate(min_factor=0.9), "--min-factor")])
def test_impossible_paired_settings_are_bad_input(gate, option):
    base = runs("adam", [1.0, 1.1, 0.9])
    with pytest.raises(CheckInputError, match=option):
        check_runs(base, base, gate=gate)
