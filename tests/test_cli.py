"""The command line as a user meets it: exit codes, messages, resume after a kill."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pinnbench.cli import app

SUITE = """
name = "tiny"
seeds = [0, 1, 2]
[budget]
steps = 40
eval_every = 20
[problems.helmholtz2d]
a2 = 1
[defaults]
model = { type = "mlp", width = 8, depth = 2 }
sampler = { type = "uniform", n_interior = 64, n_boundary = 16 }
[methods.adam]
optimizer = { type = "adam", lr = 1e-2 }
"""


@pytest.fixture
def suite_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(SUITE)
    return path


@pytest.mark.parametrize("old,new,fragment", [
    ("steps = 40", "stepz = 40", 'budget.stepz: unknown key (did you mean "steps"?)'),
    ("steps = 40", 'steps = "forty"', "budget.steps: expected an integer, got 'forty' (str)"),
    ("[problems.helmholtz2d]", "[problems.helmholtz]",
     "problems.helmholtz: unknown problem 'helmholtz' (did you mean \"helmholtz2d\"?)"),
])
def test_bad_suite_exits_2_with_one_line_and_writes_nothing(tmp_path, suite_file, old, new,
                                                             fragment):
    suite_file.write_text(SUITE.replace(old, new))
    out = tmp_path / "results"
    result = CliRunner().invoke(app, ["run", str(suite_file), "--out", str(out)])
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert f"{suite_file}: {fragment}" in message
    assert not out.exists()


def test_bad_options_exit_2(tmp_path, suite_file):
    runner = CliRunner()
    assert runner.invoke(app, ["run", str(suite_file), "--profile", "quick"]).exit_code == 2
    assert runner.invoke(app, ["run", str(suite_file), "--only", "nothing*"]).exit_code == 2
    assert runner.invoke(app, ["run", str(suite_file), "--seeds", "a,b"]).exit_code == 2
    assert runner.invoke(app, ["compare", str(tmp_path / "none")]).exit_code == 2
    out = tmp_path / "results"
    bad = runner.invoke(app, ["run", str(suite_file), "--out", str(out)],
                        env={"PINNBENCH_START_METHOD": "fork"})
    assert bad.exit_code == 2
    assert "PINNBENCH_START_METHOD='fork': expected one of forkserver, spawn" in bad.output
    assert not list(out.glob("runs/*.parquet"))


def test_run_then_compare_prints_the_table(tmp_path, suite_file):
    out = tmp_path / "results"
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(suite_file), "--out", str(out), "--no-isolate",
                                 "--seeds", "0,1"])
    assert result.exit_code == 0, result.output
    assert "2 runs" in result.output and "2 ok" in result.output
    table = runner.invoke(app, ["compare", str(out)])
    assert table.exit_code == 0
    assert "helmholtz2d" in table.output and "adam" in table.output and "2/2" in table.output
    assert runner.invoke(app, ["compare", str(out), "--metric", "nope"]).exit_code == 2


def test_list_shows_every_registry():
    result = CliRunner().invoke(app, ["list"])
    assert result.exit_code == 0
    for name in ("helmholtz2d", "mlp", "adam", "lbfgs", "adam_lbfgs", "uniform", "resample_every"):
        assert name in result.output


def test_killed_suite_resumes_with_only_what_is_missing(tmp_path, suite_file):
    out = tmp_path / "results"
    cmd = [sys.executable, "-m", "pinnbench", "run", str(suite_file), "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    runs = out / "runs"
    deadline = time.time() + 120
    while time.time() < deadline and not (runs.exists() and list(runs.glob("*.parquet"))):
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole process group: the suite and its worker
    proc.wait()
    first = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.parquet")}
    assert 1 <= len(first) < 3

    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"3 runs in {out}: {len(first)} already finished" in " ".join(done.stdout.split())
    after = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.parquet")}
    assert len(after) == 3
    assert all(after[name] == mtime for name, mtime in first.items())  # not rerun


def test_worker_dies_with_a_killed_suite_process(tmp_path, suite_file):
    import psutil

    suite_file.write_text(SUITE.replace("steps = 40", "steps = 10000000"))
    proc = subprocess.Popen([sys.executable, "-m", "pinnbench", "run", str(suite_file), "--out",
                             str(tmp_path / "results")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    workers = []
    while time.time() < deadline and not workers:
        # Workers are forked from a server process, the suite process's child.
        workers = psutil.Process(proc.pid).children(recursive=True)
        workers = [w for w in workers if w.ppid() != proc.pid]
        time.sleep(0.2)
    assert workers
    everything = psutil.Process(proc.pid).children(recursive=True)
    proc.kill()  # SIGKILL: the suite process gets no chance to clean up
    proc.wait()
    gone, alive = psutil.wait_procs(everything, timeout=10)
    assert not alive
