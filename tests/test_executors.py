"""Executors: run claims, one device per worker, SLURM submission through submitit (a fake
sbatch), and real submitit jobs on this machine, killed or preempted mid-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import command_line, descendants, tiny_suite, worker_processes
from typer.testing import CliRunner

from pinnbench import machine
from pinnbench.cli import app
from pinnbench.run.executors import ExecutorConfig, claims
from pinnbench.run.executors.submitit_jobs import submit_runs
from pinnbench.run.runner import CPUS_ENV, cpu_share, execute, worker_env
from pinnbench.run.store import load_history, load_runs

SUITE = tiny_suite(extra="""[methods.lbfgs]
optimizer = { type = "lbfgs" }
[executor]
partition = "cpu"
time = 30
[executor.methods.lbfgs]
gpus = 1
time = 120
""")
POISSON = {"type": "poisson1d"}
SMALL = {"type": "mlp", "width": 8, "depth": 2}
FEW = {"type": "uniform", "n_interior": 32, "n_boundary": 8}


# ---- claims -----------------------------------------------------------------------------------
def _write_claim(path: Path, **fields) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**claims.owner(), **fields}))


def test_claims_are_exclusive_and_stale_ones_are_taken_over(tmp_path, monkeypatch):
    first = claims.try_claim(tmp_path, "run")
    assert first is not None and claims.try_claim(tmp_path, "run") is None  # live owner: me
    first.release()
    assert claims.try_claim(tmp_path, "run") is not None

    path = tmp_path / "claims" / "dead.claim"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    _write_claim(path, pid=gone.pid, started=0.0)  # a dead pid on this host
    assert claims.try_claim(tmp_path, "dead") is not None

    path = tmp_path / "claims" / "elsewhere.claim"
    _write_claim(path, host="another-node", pid=1, job=None)
    assert claims.try_claim(tmp_path, "elsewhere") is None  # cannot tell: wait for heartbeat
    old = time.time() - claims.STALE_S - 5
    os.utime(path, (old, old))
    assert claims.try_claim(tmp_path, "elsewhere") is not None  # no heartbeat: abandoned

    monkeypatch.setenv("SLURM_JOB_ID", "77")
    path = tmp_path / "claims" / "requeued.claim"
    _write_claim(path, host="another-node", pid=1, job="77")
    assert claims.try_claim(tmp_path, "requeued") is not None  # our own job, before a requeue


def test_one_device_per_worker_and_no_preallocation_when_shared():
    assert worker_env(0, 1, ["0", "1"]) == {}
    assert [worker_env(s, 2, ["0", "1"]) for s in range(2)] == [
        {"CUDA_VISIBLE_DEVICES": "0"}, {"CUDA_VISIBLE_DEVICES": "1"}]
    shared = [worker_env(s, 4, ["2", "5"]) for s in range(4)]
    assert [e["CUDA_VISIBLE_DEVICES"] for e in shared] == ["2", "5", "2", "5"]
    assert all(e["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false" for e in shared)


def test_cpu_workers_get_disjoint_cores(monkeypatch):
    assert [cpu_share(s, 2, [0, 1, 2, 3]) for s in range(2)] == [[0, 1], [2, 3]]
    assert [cpu_share(s, 3, [0, 1, 2, 3]) for s in range(3)] == [[0], [1], [2]]
    assert [cpu_share(s, 3, [4, 7]) for s in range(3)] == [[4], [7], [4]]
    assert worker_env(0, 2, []) == {}  # by default CPU workers share every core
    monkeypatch.setenv("PINNBENCH_PIN_CPUS", "1")
    cores = machine.usable_cpus()
    assert [worker_env(s, 2, []) for s in range(2)] == [
        {CPUS_ENV: ",".join(map(str, cpu_share(s, 2, cores)))} for s in range(2)]


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores")
def test_workers_side_by_side_record_the_cores_they_ran_on(tmp_path):
    suite = tmp_path / "s.toml"
    suite.write_text(tiny_suite(steps=5, eval_every=5))
    out = tmp_path / "res"
    r = subprocess.run([sys.executable, "-m", "pinnbench", "run", str(suite), "--out", str(out),
                        "--jobs", "2"], capture_output=True, text=True,
                       env={**os.environ, "PINNBENCH_PIN_CPUS": "1"})
    assert r.returncode == 0, r.stdout + r.stderr
    runs = load_runs(out)
    assert sorted(runs["status"]) == ["ok", "ok"]
    assert runs["cpu_threads"].tolist() == [1, 1]  # one core each
    # Unpinned (the default), a worker of --jobs 2 may use every core; one seed shows it.
    r = subprocess.run([sys.executable, "-m", "pinnbench", "run", str(suite), "--out",
                        str(tmp_path / "shared"), "--jobs", "2", "--seeds", "0"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert load_runs(tmp_path / "shared")["cpu_threads"].tolist() == [len(os.sched_getaffinity(0))]


# ---- SLURM submission (a fake sbatch records what would be submitted) ---------------------------
def test_slurm_submission_groups_methods_by_resources(tmp_path, monkeypatch):
    bin_dir, log = tmp_path / "bin", tmp_path / "sbatch"
    bin_dir.mkdir()
    log.mkdir()
    (bin_dir / "sbatch").write_text('#!/bin/sh\nfor last; do :; done\n'
                                    'cp "$last" "$FAKE_SBATCH_LOG/$(date +%s%N).sh"\n'
                                    'echo "Submitted batch job 4242"\n')
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 0\n")
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SBATCH_LOG", str(log))
    suite = tmp_path / "tiny.toml"
    suite.write_text(SUITE)
    out = tmp_path / "results"
    result = CliRunner().invoke(app, ["run", str(suite), "--out", str(out), "--executor",
                                      "slurm", "--array-parallelism", "1", "--method-resources",
                                      "adam:mem_gb=2"])
    assert result.exit_code == 0, result.output
    assert "4 submitted as jobs (slurm: 4242)" in " ".join(result.output.split())
    scripts = sorted(p.read_text() for p in log.glob("*.sh"))
    assert len(scripts) == 2  # one array per distinct set of resources
    adam = next(s for s in scripts if "--mem=2GB" in s)
    lbfgs = next(s for s in scripts if "--gpus-per-node=1" in s)
    for script in (adam, lbfgs):
        assert "#SBATCH --array=0-1%1" in script and "#SBATCH --partition=cpu" in script
        assert "#SBATCH --signal=USR2@" in script  # the warning a checkpointing job acts on
    assert "#SBATCH --time=30" in adam and "#SBATCH --time=120" in lbfgs
    assert "gpus" not in adam
    assert not (out / "runs").exists()  # the submitting process trains nothing


def test_config_merges_suite_then_command_line():
    config = ExecutorConfig.from_tables(
        {"type": "slurm", "partition": "a", "gpus": 0, "methods": {"m": {"gpus": 1}}},
        {"partition": "b", "gpus": None, "time": None, "methods": {"m": {"time": 5}}})
    assert config.partition == "b" and config.time == 60
    assert config.resources("m") == {"partition": "b", "gpus": 1, "time": 5}
    assert config.resources("other") == {"partition": "b", "gpus": 0, "time": 60}


# ---- real submitit jobs on this machine -------------------------------------------------------
def _history_rows(out: Path, run_id: str) -> int:
    try:
        return len(pd.read_parquet(out / "history" / f"{run_id}.parquet"))
    except Exception:
        return 0


def _status(out: Path, run_id: str) -> str | None:
    try:
        return pd.read_parquet(out / "runs" / f"{run_id}.parquet")["status"].iloc[0]
    except Exception:
        return None


def _until(condition, timeout: float = 240.0) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out waiting"
        time.sleep(0.02)


def test_jobs_killed_or_preempted_mid_run_become_rows_and_requeued_jobs_resume(tmp_path,
                                                                              spec_factory):
    doomed = spec_factory(problem=POISSON, model=SMALL, sampler=FEW, steps=10**8,
                          eval_every=2000, seed=0)
    resumable = spec_factory(problem=POISSON, model=SMALL, sampler=FEW, steps=200_000,
                             eval_every=2000, seed=1)
    out = tmp_path / "results"
    killed = submit_runs(ExecutorConfig(type="submitit_local"), [doomed], out).jobs[0]

    # A worker killed inside its job (as the kernel's or SLURM's OOM killer would): the job
    # records it.
    _until(lambda: _history_rows(out, doomed.run_id) >= 2)
    workers = worker_processes(killed._process.pid)
    assert len(workers) == 1
    workers[0].send_signal(signal.SIGKILL)
    _until(lambda: _status(out, doomed.run_id) == "crashed")
    killed.wait()
    row = load_runs(out).set_index("run_id").loc[doomed.run_id]
    assert "killed by signal 9" in row["message"] and row["steps"] >= 2000

    # The scheduler's preemption warning: recorded, requeued, resumed from the checkpoint.
    # Submitted only now, so that it cannot finish while the first job is being killed.
    preempted = submit_runs(ExecutorConfig(type="submitit_local", checkpoint=True),
                            [resumable], out).jobs[0]
    _until(lambda: _history_rows(out, resumable.run_id) >= 2)
    tasks = descendants(preempted._process.pid,
                        lambda p: "submitit.core._submit" in command_line(p))
    assert len(tasks) == 1
    tasks[0].send_signal(signal.SIGUSR2)
    _until(lambda: _status(out, resumable.run_id) == "preempted")
    _until(lambda: _status(out, resumable.run_id) == "ok")
    preempted.wait()
    history = load_history(out)
    steps = history.loc[history["run_id"] == resumable.run_id, "step"].tolist()
    assert steps == list(range(0, 200_001, 2000))  # resumed: nothing recorded twice

    reference = tmp_path / "reference"
    assert execute(resumable, reference) == "ok"
    a = load_runs(reference).iloc[0]
    b = load_runs(out).set_index("run_id").loc[resumable.run_id]
    for column in ("rel_l2", "loss", "max_abs", "steps"):
        assert a[column] == b[column], column
    ref_history = load_history(reference)
    np.testing.assert_array_equal(
        ref_history["rel_l2"], history.loc[history["run_id"] == resumable.run_id, "rel_l2"])
    assert not list((out / "claims").glob("*.claim"))


def test_submitting_process_may_exit_before_the_jobs_finish(tmp_path):
    suite = tmp_path / "tiny.toml"
    suite.write_text(SUITE.split("[methods.lbfgs]")[0].replace("seeds = [0, 1]",
                                                               "seeds = [0]"))
    out = tmp_path / "results"
    done = subprocess.run([sys.executable, "-m", "pinnbench", "run", str(suite), "--out",
                           str(out), "--executor", "submitit_local"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 submitted as jobs (submitit_local" in " ".join(done.stdout.split())
    _until(lambda: (out / "runs").is_dir() and len(load_runs(out)) == 1
           and load_runs(out)["status"].iloc[0] == "ok")
    # Submitting again submits nothing: the job's own result file marks the run finished.
    again = CliRunner().invoke(app, ["run", str(suite), "--out", str(out), "--executor",
                                     "submitit_local"])
    assert again.exit_code == 0 and "1 already finished, 0 submitted" in " ".join(
        again.output.split())
