"""The bad-input catalogue: each case a clean one-line error, a non-zero exit, nothing recorded
lost. (Unknown problems, options and optimizers inside a suite are also in test_suite.py and
test_cli.py; this file covers the rest of the catalogue.)"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import tiny_suite
from typer.testing import CliRunner

from pinnbench.cli import app
from pinnbench.registry import samplers
from pinnbench.run.store import UnreadableResultWarning, finished_ids, load_runs
from pinnbench.sampling.uniform import Uniform

SUITE = tiny_suite()


@pytest.fixture
def suite_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(SUITE)
    return path


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def one_line_error(result, fragment: str) -> str:
    """The error message, checked to be one line (once rich's wrapping is undone)."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    text = " ".join(result.output.split())
    assert text.startswith("error: "), text
    assert fragment in text, text
    return text


def test_toml_syntax_error_names_line_and_column(tmp_path, suite_file):
    suite_file.write_text(SUITE.replace("steps = 10", "steps = "))
    out = tmp_path / "results"
    one_line_error(invoke("run", suite_file, "--out", out),
                   f"{suite_file}: not valid TOML: Invalid value (at line 5, column 9)")
    assert not out.exists()


@pytest.mark.parametrize("old,new,fragment", [
    ("steps = 10", "steps = 0", "budget.steps: impossible value 0; expected > 0"),
    ("steps = 10", "steps = -3", "budget.steps: impossible value -3; expected > 0"),
    ("eval_every = 10", "eval_every = 0", "budget.eval_every: impossible value 0"),
    ("steps = 10", "steps = 10\ntime_s = -1.5", "budget.time_s: impossible value -1.5"),
    ("steps = 10", "steps = 10\ntime_s = 0", "budget.time_s: impossible value 0.0"),
])
def test_zero_or_negative_budgets(tmp_path, suite_file, old, new, fragment):
    suite_file.write_text(SUITE.replace(old, new))
    one_line_error(invoke("run", suite_file, "--out", tmp_path / "r"), fragment)


def test_unknown_method_or_problem_on_the_command_line_suggests_one(tmp_path, suite_file):
    one_line_error(invoke("run", suite_file, "--only", "adma", "--out", tmp_path / "r"),
                   "--only 'adma' matches no (problem, method) of the suite (did you mean "
                   "\"adam\"?)")
    one_line_error(invoke("run", suite_file, "--only", "poison1d"), 'did you mean "poisson1d"')
    one_line_error(invoke("run", suite_file, "--executor", "slrum"),
                   "--executor: unknown executor 'slrum' (did you mean \"slurm\"?)")
    one_line_error(invoke("run", suite_file, "--method-resources", "adma:gpus=1"),
                   "--method-resources: no method 'adma'")
    one_line_error(invoke("run", suite_file, "--method-resources", "adam:gpu=1"),
                   "unknown resource 'gpu' (did you mean \"gpus\"?)")


@pytest.mark.parametrize("table,fragment", [
    ('[executor]\ntype = "slrum"', 'executor.type: unknown executor \'slrum\' (did you mean '
                                   '"slurm"?)'),
    ("[executor]\njobs = 0", "executor.jobs: impossible value 0; expected >= 1"),
    ("[executor]\ngpu = 1", 'executor.gpu: unknown key (did you mean "gpus"?)'),
    ("[executor.methods.adma]\ngpus = 1", "executor.methods.adma: no method 'adma' in the "
                                          'suite (did you mean "adam"?)'),
    ("[executor.methods.adam]\njobs = 2", 'executor.methods.adam.jobs: unknown key'),
])
def test_bad_executor_tables(tmp_path, suite_file, table, fragment):
    suite_file.write_text(SUITE + table + "\n")
    one_line_error(invoke("run", suite_file, "--out", tmp_path / "r"), f"{suite_file}: "
                   + fragment)


def test_rule_across_options_is_a_suite_error_not_a_traceback(tmp_path, suite_file):
    suite_file.write_text(SUITE.replace("[problems.poisson1d]",
                                        "[problems.oscillator]\nomega0 = 1.0\ndelta = 2.0"))
    one_line_error(invoke("run", suite_file, "--out", tmp_path / "r"),
                   f"{suite_file}: problems.oscillator: oscillator: omega0 = 1.0 must exceed "
                   "delta = 2.0")


@dataclasses.dataclass(frozen=True)
class NeedsLbfgs(Uniform):
    """A sampler that only makes sense with L-BFGS (a stand-in for real constraints such as
    a least-squares solver that needs a linear problem)."""

    def incompatibility(self, parts):
        optimizer = type(parts["optimizer"]).registered_name
        if optimizer != "lbfgs":
            return f"toy_needs_lbfgs needs the lbfgs optimizer; got {optimizer}"
        return None


@pytest.fixture
def toy_sampler():
    samplers.register("toy_needs_lbfgs")(NeedsLbfgs)
    yield
    samplers._entries.pop("toy_needs_lbfgs")


def test_incompatible_components_are_reported_per_method(tmp_path, suite_file, toy_sampler):
    text = SUITE.replace('type = "uniform"', 'type = "toy_needs_lbfgs"') + (
        '[methods.lbfgs]\noptimizer = { type = "lbfgs" }\n')
    suite_file.write_text(text)
    out = tmp_path / "r"
    one_line_error(invoke("run", suite_file, "--out", out),
                   f"{suite_file}: methods.adam: toy_needs_lbfgs needs the lbfgs optimizer; "
                   "got adam")
    assert not out.exists()
    # With two problems the message says on which.
    suite_file.write_text(text.replace("[problems.poisson1d]", "[problems.poisson1d]\n"
                                       "[problems.heat]"))
    one_line_error(invoke("run", suite_file), "methods.adam: toy_needs_lbfgs needs the lbfgs "
                   "optimizer; got adam (on problem 'poisson1d')")
    # Only the compatible method: loads.
    from pinnbench.run.suite import load_suite

    suite_file.write_text(text.replace('[methods.adam]\noptimizer = { type = "adam", '
                                       'lr = 1e-2 }\n', ""))
    assert len(load_suite(suite_file).runs()) == 2


def test_missing_paths(tmp_path, suite_file):
    one_line_error(invoke("run", tmp_path / "absent.toml"), "absent.toml: no such file")
    for command, *extra in (("compare",), ("plot",), ("report",),
                            ("collect", "--out", tmp_path / "o")):
        result = invoke(command, tmp_path / "nowhere", *extra)
        assert result.exit_code == 2 and "Traceback" not in result.output, (command,
                                                                             result.output)
        assert "nowhere" in result.output
    a_file = tmp_path / "file"
    a_file.write_text("x")
    one_line_error(invoke("run", suite_file, "--out", a_file), "exists and is not a folder")


def test_suite_that_expands_to_zero_runs(tmp_path, suite_file):
    one_line_error(invoke("run", suite_file, "--only", "nothing*"), "matches no (problem, "
                   "method)")
    one_line_error(invoke("run", suite_file, "--seeds", ""), "--seeds: expected integers")
    suite_file.write_text(SUITE.replace("seeds = [0, 1]", "seeds = []"))
    one_line_error(invoke("run", suite_file), "seeds: expected a non-empty list")
    suite_file.write_text(SUITE.split("[problems.poisson1d]")[0] + "[problems]\n[defaults]\n"
                          + SUITE.split("[defaults]")[1])
    one_line_error(invoke("run", suite_file), "problems: expected at least one problem")


def test_read_only_results_folder(tmp_path, suite_file, monkeypatch):
    out = tmp_path / "results"
    (out / "runs").mkdir(parents=True)
    kept = out / "runs" / "earlier.parquet"
    pd.DataFrame([{"run_id": "earlier", "status": "ok"}]).to_parquet(kept)
    before = kept.read_bytes()
    os.chmod(out, 0o555)
    if os.geteuid() == 0:  # root writes through permissions: make the folder refuse writes
        real = tempfile.mkstemp

        def refuse(*args, dir=None, **kwargs):
            if dir is not None and Path(dir).resolve() == out.resolve():
                raise PermissionError(13, "Permission denied")
            return real(*args, dir=dir, **kwargs)

        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    try:
        one_line_error(invoke("run", suite_file, "--out", out),
                       f"--out {out}: cannot write results there (Permission denied)")
    finally:
        os.chmod(out, 0o755)
    assert kept.read_bytes() == before
    assert sorted(p.name for p in out.rglob("*")) == ["earlier.parquet", "runs"]


def test_corrupted_parquet_is_reported_skipped_and_its_run_redone(tmp_path, suite_file):
    out = tmp_path / "results"
    assert invoke("run", suite_file, "--out", out, "--no-isolate").exit_code == 0
    files = sorted((out / "runs").glob("*.parquet"))
    assert len(files) == 2
    broken = files[0]
    broken.write_bytes(b"PAR1 this is not a parquet file")
    (out / "history" / broken.name).write_bytes(b"\x00" * 10)

    with pytest.warns(UnreadableResultWarning, match=broken.name):
        runs = load_runs(out)
    assert len(runs) == 1
    with pytest.warns(UnreadableResultWarning):
        assert finished_ids(out) == {files[1].stem}
    table = invoke("compare", out)
    assert table.exit_code == 0, table.output
    assert "1/1" in table.output
    rerun = invoke("run", suite_file, "--out", out, "--no-isolate")
    assert rerun.exit_code == 0, rerun.output
    assert "1 already finished, 1 ok" in " ".join(rerun.output.split())
    assert len(load_runs(out)) == 2  # the damaged run was trained again and is readable
