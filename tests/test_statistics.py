"""compare and check on recorded runs: one cell per configuration, the same columns in every
format, LaTeX that compiles, bootstrap intervals, gating a subset, new cells, the baseline's
commit and cut error lines."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import CliResult, cli, tiny_suite
from typer.testing import CliRunner

from pinnbench.analysis.check import baseline_origin, check_runs, passed, read_baseline
from pinnbench.analysis.compare import comparison_table, format_table, median_ci, ratio_ci
from pinnbench.cli import app
from pinnbench.run.store import load_runs

SLOW = """
[methods.slow]
optimizer = { type = "adam", lr = 1e-4 }
"""


def pinnbench(*args: str | Path, columns: int | None = None) -> CliResult:
    """A command's exit code, stdout and stderr; with ``columns`` (the output width, as a
    terminal or CI log of that width sets it) from the installed entry point, whose consoles
    read the width as they start."""
    if columns is None:
        return cli(*args)
    script = Path(sys.executable).with_name("pinnbench")
    proc = subprocess.run([str(script), *map(str, args)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COLUMNS": str(columns)})
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> dict[str, Path]:
    """Three seeds of Adam on poisson1d at 20 steps (``short``) and at 40 steps (``long``), the
    two merged by collect (``merged``), and the 20-step suite with a second method (``more``)."""
    root = tmp_path_factory.mktemp("recorded")
    cli = CliRunner()
    folders = {}
    for name, steps, extra in (("short", 20, ""), ("long", 40, ""), ("more", 20, SLOW)):
        suite = root / f"{name}.toml"
        suite.write_text(tiny_suite(seeds=(0, 1, 2), steps=steps, extra=extra))
        folders[name] = root / name
        result = cli.invoke(app, ["run", str(suite), "--out", str(folders[name]),
                                  "--no-isolate"])
        assert result.exit_code == 0, result.output
    folders["merged"] = root / "merged"
    result = cli.invoke(app, ["collect", str(folders["short"]), str(folders["long"]),
                              "--out", str(folders["merged"])])
    assert result.exit_code == 0, result.output
    folders["baseline"] = root / "baseline.parquet"
    result = cli.invoke(app, ["check", str(folders["short"]), "--baseline",
                              str(folders["baseline"]), "--update-baseline"])
    assert result.exit_code == 0, result.output
    return folders


# ---- one cell per configuration ----------------------------------------------------------
def test_compare_splits_a_label_that_covers_two_budgets(recorded):
    merged = load_runs(recorded["merged"])
    assert len(merged) == 6 and sorted(merged["seed"]) == [0, 0, 1, 1, 2, 2]
    table = comparison_table(merged).set_index("method")
    assert table.index.tolist() == ["adam [budget.steps=20]", "adam [budget.steps=40]"]
    assert table["ok"].tolist() == ["3/3", "3/3"]
    # Each split cell holds exactly the runs of its own folder.
    for name, variant in (("short", "adam [budget.steps=20]"),
                          ("long", "adam [budget.steps=40]")):
        alone = load_runs(recorded[name])
        assert table.loc[variant, "median"] == pytest.approx(alone["rel_l2"].median())
    proc = pinnbench("compare", recorded["merged"], "--format", "md")
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| poisson1d")]
    assert [r.split(" | ")[1:3] for r in rows] == [["adam [budget.steps=20]", "3/3"],
                                                   ["adam [budget.steps=40]", "3/3"]]


def test_check_refuses_a_folder_of_two_configurations_in_one_line(recorded):
    proc = pinnbench("check", recorded["merged"], "--baseline", recorded["baseline"])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "several runs of poisson1d/adam seed 0" in lines[0]
    # The line names the folder it is about, not a bare "results:".
    assert lines[0].startswith(f"error: {recorded['merged']}: ")


def test_check_refuses_two_configurations_without_repeated_seeds(recorded, tmp_path):
    # Seeds 0 and 1 at 20 steps, seed 2 at 40: no seed twice, still two settings in one cell.
    mixed = tmp_path / "mixed"
    (mixed / "runs").mkdir(parents=True)
    runs = load_runs(recorded["merged"])
    keep = runs[(runs["seed"] < 2) == (runs["budget.steps"] == 20)]
    assert sorted(keep["seed"]) == [0, 1, 2]
    for _, r in keep.iterrows():
        shutil.copy(recorded["short" if r["budget.steps"] == 20 else "long"] / "runs"
                    / f"{r['run_id']}.parquet", mixed / "runs")
    proc = pinnbench("check", mixed, "--baseline", recorded["baseline"])
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert "poisson1d/adam holds runs of 2 settings: budget.steps=20; budget.steps=40" \
        in " ".join(proc.stderr.split())


# ---- columns, intervals, LaTeX -------------------------------------------------------------
def test_bootstrap_intervals_are_seeded_and_hold_the_estimate(recorded):
    more = load_runs(recorded["more"])
    adam = more.loc[more["method"] == "adam", "rel_l2"].to_numpy()
    slow = more.loc[more["method"] == "slow", "rel_l2"].to_numpy()
    low, high = median_ci(adam)
    assert (low, high) == median_ci(adam)  # deterministic
    assert adam.min() <= low <= np.median(adam) <= high <= adam.max()
    r_low, r_high = ratio_ci(slow, adam)
    assert r_low <= np.median(slow) / np.median(adam) <= r_high
    assert (r_low, r_high) == ratio_ci(slow, adam)
    table = comparison_table(more, baseline="adam").set_index("method")
    assert table.loc["slow", ["vs_low", "vs_high"]].tolist() == pytest.approx([r_low, r_high])
    assert table.loc["adam", "n_ok"] == 3
    assert table.loc["adam", "std"] == pytest.approx(np.std(adam, ddof=1))


def test_latex_of_recorded_runs_is_ascii_booktabs(recorded, tmp_path):
    out = tmp_path / "table.tex"
    proc = pinnbench("compare", recorded["more"], "--baseline", "adam", "--target", "10",
                     "--ranks", "--out", out)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert text.isascii(), [ch for ch in text if not ch.isascii()]
    assert r"\toprule" in text and r"\midrule" in text and r"\bottomrule" in text
    assert "not reached" not in text
    assert r"\times 10^{" in text and r"{\boldmath $" in text
    assert text.count(r"\begin{tabular}") == text.count(r"\end{tabular}") == 7


def test_latex_compiles(recorded, tmp_path):
    if shutil.which("pdflatex") is None:
        pytest.skip("no TeX engine on this machine; test_latex_of_recorded_runs_is_ascii_booktabs "
                    "checks the text")
    body = format_table(comparison_table(load_runs(recorded["more"]), baseline="adam"),
                        "rel_l2", "latex", baseline="adam")
    doc = tmp_path / "doc.tex"
    doc.write_text("\\documentclass{article}\n\\usepackage{booktabs}\n\\usepackage{graphicx}\n"
                   "\\begin{document}\n\\resizebox{\\textwidth}{!}{" + body
                   + "}\n\\end{document}\n")
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                           doc.name], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 1000


# ---- check: subsets, new cells, the baseline's commit, cut values ---------------------------
def test_update_baseline_records_the_commit(recorded, tmp_path):
    runs = load_runs(recorded["short"])
    origin = baseline_origin(read_baseline(recorded["baseline"]))
    assert origin["runs"] == 3
    assert origin["commits"] == sorted(runs["git_commit"].dropna().unique().tolist())
    path = tmp_path / "named.parquet"
    proc = pinnbench("check", recorded["short"], "--baseline", path, "--update-baseline",
                     "--commit", "abc1234")
    assert proc.returncode == 0, proc.stderr
    assert "recorded: commit abc1234" in proc.stdout
    assert baseline_origin(read_baseline(path))["commits"] == ["abc1234"]
    proc = pinnbench("check", recorded["short"], "--baseline", path)
    assert proc.returncode == 0 and "3 runs from commit abc1234" in proc.stdout


def test_a_method_the_baseline_lacks_is_reported_new_not_gated(recorded):
    proc = pinnbench("check", recorded["more"], "--baseline", recorded["baseline"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "check passed: 1 pass, 1 new, not gated (new, not gated: poisson1d/slow)" \
        in " ".join(proc.stdout.split())


def test_only_gates_a_subset(recorded):
    proc = pinnbench("check", recorded["more"], "--baseline", recorded["baseline"],
                     "--only", "*/adam")
    assert proc.returncode == 0
    assert "check passed: 1 pass" in proc.stdout and "slow" not in proc.stdout
    proc = pinnbench("check", recorded["more"], "--baseline", recorded["baseline"],
                     "--problems", "poisson1d", "--only", "slow")
    assert "check passed: 1 new, not gated" in " ".join(proc.stdout.split())
    for args, option in ((("--only", "nothing*"), "--only 'nothing*'"),
                         (("--problems", "heat"), "--problems 'heat'")):
        proc = pinnbench("check", recorded["more"], "--baseline", recorded["baseline"], *args)
        assert proc.returncode == 2
        assert proc.stderr.strip().splitlines() == [
            f"error: {option}: matches no cell of the baseline or the results"]


def test_error_lines_cut_long_values(recorded):
    long = "x" * 5000
    for args in (("--metric", long), ("--only", long), ("--rule", long)):
        proc = pinnbench("check", recorded["short"], "--baseline", recorded["baseline"], *args)
        assert proc.returncode == 2
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and len(lines[0]) < 300, lines
        assert "…" in lines[0]
    proc = pinnbench("check", Path("/nonexistent") / long[:200], "--baseline",
                     recorded["baseline"])
    assert proc.returncode == 2 and len(proc.stderr) < 300 and "…" in proc.stderr


def test_same_configuration_on_other_seeds_is_compared_unpaired(recorded, tmp_path):
    suite = tmp_path / "other.toml"
    suite.write_text(tiny_suite(seeds=(3, 4, 5), steps=20))
    out = tmp_path / "other"
    result = CliRunner().invoke(app, ["run", str(suite), "--out", str(out), "--no-isolate"])
    assert result.exit_code == 0, result.output
    proc = pinnbench("check", out, "--baseline", recorded["baseline"])
    base, cur = read_baseline(recorded["baseline"]), load_runs(out)
    verdicts = check_runs(base, cur)
    row = verdicts.iloc[0]
    # Not "missing seeds 0, 1, 2": the same configuration on other seeds, compared unpaired.
    assert row["verdict"] != "missing" and "missing" not in proc.stdout
    assert row["paired"] == 0 and "unpaired" in row["detail"] and "unpaired" in proc.stdout
    by_hand = np.exp(np.log(cur["rel_l2"]).mean() - np.log(base["rel_l2"]).mean())
    assert row["ratio"] == pytest.approx(by_hand)
    assert proc.returncode == (0 if passed(verdicts) else 1)


def test_narrow_output_keeps_each_verdict_on_one_line(recorded, tmp_path):
    results = tmp_path / "results"
    shutil.copytree(recorded["more"], results)
    runs = load_runs(results)
    adam = runs[runs["method"] == "adam"].sort_values("seed").iloc[0]
    victim = results / "runs" / f"{adam['run_id']}.parquet"
    victim_row = load_runs(results).query(f"run_id == '{adam['run_id']}'")
    victim_row.assign(status="diverged").to_parquet(victim)
    proc = pinnbench("check", results, "--baseline", recorded["baseline"], columns=80)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    # One whole line per verdict, however narrow the output: nothing cut, nothing split.
    adam_line = [line for line in lines if line.startswith("poisson1d/adam ")]
    assert len(adam_line) == 1 and len(adam_line[0]) > 80
    assert "rel_l2: failed ratio" in adam_line[0]
    assert f"seed {adam['seed']} diverged" in adam_line[0]
    slow_line = [line for line in lines if line.startswith("poisson1d/slow ")]
    assert len(slow_line) == 1 and "new, not gated" in slow_line[0]
    wide = pinnbench("check", results, "--baseline", recorded["baseline"], columns=200)
    assert "┃ problem" in wide.stdout and wide.returncode == 1
