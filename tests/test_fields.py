"""Saved parameters redraw the run: the field plot's network is the one that was measured."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pandas as pd
from conftest import make_spec
from typer.testing import CliRunner

from pinnbench.analysis import plot
from pinnbench.analysis.replay import evaluate_run
from pinnbench.cli import app
from pinnbench.metrics import rel_l2
from pinnbench.run.runner import execute
from pinnbench.run.store import load_history, load_runs


def record(tmp_path, problem: dict, steps: int = 40) -> pd.Series:
    spec = make_spec(problem=problem, steps=steps, eval_every=steps,
                     model={"type": "mlp", "width": 8, "depth": 2})
    assert execute(spec, tmp_path / "res") == "ok"
    runs = load_runs(tmp_path / "res")
    return runs[runs["run_id"] == spec.run_id].iloc[0]


def test_saved_parameters_reproduce_the_recorded_error(tmp_path):
    row = record(tmp_path, {"type": "helmholtz2d", "a1": 1, "a2": 1})
    spec_problem = make_spec(problem={"type": "helmholtz2d", "a1": 1, "a2": 1}).build("problem")
    grid = evaluate_run(tmp_path / "res", row.to_dict(), resolution=101)
    # The 101 x 101 plotting grid is the problem's evaluation grid: same points, same error.
    assert grid.prediction.shape == (101, 101)
    x = spec_problem.eval_points()
    np.testing.assert_allclose(grid.reference.ravel(), spec_problem.reference(x)[:, 0],
                               atol=1e-12)
    err = float(rel_l2(jnp.asarray(grid.prediction.ravel()), jnp.asarray(grid.reference.ravel())))
    assert abs(err - row["rel_l2"]) <= 1e-9 * row["rel_l2"]
    # From the parent folder too (results/<suite>/params).
    again = evaluate_run(tmp_path, row.to_dict(), resolution=101)
    np.testing.assert_array_equal(again.prediction, grid.prediction)


def test_field_command_draws_one_and_two_dimensional_runs(tmp_path):
    record(tmp_path, {"type": "helmholtz2d", "a1": 1, "a2": 1})
    record(tmp_path, {"type": "poisson1d"})
    out = tmp_path / "field.png"
    result = CliRunner().invoke(app, ["plot", str(tmp_path / "res"), "--kind", "field",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 10_000
    bad = CliRunner().invoke(app, ["plot", str(tmp_path / "res"), "--kind", "field",
                                   "--run", "zzzz"])
    assert bad.exit_code == 2 and "matches 0 runs" in bad.output


def test_ball_centres_follow_the_recorded_paths(tmp_path):
    runs = pd.DataFrame([{"run_id": "b", "problem": "helmholtz", "method": "balls", "seed": 0}])
    centres = [np.array([[0.0, 0.0], [0.5, 0.5]]) + 0.1 * k for k in range(3)]
    history = pd.DataFrame({"run_id": "b", "step": [0, 10, 20],
                            "model.centres": [c.ravel().tolist() for c in centres],
                            "model.radii": [[0.3, 0.2]] * 3})
    fig = plot.ball_centres(runs, history)
    ax = fig.get_axes()[0]
    paths = [line.get_xydata() for line in ax.get_lines() if len(line.get_xydata()) == 3]
    np.testing.assert_allclose(paths[0], np.stack([c[0] for c in centres]))
    np.testing.assert_allclose(paths[1], np.stack([c[1] for c in centres]))
    radii = sorted(p.get_radius() for p in ax.patches)
    assert radii == [0.2, 0.3]


def test_history_keeps_array_snapshots(tmp_path, monkeypatch):
    from pinnbench.models.mlp import MLP

    monkeypatch.setattr(MLP, "snapshot", lambda self, params: {"bias": params[-1]["b"]},
                        raising=False)
    monkeypatch.setattr(MLP, "capabilities", MLP.capabilities | {"snapshot"})  # declared
    row = record(tmp_path, {"type": "poisson1d"}, steps=20)
    hist = load_history(tmp_path / "res")
    cells = hist[hist["run_id"] == row["run_id"]]["model.bias"]
    assert len(cells) == 2 and all(len(c) == 1 for c in cells)
    assert cells.iloc[0][0] != cells.iloc[1][0]
    assert "model.bias" not in row.index


def test_field_command_in_a_fresh_interpreter(tmp_path):
    # The plot command must register the components a spec names by itself (no test fixtures).
    import subprocess
    import sys

    record(tmp_path, {"type": "poisson1d"}, steps=10)
    out = tmp_path / "f.png"
    proc = subprocess.run([sys.executable, "-m", "pinnbench", "plot", str(tmp_path / "res"),
                           "--kind", "field", "--out", str(out)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert out.stat().st_size > 10_000
