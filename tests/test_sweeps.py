"""Option sweeps in suites: expansion (lists, log-uniform ranges, grids, random draws), one run
id and one compare cell per configuration, profiles that shrink a sweep, the run-count guard,
and bad sweep input as one line naming the file and the key."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_suite
from typer.testing import CliRunner

from pinnbench.analysis.compare import cell_keys
from pinnbench.cli import app
from pinnbench.run.store import spec_columns
from pinnbench.run.suite import SuiteError, load_suite


def write(tmp_path, extra: str = "", lr: str = "1e-2", seeds=(0, 1)):
    path = tmp_path / "tiny.toml"
    path.write_text(tiny_suite(seeds=seeds, extra=extra).replace("lr = 1e-2", f"lr = {lr}"))
    return path


def lrs(suite, label="adam"):
    return [c["optimizer"]["lr"] for c in suite.configurations(label)]


def test_a_list_sweep_makes_one_run_per_value_and_seed_with_its_own_id_and_columns(tmp_path):
    suite = load_suite(write(tmp_path, lr="{ sweep = [1e-3, 3e-4, 1e-4] }"))
    assert lrs(suite) == [1e-3, 3e-4, 1e-4]
    runs = suite.runs()
    assert len(runs) == 3 * 2 and len({r.run_id for r in runs}) == 6
    assert sorted({r.flat()["optimizer.lr"] for r in runs}) == [1e-4, 3e-4, 1e-3]
    # A configuration's run is the run a suite fixing that value makes: the same id.
    fixed = load_suite(write(tmp_path, lr="3e-4")).runs()
    assert {r.run_id for r in fixed} <= {r.run_id for r in runs}
    # compare: one label, one cell per configuration, named by what differs.
    frame = pd.DataFrame([spec_columns(r) for r in runs])
    keys = cell_keys(frame)
    assert set(keys["label"]) == {"adam"} and keys["config"].nunique() == 3
    assert sorted(set(keys["variant"])) == ["adam [optimizer.lr=0.0001]",
                                            "adam [optimizer.lr=0.0003]",
                                            "adam [optimizer.lr=0.001]"]


def test_loguniform_draws_are_seeded_inside_the_range_and_a_profile_shrinks_them(tmp_path):
    sweep = '{ sweep = "loguniform", low = 1e-4, high = 1e-2, n = 8, seed = 3 }'
    extra = ('[profile.quick]\nmethods.adam.optimizer.lr = { sweep = "loguniform", low = 1e-4, '
             'high = 1e-2, n = 2, seed = 3 }\n[profile.one]\n'
             'methods.adam.optimizer.lr = { sweep = [5e-3] }\n')
    path = write(tmp_path, extra, lr=sweep)
    values = lrs(load_suite(path))
    assert len(values) == 8 and values == sorted(values)
    assert all(1e-4 <= v <= 1e-2 for v in values)
    # The draws are numpy's log-uniform ones for that seed, to 4 significant digits.
    expected = np.exp(np.random.default_rng(3).uniform(math.log(1e-4), math.log(1e-2), 8))
    assert values == sorted(float(f"{v:.4g}") for v in expected)
    assert lrs(load_suite(path)) == values  # the same file, the same configurations
    assert any(v < 1e-3 for v in values) and any(v > 1e-3 for v in values)  # both decades
    # The profile's two draws are the first two of the same seed's sequence.
    assert lrs(load_suite(path, "quick")) == sorted(float(f"{v:.4g}") for v in expected[:2])
    assert lrs(load_suite(path, "one")) == [5e-3]


def test_a_grid_over_two_options_and_a_random_draw_from_it(tmp_path):
    grid = "[methods.adam.sweep]\nmodel.width = [8, 16]\n"
    suite = load_suite(write(tmp_path, grid, lr="{ sweep = [1e-2, 1e-3, 1e-4] }"))
    configs = [(c["model"]["width"], c["optimizer"]["lr"]) for c in suite.configurations("adam")]
    assert sorted(configs) == sorted((w, lr) for w in (8, 16) for lr in (1e-2, 1e-3, 1e-4))
    assert len(suite.runs()) == 6 * 2
    assert suite.doc["methods"]["adam"]["model"]["depth"] == 2  # what is not swept stays

    random = "[methods.adam.sweep]\nmode = \"random\"\nn = 4\nseed = 1\nmodel.width = [8, 16]\n"
    drawn = load_suite(write(tmp_path, random, lr="{ sweep = [1e-2, 1e-3, 1e-4] }"))
    picked = [(c["model"]["width"], c["optimizer"]["lr"]) for c in drawn.configurations("adam")]
    assert len(set(picked)) == 4 and set(picked) <= set(configs)
    # Random search over a range: every draw its own value, inside the range.
    ranged = load_suite(write(tmp_path, random.replace("n = 4", "n = 5"),
                              lr='{ sweep = "loguniform", low = 1e-4, high = 1e-2, n = 1 }'))
    values = [c["optimizer"]["lr"] for c in ranged.configurations("adam")]
    assert len(values) == 5 and len(set(values)) == 5
    assert all(1e-4 <= v <= 1e-2 for v in values)


@pytest.mark.parametrize("lr,extra,fragment", [
    ("{ sweep = [] }", "", "methods.adam.optimizer.lr.sweep: empty list; expected at least one"),
    ('{ sweep = "loguniform", low = 1e-2, high = 1e-4, n = 3 }', "",
     "methods.adam.optimizer.lr.low: expected low < high, got low = 0.01, high = 0.0001"),
    ('{ sweep = "loguniform", low = 1e-4, high = 1e-2, n = 0 }', "",
     "methods.adam.optimizer.lr.n: impossible value 0; expected >= 1"),
    ('{ sweep = "uniform", low = 1e-4, high = 1e-2, n = 3 }', "",
     "methods.adam.optimizer.lr.sweep: unknown sweep 'uniform' (str)"),
    ("{ sweep = [1e-3, -1.0] }", "", "methods.adam.optimizer.lr.sweep[1]: impossible value -1.0"),
    ("{ sweep = [1e-3, 1e-3] }", "", "value 0.001 appears more than once"),
    ("1e-2", "[methods.adam.sweep]\nmode = \"grd\"\nmodel.width = [8]\n",
     "methods.adam.sweep.mode: unknown mode 'grd' (did you mean \"grid\"?)"),
    ("1e-2", "[methods.adam.sweep]\nmodel.widht = [8, 16]\n",
     "methods.adam.sweep.model.widht: unknown key (did you mean \"width\"?)"),
    ("1e-2", "[methods.adam.sweep]\nmode = \"random\"\nmodel.width = [8, 16]\n",
     'methods.adam.sweep.n: missing; mode = "random" draws n configurations'),
    ("1e-2", "[methods.adam.sweep]\nmode = \"random\"\nn = 3\nmodel.width = [8, 16]\n",
     "methods.adam.sweep.n: 3 configurations asked of a grid of 2"),
    ("{ sweep = [1e-3] }", "[methods.adam.sweep]\noptimizer.lr = [1e-2]\n",
     "methods.adam.sweep.optimizer.lr: swept twice"),
    ("1e-2", "[profile.quick]\nmethods.adam.optimizer.lr = { sweep = [] }\n",
     "profile.quick.methods.adam.optimizer.lr.sweep: empty list"),
])
def test_bad_sweeps_are_one_line_naming_file_and_key(tmp_path, lr, extra, fragment):
    path = write(tmp_path, extra, lr=lr)
    with pytest.raises(SuiteError) as e:
        load_suite(path)
    assert str(e.value).startswith(f"{path}: ") and fragment in str(e.value), str(e.value)
    r = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "r")])
    assert r.exit_code == 2 and "Traceback" not in r.output
    text = " ".join(r.output.split())
    assert text.startswith(f"error: {path}: ") and fragment in text
    assert not (tmp_path / "r").exists()


def test_validate_shows_the_count_and_a_big_sweep_asks_for_yes(tmp_path, monkeypatch):
    path = write(tmp_path, "[methods.adam.sweep]\nmodel.width = [8, 16]\n",
                 lr="{ sweep = [1e-2, 1e-3, 1e-4] }")
    from pinnbench.cli import common

    monkeypatch.setattr(common.out, "width", 240)  # one table row per run, whatever the terminal
    r = CliRunner().invoke(app, ["validate", str(path)])
    assert r.exit_code == 0, r.output
    assert "methods.adam: 6 configurations" in r.output
    assert f"{path}: valid; 12 runs" in r.output
    assert "model.width=16, optimizer.lr=0.0001" in r.output
    # Over the threshold, without a terminal: one line with the count, exit 2, nothing run.
    out = tmp_path / "r"
    r = CliRunner().invoke(app, ["run", str(path), "--out", str(out), "--ask-above", "10"])
    assert r.exit_code == 2
    assert " ".join(r.output.split()) == (f"error: {path}: its sweeps make 12 runs, more than "
                                          "--ask-above 10; pass --yes to run them")
    assert not out.exists()
    # With --yes (or under the threshold) the runs go to the runner.
    from pinnbench.run import runner

    seen = []

    def fake(specs, target, **kw):
        seen.append(len(specs))
        return runner.SuiteOutcome(len(specs), 0, {"ok": len(specs)})

    monkeypatch.setattr(runner, "run_suite", fake)
    r = CliRunner().invoke(app, ["run", str(path), "--out", str(out), "--ask-above", "10",
                                 "--yes"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["run", str(path), "--out", str(out), "--ask-above", "12"])
    assert r.exit_code == 0, r.output
    assert seen == [12, 12]
