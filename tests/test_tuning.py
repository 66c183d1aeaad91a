"""The tuning protocol end to end (a 2-option sweep, ``[tuning] budget = 4``): which runs are
made, the selection rule, that the selection cannot see the evaluation grid, ``compare
--tuned`` and the budget curve; and the export of the recorded runs to an MLflow file store."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import make_spec, tiny_suite
from typer.testing import CliRunner

from pinnbench.analysis import tuning
from pinnbench.analysis.export import RUN_ID_TAG, mlflow_records
from pinnbench.cli import app
from pinnbench.run.store import load_history, load_runs
from pinnbench.run.suite import load_suite
from pinnbench.spec import RunSpec

# lr x width = 3 x 2 = 6 configurations, of which tuning tries 4 on seed 100; the selected one
# runs on seeds 0 and 1. An untuned method (one configuration) runs on the seeds directly.
SWEEP = """
[methods.adam.sweep]
model.width = [8, 16]
[methods.fixed]
optimizer = { type = "adam", lr = 1e-2 }
[tuning]
budget = 4
tune_seeds = [100]
"""


def tuned_suite(tmp_path):
    path = tmp_path / "tuned.toml"
    path.write_text(tiny_suite(steps=20, extra=SWEEP).replace(
        "lr = 1e-2 }\n\n[methods.adam.sweep]", "lr = { sweep = [1e-2, 3e-3, 1e-3] } }\n"
        "\n[methods.adam.sweep]", 1))
    return path


@pytest.fixture(scope="module")
def tuned_results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tuned")
    path, out = tuned_suite(tmp), tmp / "results"
    r = CliRunner().invoke(app, ["run", str(path), "--out", str(out), "--no-isolate"])
    assert r.exit_code == 0, r.output
    return path, out, r.output


def test_the_suite_tries_budget_configurations_on_tune_seeds_then_runs_the_pick(tuned_results):
    path, out, output = tuned_results
    suite = load_suite(path)
    assert len(suite.configurations("adam")) == 6 and len(suite.tried("adam")) == 4
    assert "tuning: 4 tuning runs, a configuration selected for each of 1 (problem, method)" \
        in " ".join(output.split())
    runs = load_runs(out)
    assert len(runs) == 4 + 2 + 2 and (runs["status"] == "ok").all()
    record = json.loads((out / tuning.RECORD).read_text())
    assert record["budget"] == 4 and record["tune_seeds"] == [100] and record["seeds"] == [0, 1]
    cells = {c["method"]: c for c in record["cells"]}
    assert len(cells["adam"]["tuning_runs"]) == 4 and len(cells["adam"]["final_runs"]) == 2
    assert cells["fixed"]["tuning_runs"] == [] and len(cells["fixed"]["final_runs"]) == 2
    tune = runs[runs["run_id"].isin(cells["adam"]["tuning_runs"])]
    final = runs[runs["run_id"].isin(cells["adam"]["final_runs"])]
    assert set(tune["seed"]) == {100} and sorted(final["seed"]) == [0, 1]
    # The final runs are the configuration with the lowest final training loss.
    loss = {row.run_id: row["loss.pde"] + row["loss.bc"] for _, row in tune.iterrows()}
    best = RunSpec.from_json(tune.loc[tune["run_id"] == min(loss, key=loss.get),
                                      "spec_json"].iloc[0]).method
    for spec_json in final["spec_json"]:
        assert RunSpec.from_json(spec_json).method == best
    # A rerun finds everything recorded and trains nothing.
    r = CliRunner().invoke(app, ["run", str(path), "--out", str(out), "--no-isolate"])
    assert r.exit_code == 0 and "8 already finished" in " ".join(r.output.split()), r.output


def test_compare_tuned_reports_the_pick_its_cost_and_its_test_error(tuned_results):
    _, out, _ = tuned_results
    runs, record = load_runs(out), tuning.read_record(out)
    table = tuning.tuned_table(runs, record).set_index("method")
    adam = table.loc["adam"]
    assert adam["configs"] == 4 and adam["tuning_runs"] == 4 and adam["ok"] == "2/2"
    final = runs[runs["run_id"].isin(next(c for c in record["cells"]
                                          if c["method"] == "adam")["final_runs"])]
    assert adam["median"] == pytest.approx(float(np.median(final["rel_l2"])))
    tune = runs[runs["run_id"].isin(next(c for c in record["cells"]
                                         if c["method"] == "adam")["tuning_runs"])]
    assert adam["tuning_s"] == pytest.approx(float(tune[["train_s", "compile_s",
                                                         "eval_s"]].to_numpy().sum()))
    assert table.loc["fixed", "selected"] == "(one configuration)"
    r = CliRunner().invoke(app, ["compare", str(out), "--tuned", "--format", "csv"])
    assert r.exit_code == 0, r.output
    assert "adam" in r.output and adam["selected"] in r.output
    # The budget curve: one row per k, the pick after all 4 is the overall pick's test error.
    curve = tuning.budget_curve(tune)
    assert list(curve["k"]) == [1, 2, 3, 4]
    pick = tuning.select(tuning.validation_view(tune)).iloc[0]["config"]
    view = tuning.validation_view(tune)
    assert curve["median"].iloc[-1] == pytest.approx(
        float(tune.loc[view["config"] == pick, "rel_l2"].median()))


def test_the_selection_cannot_see_the_evaluation_grid():
    """Rows whose test errors favour one configuration and training losses another: the pick
    follows the losses, and scrambling every error column leaves it unchanged."""
    rows = []
    for i, (lr, loss) in enumerate([(1e-2, 3.0), (1e-3, 1.0), (1e-4, 2.0)]):
        for seed_offset, noise in enumerate((0.9, 1.1)):
            spec = make_spec(problem={"type": "poisson1d"}, optimizer={"type": "adam", "lr": lr},
                             seed=seed_offset)
            rows.append({"run_id": f"r{i}{seed_offset}", "problem": "p", "method": "adam",
                         "seed": seed_offset, "status": "ok", "suite": "s",
                         "spec_json": spec.to_json(), "optimizer.lr": lr,
                         "optimizer.type": "adam", "loss.pde": loss * noise,
                         "loss.bc": 0.01, "rel_l2": 1.0 / loss, "max_abs": 1.0 / loss})
    runs = pd.DataFrame(rows)
    view = tuning.validation_view(runs)
    assert set(view.columns) == set(tuning.VIEW_COLUMNS)  # no error column reaches it
    pick = tuning.select(view).iloc[0]
    assert pick["criterion"] == pytest.approx(1.01) and pick["configs"] == 3
    chosen = tuning.selected_methods(runs)[("p", "adam")]
    assert chosen["optimizer"]["lr"] == 1e-3
    scrambled = runs.assign(rel_l2=np.random.default_rng(0).permutation(runs["rel_l2"]),
                            max_abs=-runs["max_abs"])
    assert tuning.selected_methods(scrambled)[("p", "adam")] == chosen
    # A run that did not finish ok is never picked, however low its recorded loss.
    failed = runs.copy()
    failed.loc[failed["optimizer.lr"] == 1e-4, ["loss.pde", "status"]] = (0.0, "diverged")
    assert tuning.selected_methods(failed)[("p", "adam")]["optimizer"]["lr"] == 1e-3


def test_export_writes_params_metrics_and_history_to_a_local_mlflow_store(tuned_results,
                                                                          tmp_path):
    pytest.importorskip("mlflow")  # in the test extra: skipped only outside `make test`
    from mlflow import MlflowClient

    _, out, _ = tuned_results
    runs, history = load_runs(out), load_history(out)
    records = mlflow_records(runs, history)
    assert len(records) == len(runs) == 8
    store = tmp_path / "mlruns"
    r = CliRunner().invoke(app, ["export", str(out), "--to", "mlflow", "--store", str(store)])
    assert r.exit_code == 0, r.output
    assert "8 runs exported" in r.output and "(0 already there)" in r.output
    client = MlflowClient(tracking_uri=store.resolve().as_uri())
    experiment = client.get_experiment_by_name("tiny")
    found = {run.data.tags[RUN_ID_TAG]: run for run in client.search_runs(
        [experiment.experiment_id])}
    assert set(found) == set(runs["run_id"])
    row = runs.iloc[0]
    got = found[row["run_id"]]
    spec = RunSpec.from_json(row["spec_json"])
    assert got.data.params["optimizer.lr"] == str(spec.flat()["optimizer.lr"])
    assert got.data.params["seed"] == str(row["seed"]) and got.info.status == "FINISHED"
    assert got.data.metrics["rel_l2"] == pytest.approx(row["rel_l2"])
    steps = client.get_metric_history(got.info.run_id, "rel_l2")
    mine = history[history["run_id"] == row["run_id"]].sort_values("step")
    assert [m.step for m in sorted(steps, key=lambda m: m.step)] == list(mine["step"])
    assert [m.value for m in sorted(steps, key=lambda m: m.step)] == pytest.approx(
        list(mine["rel_l2"]))
    # A second export adds nothing; a wrong tracker is a one-line error, exit 2.
    r = CliRunner().invoke(app, ["export", str(out), "--to", "mlflow", "--store", str(store)])
    assert r.exit_code == 0 and "0 runs exported" in r.output and "(8 already there)" in r.output
    assert len(client.search_runs([experiment.experiment_id])) == 8
    r = CliRunner().invoke(app, ["export", str(out), "--to", "mlfow", "--store", str(store)])
    assert r.exit_code == 2 and "unknown tracker 'mlfow'" in r.output and \
        'did you mean "mlflow"' in r.output
