"""Figures and the HTML report, from a results folder written by hand."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pinnbench.analysis import plot
from pinnbench.cli import app

SUITE = 'name = "hand"\n[methods.adam]\noptimizer = { type = "adam" }\n'


def write_folder(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two problems x two methods x two seeds; one run diverged. Errors fall 10x per 100 steps
    for ``fast`` and 2x for ``slow``."""
    runs, hist = [], []
    for problem in ("heat", "wave"):
        for method, rate, speed in (("fast", 10.0, 1.0), ("slow", 2.0, 3.0)):
            for seed in (0, 1):
                rid = f"{problem}-{method}-{seed}"
                status = "diverged" if (problem, method, seed) == ("wave", "slow", 1) else "ok"
                steps = np.arange(0, 400, 100)
                err = (1 + 0.1 * seed) * rate ** -(steps / 100)
                hist.append(pd.DataFrame({"run_id": rid, "step": steps,
                                          "train_s": steps / 100 * speed, "loss": err ** 2,
                                          "rel_l2": err}))
                runs.append({"run_id": rid, "problem": problem, "method": method, "seed": seed,
                             "status": status, "rel_l2": err[-1] if status == "ok" else np.nan,
                             "train_s": 3 * speed, "steps_per_s": 100 / speed,
                             "peak_host_rss_mb": 100.0, "jax": "0.4.30", "jaxlib": "0.4.30",
                             "device_kind": "cpu", "cpu": "Test CPU", "host": "box",
                             "pinnbench_version": "0.1.0", "git_commit": "abc123"})
    runs_df, hist_df = pd.DataFrame(runs), pd.concat(hist, ignore_index=True)
    for sub in ("runs", "history"):
        (root / sub).mkdir(parents=True)
    for r in runs_df.itertuples():
        runs_df[runs_df["run_id"] == r.run_id].to_parquet(root / "runs" / f"{r.run_id}.parquet")
        hist_df[hist_df["run_id"] == r.run_id].to_parquet(
            root / "history" / f"{r.run_id}.parquet")
    (root / "suite.toml").write_text(SUITE)
    return runs_df, hist_df


@pytest.fixture
def folder(tmp_path) -> Path:
    write_folder(tmp_path / "res")
    return tmp_path / "res"


def test_figures_have_labelled_log_axes(folder):
    runs, hist = write_folder(folder.parent / "again")
    fig = plot.convergence(runs, hist)
    axes = fig.get_axes()
    assert len(axes) == 2 * 4  # two problems x (error, loss) x (step, time)
    assert [a.get_xlabel() for a in axes[:4]] == ["step", "wall time (s)"] * 2
    assert [a.get_ylabel() for a in axes[:4]] == ["rel_l2", "rel_l2", "loss", "loss"]
    assert all(a.get_yscale() == "log" for a in axes)
    # Median over the two seeds at the last step of heat/fast: (1 + 1.1) / 2 * 10^-3.
    line = axes[0].get_lines()[0]
    assert line.get_ydata()[-1] == pytest.approx(1.05e-3)
    fig = plot.error_vs_time(runs)
    titles = [t.get_text() for t in fig.get_axes()[1].get_legend().get_texts()]
    assert titles == ["fast", "slow (1 failed)", "Pareto front"]
    assert fig.get_axes()[0].get_xlabel() == "training time (s)"
    fig = plot.profiles(runs, hist, target=0.1)
    left, right = fig.get_axes()
    assert left.get_xscale() == "log" and "wall time to rel_l2" in right.get_title()
    # fast is best on all 4 (problem, seed) instances.
    assert left.get_lines()[0].get_ydata()[0] == 1.0


def test_pareto_front():
    pts = pd.DataFrame({"time": [1.0, 2.0, 3.0, 4.0], "error": [0.5, 0.6, 0.1, 0.1]})
    assert plot._pareto(pts).index.tolist() == [0, 2]


@pytest.mark.parametrize("kind,suffix,magic", [("convergence", ".png", b"\x89PNG"),
                                               ("error-vs-time", ".pdf", b"%PDF"),
                                               ("profile", ".png", b"\x89PNG")])
def test_plot_command(folder, kind, suffix, magic):
    out = folder / f"fig{suffix}"
    result = CliRunner().invoke(app, ["plot", str(folder), "--kind", kind, "--out", str(out),
                                      "--target", "0.01"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(magic)


@pytest.mark.parametrize("args,fragment", [
    (["--kind", "fields"], "--kind: expected one of convergence, error-vs-time, profile, field,"),
    (["--out", "x.svg"], "expected a .png or .pdf file"),
    (["--metric", "nope"], "--metric: no column 'nope'"),
    (["--by", "model.width"], "--by: no column 'model.width'"),
])
def test_plot_bad_input(folder, args, fragment):
    result = CliRunner().invoke(app, ["plot", str(folder), *args])
    assert result.exit_code == 2
    assert fragment in " ".join(result.output.split())


def test_report_is_one_self_contained_page(folder):
    out = folder / "report.html"
    result = CliRunner().invoke(app, ["report", str(folder), "--out", str(out),
                                      "--target", "0.01"])
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    sections = re.findall(r'<section id="([^"]+)"><h2>', page)
    assert sections == ["comparison", "ranks-across-problems", "figures", "suite-files",
                        "machines-and-versions"]
    # Nothing is fetched from elsewhere: every image is inline, no scripts or links.
    images = re.findall(r'<img alt="[^"]*" src="([^"]+)"', page)
    assert len(images) == 3
    for src in images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG")
    assert "<script" not in page and "<link" not in page and "http" not in page
    assert '<pre class="suite">name = &quot;hand&quot;' in page
    assert page.count('<table class="pinnbench-compare">') == 1
    assert page.count('<table class="pinnbench-ranks">') == 6
    assert "<td>box</td><td>Test CPU</td><td>cpu</td><td>0.4.30</td><td>0.4.30</td>" \
           "<td>0.1.0</td><td>abc123</td><td>8</td>" in page
    assert "<td>wave</td><td>slow</td><td>1/2</td>" in page


def test_report_bad_input(folder, tmp_path):
    result = CliRunner().invoke(app, ["report", str(folder), "--out", "r.pdf"])
    assert result.exit_code == 2 and "expected an .html file" in result.output
    result = CliRunner().invoke(app, ["report", str(tmp_path / "none"), "--out", "r.html"])
    assert result.exit_code == 2 and "no such results folder" in result.output
