"""Bad inputs that used to end in a traceback or a silent surprise: each is one line, a non-zero
exit, and nothing written or lost."""

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
from conftest import cli, tiny_suite
from typer.testing import CliRunner

from pinnbench.cli import app
from pinnbench.run.store import UnreadableResultWarning, load_history, load_runs


def one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


def test_a_foreign_parquet_file_in_runs_is_skipped_with_a_warning(tmp_path):
    suite = tmp_path / "tiny.toml"
    suite.write_text(tiny_suite(seeds=(0,), steps=5, eval_every=5))
    out = tmp_path / "res"
    (out / "runs").mkdir(parents=True)
    pd.DataFrame({"a": [1]}).to_parquet(out / "runs" / "foreign.parquet")
    with pytest.warns(UnreadableResultWarning, match=r"foreign.parquet: not a pinnbench "
                      r"result file \(no column run_id, status\); skipped"):
        r = CliRunner().invoke(app, ["run", str(suite), "--out", str(out), "--no-isolate"])
    assert r.exit_code == 0, r.output
    with pytest.warns(UnreadableResultWarning):
        assert load_runs(out)["status"].tolist() == ["ok"]


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/absolute", "", ".hidden", "a b"])
def test_a_suite_name_must_be_a_plain_folder_name(tmp_path, monkeypatch, name):
    suite = tmp_path / "s.toml"
    suite.write_text(tiny_suite().replace('name = "tiny"', f"name = {name!r}".replace("'", '"')))
    cwd = tmp_path / "work"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # the default results folder is relative to it
    r = cli("run", suite)
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{suite}: name: expected a plain name" in one_line(r.stderr)
    assert not any(cwd.iterdir()) and not Path("/tmp/absolute").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml", "work"]


def test_repeated_seeds_are_refused(tmp_path):
    suite = tmp_path / "s.toml"
    suite.write_text(tiny_suite(seeds=(0, 0)))
    r = CliRunner().invoke(app, ["run", str(suite), "--out", str(tmp_path / "res")])
    assert r.exit_code == 2 and "seeds: seed 0 appears more than once" in one_line(r.output)
    suite.write_text(tiny_suite(seeds=(0, 1)))
    r = CliRunner().invoke(app, ["run", str(suite), "--seeds", "1,1", "--out",
                                 str(tmp_path / "res")])
    assert r.exit_code == 2 and "--seeds: expected distinct seeds" in one_line(r.output)
    assert not (tmp_path / "res").exists()


@pytest.mark.parametrize(("args", "expected"), [
    (["poisson1d", "--param", "k=banana"], "--param k: expected an integer, got 'banana'"),
    (["poisson1d", "--param", "k=0"], "--param k: impossible value 0; expected >= 1"),
    (["helmholtz2d", "--param", "a3=2"], "helmholtz2d has no option 'a3'"),
    (["helmholtz2d", "--param", "a1"], "--param: expected KEY=VALUE, got 'a1'"),
    (["helmholz2d"], 'unknown problem \'helmholz2d\' (did you mean "helmholtz2d"?)'),
])
def test_reference_params_are_validated_as_suite_keys(tmp_path, args, expected):
    out = tmp_path / "o.npz"
    r = CliRunner().invoke(app, ["reference", *args, "--out", str(out)])
    assert r.exit_code == 2 and expected in one_line(r.output), r.output
    assert not out.exists()


def test_reference_at_bad_point_files_and_out_a_folder(tmp_path):
    out = tmp_path / "o.npz"
    cases = {"missing.npy": "no such file", "text.npy": "not a .npy array file",
             "nan.npy": "expected finite numbers"}
    (tmp_path / "text.npy").write_text("hello")
    np.save(tmp_path / "nan.npy", np.array([[0.1, np.nan]]))
    for name, expected in cases.items():
        r = CliRunner().invoke(app, ["reference", "wave", "--at", str(tmp_path / name),
                                     "--out", str(out)])
        assert r.exit_code == 2 and expected in one_line(r.output), (name, r.output)
    assert not out.exists()
    folder = tmp_path / "folder"
    folder.mkdir()
    r = CliRunner().invoke(app, ["reference", "wave", "--out", str(folder)])
    assert r.exit_code == 2 and "is a folder" in one_line(r.output)
    assert not any(folder.iterdir())


