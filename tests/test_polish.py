"""What a new user reads: progress in logs, `list`, `--help` at 80 columns, "did you mean" and
variant labels; each case an exit code, the exact line, and nothing written where it should not
be."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from conftest import tiny_suite
from typer.testing import CliRunner

from pinnbench.cli import app
from pinnbench.cli.listing import MAX_SUMMARY, summary
from pinnbench.cli.progress import ProgressLines
from pinnbench.registry import REGISTRIES, suggest

LBFGS = '[methods.lbfgs]\noptimizer = { type = "lbfgs" }\n'
NUMBER = r"\d\.\d{3}e[+-]\d\d"


def one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


@pytest.fixture(scope="module")
def two_methods(tmp_path_factory):
    """A results folder of adam (which has an lr) and lbfgs (which has none) on poisson1d."""
    root = tmp_path_factory.mktemp("polish")
    suite = root / "tiny.toml"
    suite.write_text(tiny_suite(seeds=(0,), steps=5, eval_every=5, extra=LBFGS))
    out = root / "res"
    r = CliRunner().invoke(app, ["run", str(suite), "--out", str(out), "--no-isolate"])
    assert r.exit_code == 0, r.output
    return out


# ---- progress without a terminal ----------------------------------------------------------
def test_a_run_without_a_terminal_prints_plain_lines_and_the_next_command(tmp_path):
    suite = tmp_path / "tiny.toml"
    suite.write_text(tiny_suite(seeds=(0, 1), steps=10, eval_every=5))
    out = tmp_path / "res"
    r = subprocess.run([sys.executable, "-m", "pinnbench", "run", str(suite), "--out", str(out),
                        "--progress-every", "0"], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "COLUMNS": "200"})
    assert r.returncode == 0, r.stdout + r.stderr
    # Progress on stderr, the outcome on stdout; no bar and no escape codes in either.
    assert "━" not in r.stdout + r.stderr and "\x1b" not in r.stdout + r.stderr
    assert r.stdout.splitlines() == [f"2 runs in {out}: 0 already finished, 2 ok",
                                     f"next: pinnbench compare {out}"]
    lines = r.stderr.splitlines()
    assert "[1/2] poisson1d/adam seed 0: started (compiling)" in lines
    step = [line for line in lines if line.startswith("poisson1d/adam seed 0: step 5/10")]
    assert len(step) == 1
    assert re.fullmatch(rf"poisson1d/adam seed 0: step 5/10  loss {NUMBER}  rel_l2 {NUMBER}  "
                        r"\d+ steps/s  ETA \d+ s", step[0]), step[0]
    done = [line for line in lines if line.startswith("[1/2] poisson1d/adam seed 0: ok")]
    assert len(done) == 1
    assert re.fullmatch(rf"\[1/2\] poisson1d/adam seed 0: ok  rel_l2 {NUMBER}  train "
                        r"\d+\.\d s  steps 10", done[0]), done[0]
    assert any(line.startswith("[2/2] poisson1d/adam seed 1: ok  rel_l2 ") for line in lines)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_lines_are_rate_limited_per_run_and_a_failure_says_why(spec_factory):
    from rich.console import Console

    console = Console(record=True, width=200)
    clock = Clock()
    lines = ProgressLines(console, every=15, clock=clock)
    spec = spec_factory(steps=1100)
    lines.start_run(spec, 0, 1)
    label = f"{spec.problem_label}/{spec.method_label} seed 0"
    for t, step, train_s in [(5, 50, 0.5), (16, 100, 1.0), (20, 150, 1.2), (31, 300, 2.0)]:
        clock.now = t
        lines.event({"kind": "progress", "run_id": spec.run_id, "step": step,
                     "train_s": train_s, "loss": 0.5, "rel_l2": 0.25, "max_steps": 1100})
    lines.event({"kind": "done", "run_id": spec.run_id, "status": "error",
                 "message": "ValueError:\n boom", "steps": 300})
    text = console.export_text().splitlines()
    assert text == [
        f"[1/1] {label}: started (compiling)",
        # The first line's speed is the run's so far; later ones the speed since the last line.
        f"{label}: step 100/1100  loss 5.000e-01  rel_l2 2.500e-01  100 steps/s  ETA 10 s",
        f"{label}: step 300/1100  loss 5.000e-01  rel_l2 2.500e-01  200 steps/s  ETA 4 s",
        f"[1/1] {label}: error  rel_l2 2.500e-01  train 2.0 s  steps 300  (ValueError: boom)",
    ]


def test_a_finished_suite_still_names_the_next_command(two_methods):
    suite = two_methods.parent / "tiny.toml"
    r = CliRunner().invoke(app, ["run", str(suite), "--out", str(two_methods)])
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[-1] == f"next: pinnbench compare {two_methods}"


# ---- list -----------------------------------------------------------------------------------
def test_list_names_kinds_in_the_plural_and_says_allowed_values_once(monkeypatch):
    from pinnbench.cli.common import out

    # A width that fits every description on one line, whatever COLUMNS the test process has.
    monkeypatch.setattr(out, "width", 200)
    r = CliRunner().invoke(app, ["list", "loss"])
    assert r.exit_code == 0 and r.output.splitlines()[0].strip() == "losses"
    assert "losss" not in r.output
    r = CliRunner().invoke(app, ["list", "model"])
    assert r.exit_code == 0
    assert "subdomain width over centre spacing (> 1)" in r.output
    assert "(> 1) (> 1)" not in r.output and "(a multiple of 512) (a" not in r.output


def test_list_cuts_descriptions_in_the_overview_and_shows_one_component_in_full():
    for kind, registry in REGISTRIES.items():
        for name, cls in registry:
            text = summary(cls)
            assert len(text) <= MAX_SUMMARY and "``" not in text, (kind, name, text)
    assert summary(REGISTRIES["sampler"].get("curriculum")).endswith("…")
    r = CliRunner().invoke(app, ["list", "sampler", "curriculum"])
    assert r.exit_code == 0
    assert "module docstring" in " ".join(re.sub(r"[│┃]", " ", r.output).split())


def test_each_quasi_random_sampler_describes_its_own_scrambling():
    def scramble_text(name: str) -> str:
        r = CliRunner().invoke(app, ["list", "sampler", name])
        assert r.exit_code == 0
        return " ".join(re.sub(r"[│┃]", " ", r.output).split())

    lhs = scramble_text("lhs")
    assert "Sobol" not in lhs and "Halton" not in lhs
    assert "place each point at random inside its cell; false: at the cell's centre" in lhs
    assert "Owen-scramble" in scramble_text("sobol") and "Halton" not in scramble_text("sobol")
    assert "permute the sequence's digits" in scramble_text("halton")


# ---- --help -------------------------------------------------------------------------------
COMMANDS = ["run", "compare", "list", "validate", "check", "collect", "plot", "report",
            "verify", "reference"]


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)])
def test_help_fits_80_columns_without_cutting_anything(command):
    r = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    assert max(len(line) for line in r.output.splitlines()) <= 80, r.output
    # Cut text ends in an ellipsis; "{sources}..." and "KEY=VALUE,..." are metavars.
    assert "…" not in r.output and not re.search(r"[a-z]\.\.\.$", r.output, re.M), r.output
    assert "<bool>" not in r.output  # a flag takes no value


def test_help_shows_long_options_whole_and_flags_as_flags():
    r = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "80"})
    text = " ".join(r.output.split())
    assert "--array-parallelism <int range>" in text
    assert "--method-resources METHOD:KEY=VALUE,..." in text
    assert "lbfgs:gpus=1,time=120 (repeatable)" in text
    r = CliRunner().invoke(app, ["compare", "--help"], env={"COLUMNS": "80"})
    ranks = [line for line in r.output.splitlines() if line.strip().startswith("--ranks")]
    assert len(ranks) == 1
    assert re.fullmatch(r"  --ranks +add average ranks, Friedman and Wilcoxon-Holm", ranks[0])
    r = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "80"})
    text = " ".join(r.output.split())
    assert ("validate Check SUITE as `run` does (keys, values, combinations, plugins' first "
            "steps) and list the runs it would make, without training anything.") in text


def test_ranks_is_a_flag(two_methods):
    r = CliRunner().invoke(app, ["compare", str(two_methods), "--ranks"])
    assert r.exit_code == 0 and "average rank" in r.output.lower(), r.output
    r = CliRunner().invoke(app, ["compare", str(two_methods), "--ranks", "true"])
    assert r.exit_code == 2 and "unexpected extra argument" in r.output.lower()


# ---- did you mean -------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "choices", "hint"), [
    ("learning_rate", ["lr", "schedule", "decay_rate", "decay_steps", "alpha"], "lr"),
    ("lr", ["learning_rate", "momentum"], "learning_rate"),
    ("epochs", ["steps", "time_s", "eval_every"], "steps"),
    ("LR", ["lr", "b1"], "lr"),
    ("optimizer.learning_rate", ["optimizer.decay_rate", "optimizer.lr", "model.width"],
     "optimizer.lr"),
    ("rel_l3", ["rel_l2", "rel_l1", "loss"], "rel_l2"),
    ("stepz", ["steps", "time_s"], "steps"),  # spelling, as before
    ("lrate", ["lr", "decay_rate"], "lr"),
])
def test_suggestions_try_aliases_and_abbreviations_before_spelling(name, choices, hint):
    assert suggest(name, choices) == f' (did you mean "{hint}"?)'


def test_nothing_near_gets_no_suggestion():
    assert suggest("zzz", ["lr", "b1", "steps"]) == ""


def test_a_learning_rate_key_suggests_lr(tmp_path):
    suite = tmp_path / "s.toml"
    suite.write_text(tiny_suite().replace("lr = 1e-2", "learning_rate = 1e-2"))
    r = CliRunner().invoke(app, ["run", str(suite), "--out", str(tmp_path / "res")])
    assert r.exit_code == 2
    assert (f'{suite}: methods.adam.optimizer.learning_rate: unknown key (did you mean "lr"?)'
            in one_line(r.output))
    assert not (tmp_path / "res").exists()


@pytest.mark.parametrize(("args", "line"), [
    (["--metric", "rel_l3"], "error: --metric: no column 'rel_l3' in {res} "
                             '(did you mean "rel_l2"?)'),
    (["--by", "method,optimizer.learning_rate"],
     "error: --by: no column 'optimizer.learning_rate' in {res} (did you mean "
     '"optimizer.lr"?)'),
])
def test_compare_suggests_metrics_and_columns(two_methods, tmp_path, args, line):
    table = tmp_path / "t.md"
    r = CliRunner().invoke(app, ["compare", str(two_methods), *args, "--out", str(table)])
    assert r.exit_code == 2
    assert one_line(r.output) == line.format(res=two_methods)
    assert not table.exists()


# ---- variant labels -------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csv", "md"])
def test_a_method_without_the_option_reads_dash_not_nan(two_methods, fmt):
    r = CliRunner().invoke(app, ["compare", str(two_methods), "--by", "method,optimizer.lr",
                                 "--format", fmt])
    assert r.exit_code == 0, r.output
    labels = re.findall(r"(adam|lbfgs)/(\S+?)[,| ]", r.output)
    assert sorted(set(labels)) == [("adam", "0.01"), ("lbfgs", "-")], r.output
    assert "nan" not in r.output.lower()


def test_the_library_labels_a_missing_option_with_a_dash(two_methods):
    from pinnbench.analysis.compare import comparison_table
    from pinnbench.run.store import load_runs

    table = comparison_table(load_runs(two_methods), by=["method", "optimizer.lr"])
    assert sorted(table["method"]) == ["adam/0.01", "lbfgs/-"]


def test_a_dash_label_in_the_ranks_and_the_report(two_methods, tmp_path):
    r = CliRunner().invoke(app, ["compare", str(two_methods), "--by", "method,optimizer.lr",
                                 "--ranks"])
    assert r.exit_code == 0, r.output
    assert "lbfgs/-" in r.output and "nan" not in r.output.lower()
    page = tmp_path / "r.html"
    r = CliRunner().invoke(app, ["report", str(two_methods), "--by", "method,optimizer.lr",
                                 "--out", str(page)])
    assert r.exit_code == 0, r.output
    assert "lbfgs/-" in page.read_text() and "lbfgs/nan" not in page.read_text()
