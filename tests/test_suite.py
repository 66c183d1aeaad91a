"""Suite files: what loads, and the one-line errors for what does not."""

from pathlib import Path

import pytest

from pinnbench.run.suite import SuiteError, load_suite

ROOT = Path(__file__).resolve().parents[1]

GOOD = """
name = "s"
seeds = [0, 1]
[budget]
steps = 100
[problems.helmholtz2d]
a2 = 2
[problems.hard]
type = "helmholtz2d"
a2 = 6
[defaults]
model = { type = "mlp", width = 8 }
sampler = { type = "uniform", n_interior = 64, n_boundary = 16 }
weights = { bc = 10.0 }
[methods.adam]
optimizer = { type = "adam", lr = 1e-2 }
[methods.wide]
model = { width = 32 }
optimizer = { type = "lbfgs" }
[profile.quick]
seeds = [3]
budget = { steps = 10 }
methods.adam.optimizer = { lr = 5e-2 }
problems.hard = { a2 = 3 }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return path


def test_good_suite_resolves_defaults_and_profiles(tmp_path):
    suite = load_suite(write(tmp_path, GOOD))
    runs = suite.runs()
    assert len(runs) == 2 * 2 * 2
    adam = suite.doc["methods"]["adam"]
    assert adam["model"] == {"type": "mlp", "width": 8, "depth": 4, "activation": "tanh",
                             "fourier": 0, "fourier_scale": 1.0, "hard": False}
    assert adam["optimizer"]["lr"] == 0.01 and adam["optimizer"]["b1"] == 0.9
    assert suite.doc["methods"]["wide"]["model"]["width"] == 32
    assert adam["weights"] == {"bc": 10.0}
    assert suite.doc["budget"] == {"steps": 100, "eval_every": 100}
    assert suite.doc["problems"]["hard"]["a2"] == 6.0

    quick = load_suite(write(tmp_path, GOOD), "quick")
    assert quick.seeds == [3] and quick.doc["budget"]["steps"] == 10
    assert quick.doc["methods"]["adam"]["optimizer"]["lr"] == 0.05
    assert quick.doc["problems"]["hard"] == {"type": "helmholtz2d", "a1": 1.0, "a2": 3.0,
                                             "k": 1.0, "bc_weight": 1.0}
    # Run ids depend on everything that changes the outcome, and only on that.
    ids = {r.run_id for r in runs}
    assert len(ids) == len(runs)
    assert {r.run_id for r in load_suite(write(tmp_path, GOOD)).runs()} == ids
    assert not ids & {r.run_id for r in quick.runs()}


def test_only_and_seed_selection(tmp_path):
    suite = load_suite(write(tmp_path, GOOD))
    assert {(r.problem_label, r.method_label) for r in suite.runs(only="hard/*")} == {
        ("hard", "adam"), ("hard", "wide")}
    assert len(suite.runs(only="adam", seeds=[7])) == 2


def test_a_method_may_run_on_seeds_of_its_own(tmp_path):
    text = GOOD.replace('[methods.wide]\n', '[methods.wide]\nseeds = [0, 1, 2, 3, 4]\n')
    suite = load_suite(write(tmp_path, text))
    seeds = {m: sorted({r.seed for r in suite.runs() if r.method_label == m})
             for m in ("adam", "wide")}
    assert seeds == {"adam": [0, 1], "wide": [0, 1, 2, 3, 4]}
    assert len(suite.runs()) == 2 * (2 + 5)
    # The seeds are not part of the method's configuration: runs on shared seeds keep their ids.
    plain = {r.run_id for r in load_suite(write(tmp_path, GOOD)).runs()}
    assert plain <= {r.run_id for r in suite.runs()}
    # --seeds on the command line applies to every method; a profile's seeds do too, unless the
    # profile sets the method's own.
    assert {r.seed for r in suite.runs(seeds=[7])} == {7}
    assert {r.seed for r in load_suite(write(tmp_path, text), "quick").runs()} == {3}
    own = text.replace("methods.adam.optimizer = { lr = 5e-2 }",
                       "methods.adam.optimizer = { lr = 5e-2 }\nmethods.wide.seeds = [8, 9]")
    quick = load_suite(write(tmp_path, own), "quick")
    assert {(r.method_label, r.seed) for r in quick.runs(only="helmholtz2d")} == {
        ("adam", 3), ("wide", 8), ("wide", 9)}
    for bad in ("seeds = [-1]", "seeds = []"):
        with pytest.raises(SuiteError, match=r"methods\.wide\.seeds"):
            load_suite(write(tmp_path, GOOD.replace("[methods.wide]\n",
                                                    f"[methods.wide]\n{bad}\n")))
    with pytest.raises(SuiteError, match="defaults.seeds"):
        load_suite(write(tmp_path, GOOD.replace("[defaults]\n", "[defaults]\nseeds = [1]\n")))


@pytest.mark.parametrize("old,new,key,expected", [
    ('steps = 100', 'stepz = 100', "budget.stepz", 'did you mean "steps"'),
    ('steps = 100', 'steps = "many"', "budget.steps", "expected an integer"),
    ('steps = 100', 'steps = -5', "budget.steps", "expected > 0"),
    ('[problems.helmholtz2d]', '[problems.helmholz2d]', "problems.helmholz2d",
     'did you mean "helmholtz2d"'),
    ('lr = 1e-2', 'lr = "fast"', "methods.adam.optimizer.lr", "expected a number"),
    ('lr = 1e-2', 'lrate = 1e-2', "methods.adam.optimizer.lrate", 'did you mean "lr"'),
    ('type = "lbfgs"', 'type = "lbgfs"', "methods.wide.optimizer.type",
     'did you mean "lbfgs"'),
    ('width = 8', 'width = 0', "defaults.model.width", "expected > 0"),
    ('seeds = [0, 1]', 'seeds = "0"', "seeds", "non-empty list"),
    ('seeds = [0, 1]', 'seeds = [0, 1]\nprecision = "float16"', "precision", "float64"),
    ('weights = { bc = 10.0 }', 'weights = { bcc = 10.0 }', "methods.adam.weights.bcc",
     'did you mean "bc"'),
    ('budget = { steps = 10 }', 'budget = { steps = 1.5 }', "profile.quick.budget.steps",
     "expected an integer"),
    ('methods.adam.optimizer = { lr = 5e-2 }', 'methods.adam.optimizer = { lr = true }',
     "profile.quick.methods.adam.optimizer.lr", "expected a number"),
])
def test_bad_input_names_file_key_and_expectation(tmp_path, old, new, key, expected):
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert expected in message
    assert "\n" not in message


def test_missing_pieces_and_unknown_profile(tmp_path):
    with pytest.raises(SuiteError, match=r"methods\.adam\.model: missing"):
        load_suite(write(tmp_path, GOOD.replace('model = { type = "mlp", width = 8 }', "")))
    with pytest.raises(SuiteError, match=r"budget: expected budget.steps and/or budget.time_s"):
        load_suite(write(tmp_path, GOOD.replace("steps = 100", "eval_every = 5")))
    with pytest.raises(SuiteError, match=r"profile: no profile 'quik' .*did you mean \"quick\""):
        load_suite(write(tmp_path, GOOD), "quik")
    with pytest.raises(SuiteError, match="not valid TOML"):
        load_suite(write(tmp_path, "name = "))
    with pytest.raises(SuiteError, match="no such file"):
        load_suite(tmp_path / "absent.toml")


def test_shipped_suites_load_with_every_profile():
    for path in sorted((ROOT / "suites").rglob("*.toml")):
        import tomllib

        profiles = [None, *tomllib.loads(path.read_text()).get("profile", {})]
        for profile in profiles:
            assert load_suite(path, profile).runs(), (path, profile)
