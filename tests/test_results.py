"""Recording runs: atomic Parquet files, every outcome a row, finished runs skipped."""

import dataclasses

import pandas as pd
from conftest import worker_processes

from pinnbench.run.runner import RunOptions, execute, execute_isolated, run_suite
from pinnbench.run.store import finished_ids, load_history, load_runs


def test_runs_and_history_round_trip_and_read_as_one_dataset(tmp_path, spec_factory):
    specs = [spec_factory(seed=s, steps=20, eval_every=10) for s in (0, 1)]
    outcome = run_suite(specs, tmp_path, RunOptions(isolate=False))
    assert outcome.statuses == {"ok": 2} and outcome.skipped == 0
    runs = load_runs(tmp_path)
    assert sorted(runs["seed"]) == [0, 1]
    assert set(runs["run_id"]) == {s.run_id for s in specs}
    # The folder is one dataset for plain pandas too, and no temporary file is left behind.
    assert len(pd.read_parquet(tmp_path / "runs")) == 2
    assert not [p for p in tmp_path.rglob(".*")]
    row = runs.iloc[0]
    for column in ("rel_l2", "rel_l1", "rel_rmse", "max_abs", "loss", "loss.pde", "loss.bc",
                   "train_s", "compile_s", "eval_s", "steps_per_s", "peak_host_rss_mb", "jax",
                   "jaxlib", "device_kind", "cpu", "host", "pinnbench_version", "spec_json",
                   "model.width", "optimizer.lr", "budget.steps", "problem.a2"):
        assert column in runs.columns, column
    assert row["status"] == "ok" and row["steps"] == 20
    history = load_history(tmp_path)
    assert sorted(history.groupby("run_id")["step"].apply(list).tolist()) == [[0, 10, 20]] * 2

    # A rerun skips what is finished.
    again = run_suite(specs, tmp_path, RunOptions(isolate=False))
    assert again.skipped == 2 and again.statuses == {}
    assert finished_ids(tmp_path) == {s.run_id for s in specs}


def test_exception_in_a_run_is_recorded_as_error_and_retried(tmp_path, spec_factory):
    good = spec_factory(steps=10, eval_every=10)
    bad = dataclasses.replace(good, method={**good.method, "optimizer": {"type": "nope"}})
    assert execute(bad, tmp_path) == "error"
    row = load_runs(tmp_path).iloc[0]
    assert row["status"] == "error" and "unknown optimizer 'nope'" in row["message"]
    assert "Traceback" in row["traceback"]
    # Errors are recorded but not final: a rerun tries them again.
    assert bad.run_id not in finished_ids(tmp_path)
    outcome = run_suite([bad, good], tmp_path, RunOptions(isolate=False))
    assert outcome.statuses == {"error": 1, "ok": 1}


def test_diverged_run_is_final(tmp_path, spec_factory):
    spec = spec_factory(optimizer={"type": "adam", "lr": 1e30}, precision="float32", steps=20,
                        eval_every=10)
    assert execute(spec, tmp_path) == "diverged"
    assert finished_ids(tmp_path) == {spec.run_id}


def test_killed_worker_becomes_a_crashed_row(tmp_path, spec_factory):
    spec = spec_factory(steps=100000, eval_every=10)

    def kill_worker(event):
        if event["kind"] == "progress":
            for worker in worker_processes():
                worker.kill()

    assert execute_isolated(spec, tmp_path, kill_worker) == "crashed"
    row = load_runs(tmp_path).iloc[0]
    assert row["status"] == "crashed" and "killed by signal 9" in row["message"]
    assert row["problem"] == "helmholtz2d" and row["seed"] == 0


def test_run_past_its_hard_timeout_becomes_a_timeout_row(tmp_path, spec_factory):
    spec = spec_factory(steps=10**7, eval_every=1000)
    assert execute_isolated(spec, tmp_path, options=RunOptions(timeout_s=3)) == "timeout"
    row = load_runs(tmp_path).iloc[0]
    assert row["status"] == "timeout" and "no result after 3 s" in row["message"]
    # Not final: a rerun tries it again.
    assert finished_ids(tmp_path) == set()
