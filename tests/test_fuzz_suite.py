"""Fuzzing the suite loader: whatever the file holds, a Suite or one clean SuiteError line."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pinnbench.run.suite import SuiteError, load_suite

GOOD = """
name = "s"
seeds = [0, 1]
data_seed = 3
precision = "float64"
[budget]
steps = 100
eval_every = 50
[problems.poisson1d]
k = 2
[problems.osc]
type = "oscillator"
omega0 = 20.0
[defaults]
model = { type = "mlp", width = 8, depth = 2 }
sampler = { type = "uniform", n_interior = 64, n_boundary = 16 }
[methods.adam]
optimizer = { type = "adam", lr = 1e-2 }
[methods.rad]
optimizer = { type = "lbfgs" }
sampler = { type = "rad", n_interior = 64 }
[executor]
jobs = 2
[executor.methods.rad]
gpus = 1
[profile.quick]
seeds = [3]
budget = { steps = 10 }
"""
DOC = tomllib.loads(GOOD)

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + "}"


def toml_key(k: str) -> str:
    return k if k and all(c.isalnum() or c in "_-" for c in k) else toml_value(k)


def dumps(doc: dict[str, Any]) -> str:
    return "\n".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in doc.items()) + "\n"


scalars = st.one_of(st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                    st.booleans(), st.text(max_size=12),
                    st.sampled_from(["mlp", "adam", "lbfgs", "uniform", "rad", "heat", "slurm",
                                     "float16", "float32", "tanh", "", "local"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(["type", "lr", "width", "steps", "x", "k", "n_interior",
                                     "gpus", "jobs"]), inner, max_size=3)), max_leaves=6)


def paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths(v, (*prefix, k))
    return out


ALL_PATHS = paths(DOC)


def mutate(doc: dict, path: tuple, action: str, value: Any, key: str) -> dict:
    import copy

    doc = copy.deepcopy(doc)
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    if action == "delete":
        del parent[path[-1]]
    elif action == "replace":
        parent[path[-1]] = value
    elif isinstance(parent.get(path[-1]), dict):
        parent[path[-1]][key] = value
    else:
        parent[key] = value
    return doc


def check(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_text(text)
    for profile in (None, "quick"):
        try:
            suite = load_suite(path, profile)
        except SuiteError as e:
            message = str(e)
            assert message.startswith(f"{path}: "), message
            assert "\n" not in message and "Traceback" not in message, message
            continue
        runs = suite.runs()
        assert runs and len({r.run_id for r in runs}) == len(runs)


@SETTINGS
@given(mutations=st.lists(st.tuples(st.sampled_from(ALL_PATHS),
                                    st.sampled_from(["delete", "replace", "add"]), values,
                                    st.sampled_from(["type", "lr", "steps", "time_s", "seeds",
                                                     "width", "zzz", "methods", "gpus"])),
                          min_size=1, max_size=3))
def test_mutated_suites_load_or_fail_cleanly(tmp_path, mutations):
    doc = DOC
    for path, action, value, key in mutations:
        try:
            doc = mutate(doc, path, action, value, key)
        except (KeyError, TypeError):  # an earlier mutation removed or replaced the parent
            continue
    check(tmp_path, dumps(doc))


@SETTINGS
@given(cut=st.integers(0, len(GOOD)), noise=st.text(max_size=20))
def test_damaged_files_fail_cleanly(tmp_path, cut, noise):
    check(tmp_path, GOOD[:cut] + noise + GOOD[cut:][len(noise):])


@SETTINGS
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_fail_cleanly(tmp_path, raw):
    path = tmp_path / "bytes.toml"
    path.write_bytes(raw)
    try:
        load_suite(path)
    except SuiteError as e:
        assert "\n" not in str(e)


def test_the_unmutated_document_loads(tmp_path):
    path = tmp_path / "good.toml"
    path.write_text(dumps(DOC))
    assert len(load_suite(path).runs()) == 2 * 2 * 2
    assert load_suite(path).executor == {"jobs": 2, "methods": {"rad": {"gpus": 1}}}