def test_collect_into_a_file_and_collected_field_plots(tmp_path):
    suite = tmp_path / "tiny.toml"
    suite.write_text(tiny_suite(seeds=(0,), steps=5, eval_every=5))
    src = tmp_path / "a"
    assert CliRunner().invoke(app, ["run", str(suite), "--out", str(src),
                                    "--no-isolate"]).exit_code == 0
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    r = CliRunner().invoke(app, ["collect", str(src), "--out", str(blocker)])
    assert r.exit_code == 2 and "exists and is not a folder" in one_line(r.output)
    assert blocker.read_text() == "keep me"
    merged = tmp_path / "merged"
    assert CliRunner().invoke(app, ["collect", str(src), "--out", str(merged)]).exit_code == 0
    assert len(list((merged / "params").glob("*.npz"))) == 1  # parameters travel too
    r = CliRunner().invoke(app, ["plot", str(merged), "--kind", "field", "--out",
                                 str(tmp_path / "f.png")])
    assert r.exit_code == 0 and (tmp_path / "f.png").stat().st_size > 5000, r.output


def test_a_diverged_row_says_the_step_it_reached(tmp_path):
    suite = tmp_path / "blow.toml"
    suite.write_text(tiny_suite(seeds=(0,), steps=100, eval_every=100)
                     .replace("lr = 1e-2", "lr = 1e30"))
    out = tmp_path / "res"
    r = CliRunner().invoke(app, ["run", str(suite), "--out", str(out), "--no-isolate"])
    assert r.exit_code == 0, r.output
    row = load_runs(out).iloc[0]
    assert row["status"] == "diverged"
    assert row["message"] == f"non-finite loss at step {row['steps']}" and row["steps"] < 100


def test_sigterm_records_the_running_run_as_interrupted(tmp_path):
    suite = tmp_path / "long.toml"
    suite.write_text(tiny_suite(seeds=(0,), steps=40000, eval_every=1000))
    out = tmp_path / "res"
    proc = subprocess.Popen([sys.executable, "-m", "pinnbench", "run", str(suite), "--out",
                             str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and (load_history(out).empty if (out / "history").is_dir()
                                      else True):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGTERM)  # the suite process alone, as a scheduler or `kill` does
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert "terminated (SIGTERM)" in stderr and "Traceback" not in stderr
    row = load_runs(out).iloc[0]
    assert row["status"] == "interrupted" and row["message"] == "terminated (SIGTERM)"
    assert not list((out / "history").glob(".*")) and not list((out / "claims").glob("*"))


def test_validate_lists_the_runs_and_trains_nothing(tmp_path, monkeypatch):
    from pinnbench.run.suite import load_suite

    suite = tmp_path / "tiny.toml"
    suite.write_text(tiny_suite(seeds=(0, 1)))
    cwd = tmp_path / "work"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    r = CliRunner().invoke(app, ["validate", str(suite)])
    assert r.exit_code == 0, r.output
    assert f"{suite}: valid; 2 runs" in r.output
    for spec in load_suite(suite).runs():
        assert spec.run_id in r.output
    assert not any(cwd.iterdir())
    suite.write_text(tiny_suite().replace("lr = 1e-2", "lr = -1"))
    r = CliRunner().invoke(app, ["validate", str(suite)])
    assert r.exit_code == 2 and "methods.adam.optimizer.lr: impossible value -1" in r.output


def test_list_one_kind_or_one_component():
    r = CliRunner().invoke(app, ["list", "optimizers", "adam"])
    assert r.exit_code == 0 and "b2" in r.output and "lbfgs" not in r.output
    r = CliRunner().invoke(app, ["list", "loss"])
    assert r.exit_code == 0 and "ntk" in r.output and "helmholtz2d" not in r.output
    r = CliRunner().invoke(app, ["list", "optimizer", "adm"])
    assert r.exit_code == 2 and 'did you mean "adam"' in one_line(r.output)
    r = CliRunner().invoke(app, ["list", "los"])
    assert r.exit_code == 2 and 'did you mean "loss"' in one_line(r.output)
