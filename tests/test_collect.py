"""Merging results folders: one record per run id, conflicts reported."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from pinnbench.analysis.collect import collect, differing_columns
from pinnbench.cli import app
from pinnbench.run.store import load_history, load_runs


def write_run(root: Path, run_id: str, status: str = "ok", error: float = 0.1) -> None:
    for sub, frame in (("history", pd.DataFrame({"run_id": [run_id], "step": [0],
                                                 "rel_l2": [error]})),
                       ("runs", pd.DataFrame({"run_id": [run_id], "problem": ["p"],
                                              "method": ["m"], "seed": [0], "status": [status],
                                              "rel_l2": [error]}))):
        (root / sub).mkdir(parents=True, exist_ok=True)
        frame.to_parquet(root / sub / f"{run_id}.parquet")
    (root / "suite.toml").write_text('name = "s"\n')


def test_merge_deduplicates_and_reports_conflicts(tmp_path):
    a, b, out = tmp_path / "a", tmp_path / "b", tmp_path / "out"
    write_run(a, "r1")
    write_run(a, "r2", status="crashed", error=float("nan"))
    write_run(a, "r3", error=0.1)
    write_run(b, "r1")                      # identical copy
    write_run(b, "r2", error=0.2)           # a rerun that finished: preferred
    write_run(b, "r3", error=0.3)           # same run id, other result: first folder kept
    write_run(b, "r4")
    outcome = collect([a, b], out)
    assert (outcome.added, outcome.duplicates) == (4, 1)
    conflicts = {c.run_id: c for c in outcome.conflicts}
    assert set(conflicts) == {"r2", "r3"}
    assert conflicts["r2"].kept == b and conflicts["r2"].columns == ("rel_l2", "status")
    assert conflicts["r3"].kept == a and conflicts["r3"].columns == ("rel_l2",)
    runs = load_runs(out).set_index("run_id")
    assert runs["rel_l2"].to_dict() == {"r1": 0.1, "r2": 0.2, "r3": 0.1, "r4": 0.1}
    assert load_history(out).set_index("run_id")["rel_l2"]["r2"] == 0.2
    assert (out / "suite.toml").read_text() == 'name = "s"\n'
    # Merging again finds every run already there, and the same two conflicts.
    again = collect([a, b], out)
    assert (again.added, again.duplicates, len(again.conflicts)) == (0, 5, 2)


def test_suite_folders_keep_their_names(tmp_path):
    write_run(tmp_path / "job1" / "heat", "r1")
    write_run(tmp_path / "job2" / "wave", "r2")
    write_run(tmp_path / "job2" / "heat", "r3")
    outcome = collect([tmp_path / "job1", tmp_path / "job2"], tmp_path / "out")
    assert outcome.added == 3 and not outcome.conflicts
    assert sorted(p.name for p in (tmp_path / "out" / "heat" / "runs").iterdir()) == \
        ["r1.parquet", "r3.parquet"]
    assert len(load_runs(tmp_path / "out")) == 3


def test_differing_columns_treat_nan_and_missing_alike():
    nan = float("nan")
    assert differing_columns({"a": nan, "b": 1}, {"b": 1}) == ()
    assert differing_columns({"a": 1.0, "b": "x"}, {"a": 1.0, "b": "y", "c": 2}) == ("b", "c")


def test_collect_command_exit_codes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_run(a, "r1")
    write_run(b, "r2")
    runner = CliRunner()
    result = runner.invoke(app, ["collect", str(a), str(b), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0
    assert "2 runs added, 0 identical duplicates skipped, 0 conflicts" in result.output
    write_run(tmp_path / "c", "r1", error=0.5)
    result = runner.invoke(app, ["collect", str(tmp_path / "c"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "r1" in result.output and "rel_l2" in result.output
    for args, fragment in (([str(tmp_path / "none")], "no such results folder"),
                           ([str(tmp_path)], "cannot merge suite folders"),
                           ([str(tmp_path / "o" / "runs")], "not a results folder")):
        result = runner.invoke(app, ["collect", *args, "--out", str(tmp_path / "o")])
        assert result.exit_code == 2, result.output
        assert fragment in " ".join(result.output.split())
