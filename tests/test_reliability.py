"""Runs that are stopped from outside: partial histories, Ctrl-C, checkpoints, OOM, two suite
processes on one folder, and a suite killed halfway that must end exactly as an uninterrupted one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_suite, worker_processes

from pinnbench.run.runner import RunOptions, execute, execute_isolated, is_oom
from pinnbench.run.store import (
    checkpoint_path,
    finished_ids,
    load_history,
    load_runs,
    read_checkpoint,
)

TINY = tiny_suite(seeds=(0, 1, 2, 3), steps=20)

POISSON = {"type": "poisson1d"}
SMALL = {"type": "mlp", "width": 8, "depth": 2}
FEW = {"type": "uniform", "n_interior": 32, "n_boundary": 8}


# A shell without job control starts background commands with SIGINT ignored, and a child
# inherits that: this start puts back Python's Ctrl-C handler, as under a terminal. (In the child
# itself: a preexec_fn would fork the multithreaded test process.)
_WITH_CTRL_C = ("import runpy, signal, sys; "
                "signal.signal(signal.SIGINT, signal.default_int_handler); "
                "sys.argv[0] = 'pinnbench'; runpy.run_module('pinnbench', run_name='__main__')")


def _cli(*args: str, ctrl_c: bool = False) -> list[str]:
    start = ["-c", _WITH_CTRL_C] if ctrl_c else ["-m", "pinnbench"]
    return [sys.executable, *start, "run", *args]


def _history_rows(folder: Path) -> int:
    files = list((folder / "history").glob("[!.]*.parquet"))
    try:
        return len(pd.read_parquet(files[0])) if files else 0
    except Exception:
        return 0


def test_killed_worker_keeps_its_history_and_the_row_records_where_it_stopped(tmp_path,
                                                                              spec_factory):
    spec = spec_factory(problem=POISSON, model=SMALL, sampler=FEW, steps=10**7, eval_every=500)
    seen = []

    def kill_after_two_evaluations(event):
        if event["kind"] == "progress":
            seen.append(event["step"])
            if len(seen) == 3:
                for worker in worker_processes():
                    worker.kill()

    assert execute_isolated(spec, tmp_path, kill_after_two_evaluations) == "crashed"
    row = load_runs(tmp_path).iloc[0]
    history = load_history(tmp_path)
    # Flushed at every evaluation: the curve up to the kill survives it.
    assert history["step"].tolist()[:3] == [0, 500, 1000]
    assert row["steps"] == history["step"].iloc[-1] >= 1000
    assert "killed by signal 9" in row["message"] and "out-of-memory" in row["message"]
    # Rows written by the watching process record versions and machine too.
    assert row["jax"] and row["host"] and row["pinnbench_version"]
    assert np.isfinite(history["rel_l2"]).all()


def test_interrupted_run_resumes_from_its_checkpoint_with_identical_numbers(tmp_path,
                                                                            spec_factory):
    spec = spec_factory(problem=POISSON, model=SMALL, sampler=FEW, steps=40, eval_every=10)
    straight = tmp_path / "straight"
    assert execute(spec, straight) == "ok"

    resumed = tmp_path / "resumed"

    def ctrl_c_at_step_20(event):
        if event["kind"] == "progress" and event["step"] == 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        execute(spec, resumed, ctrl_c_at_step_20, RunOptions(checkpoint=True))
    row = load_runs(resumed).iloc[0]
    assert row["status"] == "interrupted" and row["steps"] == 20
    assert load_history(resumed)["step"].tolist() == [0, 10, 20]
    # Progress is reported before the state at that evaluation is saved: the checkpoint a
    # Ctrl-C inside the step-20 report leaves behind is step 10's.
    assert read_checkpoint(resumed, spec.run_id)["step"] == 10
    assert spec.run_id not in finished_ids(resumed)  # the next run tries it again

    starts = []
    assert execute(spec, resumed, lambda e: starts.append(e.get("step")),
                   RunOptions(checkpoint=True)) == "ok"
    assert starts[0] == 20  # resumed after step 10, not from the start
    assert not checkpoint_path(resumed, spec.run_id).exists()
    a, b = load_runs(straight).iloc[0], load_runs(resumed).iloc[0]
    for column in ("rel_l2", "rel_l1", "max_abs", "loss", "steps"):
        assert a[column] == b[column], column
    ha, hb = load_history(straight), load_history(resumed)
    assert hb["step"].tolist() == [0, 10, 20, 30, 40]
    np.testing.assert_array_equal(ha["rel_l2"], hb["rel_l2"])
    np.testing.assert_array_equal(ha["loss"], hb["loss"])


def test_memory_errors_become_oom_rows(tmp_path, spec_factory, monkeypatch):
    assert is_oom(MemoryError())
    assert is_oom(RuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate "
                               "4.00GiB"))
    assert not is_oom(ValueError("shapes (3,) and (4,) do not match"))

    from pinnbench.engine import train

    def exhausted(self, *args, **kwargs):
        raise RuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 17179869184 bytes")

    monkeypatch.setattr(train.Trainer, "run", exhausted)
    spec = spec_factory(problem=POISSON, model=SMALL, sampler=FEW, steps=10, eval_every=10)
    assert execute(spec, tmp_path) == "oom"
    row = load_runs(tmp_path).iloc[0]
    assert row["status"] == "oom" and "RESOURCE_EXHAUSTED" in row["message"]
    assert spec.run_id not in finished_ids(tmp_path)


def test_ctrl_c_records_interrupted_exits_130_and_the_rerun_resumes(tmp_path):
    suite = tmp_path / "long.toml"
    suite.write_text(TINY.replace("steps = 20", "steps = 40000")
                     .replace("eval_every = 10", "eval_every = 1000")
                     .replace("seeds = [0, 1, 2, 3]", "seeds = [0]"))
    out = tmp_path / "results"
    proc = subprocess.Popen(_cli(str(suite), "--out", str(out), "--checkpoint", ctrl_c=True),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and _history_rows(out) < 2:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends to the whole group on Ctrl-C
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    row = load_runs(out).iloc[0]
    assert row["status"] == "interrupted"
    partial = load_history(out)["step"].tolist()
    assert len(partial) >= 2 and row["steps"] == partial[-1] < 40000
    assert not list((out / "claims").glob("*.claim"))

    done = subprocess.run(_cli(str(suite), "--out", str(out), "--checkpoint", "--no-isolate"),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert load_runs(out).iloc[0]["status"] == "ok"
    steps = load_history(out)["step"].tolist()
    assert steps == list(range(0, 40001, 1000))  # resumed: no step recorded twice


def _rows(folder: Path) -> pd.DataFrame:
    return load_runs(folder).set_index("run_id").sort_index()


def test_two_processes_share_a_folder_and_a_killed_suite_reruns_to_the_same_rows(tmp_path):
    suite = tmp_path / "tiny.toml"
    suite.write_text(TINY)

    # Two suite processes on one folder at once: every run trained exactly once. (In-process
    # runs, to keep the test short; the claims are the same with worker processes.)
    shared = tmp_path / "shared"
    procs = [subprocess.Popen(_cli(str(suite), "--out", str(shared), "--no-isolate"),
                              stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    trained = 0
    for stdout, _ in outputs:
        summary = " ".join(stdout.split())
        trained += int(summary.split(" ok")[0].split()[-1]) if " ok" in summary else 0
    assert trained == 4, outputs
    reference = _rows(shared)
    assert len(reference) == 4 and set(reference["status"]) == {"ok"}
    assert not list((shared / "claims").glob("*.claim"))

    # SIGKILL the suite (and its worker) after its second run finished, then run it again.
    killed = tmp_path / "killed"
    proc = subprocess.Popen(_cli(str(suite), "--out", str(killed)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 200
    while time.time() < deadline and len(list((killed / "runs").glob("[!.]*.parquet"))) < 2:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 2 <= len(list((killed / "runs").glob("[!.]*.parquet"))) < 4
    # (The rerun trains in-process: results must not depend on the process layout either.)
    rerun = subprocess.run(_cli(str(suite), "--out", str(killed), "--no-isolate"),
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    result = _rows(killed)
    # The same runs, the same statuses, the same numbers as the uninterrupted folder.
    assert list(result.index) == list(reference.index)
    assert result["status"].tolist() == reference["status"].tolist()
    for column in ("rel_l2", "rel_l1", "max_abs", "loss", "steps", "seed", "data_seed"):
        assert result[column].tolist() == reference[column].tolist(), column


def test_same_seeds_same_numbers_other_seeds_other_runs_both_seeds_recorded(tmp_path,
                                                                           spec_factory):
    import dataclasses

    base = spec_factory(problem=POISSON, model=SMALL, sampler=FEW, steps=20, eval_every=10,
                        seed=0)
    variants = {"again": base,
                "init": dataclasses.replace(base, seed=1),        # other initialisation
                "data": dataclasses.replace(base, data_seed=1)}   # other collocation points
    assert execute(base, tmp_path / "base") == "ok"
    for name, spec in variants.items():
        assert execute(spec, tmp_path / name) == "ok"
    rows = {name: load_runs(tmp_path / name).iloc[0] for name in ("base", *variants)}
    assert rows["again"]["rel_l2"] == rows["base"]["rel_l2"]
    assert rows["again"]["loss"] == rows["base"]["loss"]
    for name in ("init", "data"):
        assert rows[name]["rel_l2"] != rows["base"]["rel_l2"], name
        assert rows[name]["run_id"] != rows["base"]["run_id"], name
    assert (rows["init"]["seed"], rows["init"]["data_seed"]) == (1, 0)
    assert (rows["data"]["seed"], rows["data"]["data_seed"]) == (0, 1)
    for column in ("jax", "jaxlib", "python", "host", "cpu", "device_kind", "pinnbench_version"):
        assert rows["base"][column], column
