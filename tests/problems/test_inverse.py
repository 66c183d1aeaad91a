"""Inverse problems (PINNacle's PoissonInv and HeatInv): the closed forms with the true
coefficient satisfy the residuals, observations are the reference plus the stated noise, bad
observation options are one-line errors, and a short training recovers the coefficient."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from conftest import make_spec
from typer.testing import CliRunner

from pinnbench.analysis.check import check_runs, default_metrics
from pinnbench.analysis.compare import columns, comparison_table
from pinnbench.cli import app
from pinnbench.derivatives import Field
from pinnbench.engine.train import Trainer, train
from pinnbench.problems.inverse import (
    Params,
    Unknown,
    WithUnknowns,
    coefficient,
    with_unknowns,
)
from pinnbench.references.verify import verify_problem
from pinnbench.registry import models, problems

from .helpers import ExactModel, smoke_train

NAMES = ["poisson_inverse2d", "heat_inverse2d"]


def build(name: str, **options):
    return problems.get(name)(**options)


@pytest.mark.parametrize("name", NAMES)
def test_exact_solution_with_true_coefficient_has_zero_residuals(name):
    # Autodiff of the closed form, with the coefficient read as the truth (no trained params).
    p = build(name)
    model = ExactModel(p)
    for i, c in enumerate(p.constraints()):
        if c.points is not None:
            continue
        x = p.sample(c.region, jax.random.PRNGKey(i), 300, jnp.float64)
        r = np.asarray(jax.jit(lambda y, c=c: c.residual(Field(model, None, y)))(x))
        assert np.max(np.abs(r)) < 1e-11, (c.name, np.max(np.abs(r)))
    # Finite differences of the reference (verify's independent check): at rounding level.
    checks = verify_problem(p, n=100)
    assert [c.name for c in checks] == ["pde", "bc_a"]
    assert all(c.ok and c.fd < 1e-8 and c.ad < 1e-12 for c in checks), checks


def test_pinnacle_printed_poisson_forcing_is_not_the_manufactured_one():
    # PINNacle's PoissonInv forcing writes (2x+1), (2y+1); with u* and a* it leaves a residual
    # 4π a*² (cos πx sin πy + sin πx cos πy), rms 0.381 of the forcing's own rms.
    p = build("poisson_inverse2d")
    x = np.asarray(p.sample("interior", jax.random.PRNGKey(0), 4000, jnp.float64))
    a = 1 / (1 + x[:, 0] ** 2 + x[:, 1] ** 2 + (x[:, 0] - 1) ** 2 + (x[:, 1] - 1) ** 2)
    s, c = np.sin(np.pi * x), np.cos(np.pi * x)
    printed = (2 * np.pi**2 * s[:, 0] * s[:, 1] * a
               + 2 * np.pi * ((2 * x[:, 0] + 1) * c[:, 0] * s[:, 1]
                              + (2 * x[:, 1] + 1) * s[:, 0] * c[:, 1]) * a**2)
    ours = np.asarray(p.source(x, np))
    gap = np.sqrt(np.mean((printed - ours) ** 2)) / np.sqrt(np.mean(ours**2))
    assert abs(gap - 0.381) < 0.01, gap
    np.testing.assert_allclose(printed - ours, 4 * np.pi * a**2 * (c[:, 0] * s[:, 1]
                                                                 + s[:, 0] * c[:, 1]),
                               atol=1e-12)


def test_observations_are_the_reference_plus_the_stated_noise():
    exact = build("poisson_inverse2d", noise=0.0)
    x, y = exact.observations
    assert x.shape == (2500, 2)  # PINNacle's 50 x 50 grid over [0, 1]², faces included
    np.testing.assert_allclose(np.unique(x[:, 0]), np.linspace(0, 1, 50), atol=1e-15)
    np.testing.assert_allclose(y, np.sin(np.pi * x[:, 0]) * np.sin(np.pi * x[:, 1]), atol=1e-15)
    noisy = build("poisson_inverse2d", noise=0.1)
    e = noisy.observations[1] - y
    # std 0.1 max|u| (max|u| = 0.99949 on the grid); 2500 draws: the estimate within 5 %.
    assert abs(e.std() / (0.1 * np.max(np.abs(y))) - 1) < 0.05, e.std()
    assert abs(e.mean()) < 0.01
    again = build("poisson_inverse2d", noise=0.1).observations[1]
    other = build("poisson_inverse2d", noise=0.1, observation_seed=1).observations[1]
    assert np.array_equal(again, noisy.observations[1]) and not np.allclose(other, again)
    heat = build("heat_inverse2d", noise=0.0, n_observations=700)
    xh, yh = heat.observations
    assert xh.shape == (700, 3)
    assert np.all(xh.min(axis=0) >= [-1, -1, 0]) and np.all(xh.max(axis=0) <= [1, 1, 1])
    np.testing.assert_allclose(yh, heat.reference(xh)[:, 0], atol=1e-15)


def test_data_constraint_is_the_misfit_at_the_sites():
    p = build("poisson_inverse2d", noise=0.05, n_observations=100)
    spec = make_spec(problem={"type": "poisson_inverse2d", "noise": 0.05, "n_observations": 100})
    trainer = Trainer(spec)
    state = trainer.initial_state()
    # The sampler never sees the observation region; the objective adds the sites.
    assert set(state.sampler["points"]) == {"interior", "boundary"}
    objective = trainer.objective(state.sampler["points"], state.loss)
    x, y = p.observations
    u = np.asarray(trainer.model.apply(state.params, jnp.asarray(x)))[:, 0]
    r = np.asarray(jax.jit(objective.residuals)(state.params)["data"])
    np.testing.assert_allclose(r, u - y, atol=1e-12)
    # The least-squares vector and its point-by-point Jacobian agree with the residuals.
    vec, jac = jax.jit(objective.residual_jacobian)(state.params)  # compiled: 1 s, eager: 15 s
    np.testing.assert_allclose(vec, jax.jit(objective.residual_vector)(state.params),
                               atol=1e-12)
    assert jac.shape == (vec.shape[0], sum(v.size for v in jax.tree.leaves(state.params)))


def test_unknowns_start_at_the_initial_guess_and_read_from_params():
    field = Unknown("a", lambda x, xp: 1 + 0 * x[:, 0], initial=0.7, inputs=(0, 1),
                    lower=(0.0, 0.0), upper=(1.0, 1.0))
    scalar = Unknown("c", lambda x, xp: 2.0 + 0 * x[:, 0], initial=3.0)
    model = WithUnknowns(models.get("mlp")(width=8, depth=2), (field, scalar)).bind(
        (0.0, 0.0), (1.0, 1.0))
    params = model.init(jax.random.PRNGKey(0), 2, 1, jnp.float64)
    assert isinstance(params, Params) and float(params.unknowns["c"]) == 3.0
    x = jax.random.uniform(jax.random.PRNGKey(1), (50, 2), jnp.float64)
    f = Field(model, params, x)
    a, (ax, ay) = coefficient(f, field, (0, 1))
    np.testing.assert_allclose(a, 0.7, atol=1e-15)
    assert float(jnp.max(jnp.abs(ax))) == 0.0 and float(jnp.max(jnp.abs(ay))) == 0.0
    np.testing.assert_allclose(coefficient(f, scalar)[0], 3.0)
    np.testing.assert_allclose(coefficient(Field(model, None, x), scalar)[0], 2.0)  # the truth
    assert model.snapshot(params) == {"c": params.unknowns["c"]}
    # A forward problem keeps its model as it is.
    mlp = models.get("mlp")()
    assert with_unknowns(mlp, problems.get("poisson1d")()) is mlp


@pytest.mark.parametrize("optimizer, steps, precision, width, depth, factor", [
    # measured: coef_rel_l2 1.3186 -> 0.0990 (adam), 0.1585 (lm), 0.0768 (lbfgs)
    ({"type": "adam", "lr": 3e-3}, 600, "float32", 20, 3, 10),
    ({"type": "lm"}, 10, "float64", 8, 2, 6),
    ({"type": "lbfgs"}, 100, "float64", 16, 2, 12),
])
def test_short_training_recovers_the_coefficient(optimizer, steps, precision, width, depth,
                                                 factor):
    spec = make_spec(problem={"type": "poisson_inverse2d", "noise": 0.0,
                              "n_observations": 400},
                     optimizer=optimizer, steps=steps, eval_every=steps, precision=precision,
                     model={"type": "mlp", "width": width, "depth": depth},
                     sampler={"type": "uniform", "n_interior": 500, "n_boundary": 200})
    result = train(spec)
    first, last = result.history[0], result.history[-1]
    # The initial guess a = 1 against a* in [1/3, 1/2]: relative L2 1.3186.
    assert abs(first["coef_rel_l2"] - 1.3186) < 1e-3, first["coef_rel_l2"]
    assert last["coef_rel_l2"] < first["coef_rel_l2"] / factor, last["coef_rel_l2"]
    assert last["rel_l2"] < 0.13 and result.row["coef_rel_l2"] == last["coef_rel_l2"]


def test_forward_rows_have_no_coefficient_error_and_tables_show_it_where_present():
    row = smoke_train({"type": "poisson1d"}).row
    assert "coef_rel_l2" not in row
    runs = pd.DataFrame({
        "problem": ["inv"] * 3 + ["fwd"] * 3, "method": ["adam"] * 6, "seed": [0, 1, 2] * 2,
        "status": ["ok"] * 6, "rel_l2": [0.1, 0.2, 0.3, 0.01, 0.02, 0.03],
        "coef_rel_l2": [0.5, 0.4, 0.6, np.nan, np.nan, np.nan]})
    table = comparison_table(runs)
    assert table.set_index("problem")["coef_median"].to_dict()["inv"] == 0.5
    assert np.isnan(table.set_index("problem")["coef_median"]["fwd"])
    assert "coef_rel_l2 (median)" in [c.header for c in columns(table, "rel_l2")]
    forward = comparison_table(runs[runs["problem"] == "fwd"].drop(columns="coef_rel_l2"))
    assert "coef_rel_l2 (median)" not in [c.header for c in columns(forward, "rel_l2")]
    # The gate judges the coefficient where the baseline has it, and only there.
    assert default_metrics(runs) == ["rel_l2", "coef_rel_l2"]
    assert default_metrics(runs[runs["problem"] == "fwd"]) == ["rel_l2"]
    worse = runs.assign(coef_rel_l2=runs["coef_rel_l2"] * 10)
    verdicts = check_runs(runs, worse, default_metrics(runs))
    judged = sorted(zip(verdicts["problem"], verdicts["metric"], verdicts["verdict"],
                        strict=True))
    assert judged == [("fwd", "rel_l2", "pass"), ("inv", "coef_rel_l2", "regression"),
                      ("inv", "rel_l2", "pass")]


SUITE = """
name = "inv"
seeds = [0]
[budget]
steps = 2
eval_every = 2
[problems.poisson_inverse2d]
{options}
[defaults]
model = {{ type = "mlp", width = 8, depth = 2 }}
sampler = {{ type = "uniform", n_interior = 32, n_boundary = 8 }}
[methods.adam]
optimizer = {{ type = "adam" }}
weights = {{ data = 10.0 }}
"""


def _validate(tmp_path: Path, options: str):
    path = tmp_path / "inv.toml"
    path.write_text(SUITE.format(options=options))
    return CliRunner().invoke(app, ["validate", str(path)])


@pytest.mark.parametrize("options, fragment", [
    ("n_observations = 0", "n_observations"),
    ("noise = -0.1", "noise"),
    ("observation_points = '{outside}'\nn_observations = 3", "observation_points: 1 of 3 sites "
                                                              "lie outside the domain"),
    ("n_observations = 1000", "n_observations: 1000 sites do not form a grid"),
])
def test_bad_observation_options_are_one_line_errors(tmp_path, options, fragment):
    outside = tmp_path / "sites.npy"
    np.save(outside, np.array([[0.5, 0.5], [0.2, 1.5], [1.0, 0.0]]))
    result = _validate(tmp_path, options.format(outside=outside))
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "Traceback" not in text and text.startswith("error: ") and fragment in text, text
    assert "problems.poisson_inverse2d" in text


def test_valid_inverse_suite_and_a_file_of_sites(tmp_path):
    sites = tmp_path / "sites.npy"
    np.save(sites, np.array([[0.5, 0.5], [0.2, 1.0], [1.0, 0.0]]))
    result = _validate(tmp_path, f"observation_points = '{sites}'\nn_observations = 3")
    assert result.exit_code == 0, result.output
    p = build("poisson_inverse2d", observation_points=str(sites), n_observations=2, noise=0.0)
    np.testing.assert_allclose(p.observations[1], [1.0, 0.0],
                               atol=1e-15)
