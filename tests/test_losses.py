"""Loss strategies: plain (the loss as before), NTK weights, gPINN terms, causal weights."""

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from pinnbench.derivatives import Field
from pinnbench.engine.train import Trainer, train
from pinnbench.losses.base import ConstraintView
from pinnbench.losses.causal import Causal, causal_weights, slice_index, slice_losses
from pinnbench.losses.gpinn import GPINN
from pinnbench.losses.ntk import NTK, mean_ntk_diagonal
from pinnbench.losses.plain import Plain
from pinnbench.models.mlp import MLP
from pinnbench.objective import Objective
from pinnbench.problems.base import Constraint
from pinnbench.problems.classic import Reaction, Wave
from pinnbench.problems.helmholtz import Helmholtz2D
from pinnbench.run.suite import load_suite

EASY = {"type": "helmholtz2d", "a1": 1, "a2": 1}


def network(problem, width=8, seed=0):
    model = MLP(width=width, depth=2).bind(problem.lower, problem.upper)
    return model, model.init(jax.random.PRNGKey(seed), problem.dim, 1, jnp.float64)


def points_of(problem, n=64, seed=1):
    regions = sorted({c.region for c in problem.constraints()})
    keys = jax.random.split(jax.random.PRNGKey(seed), len(regions))
    return {r: problem.sample(r, k, n, jnp.float64) for r, k in zip(regions, keys, strict=True)}


# ---- plain --------------------------------------------------------------------------------------
def test_plain_loss_is_the_previous_loss_exactly(spec_factory):
    spec = spec_factory(problem=EASY, optimizer={"type": "adam"}, steps=10, eval_every=5,
                        weights={"bc": 10.0}, model={"type": "mlp", "width": 8, "depth": 2},
                        sampler={"type": "uniform", "n_interior": 64, "n_boundary": 16})
    trainer = Trainer(spec)
    params, _, sampler_state, _, loss_state = trainer.initial_state()
    points = sampler_state["points"]
    before = Objective(trainer.problem, trainer.model, points, {"bc": 10.0}, True)
    now = trainer.objective(points, loss_state)
    assert float(jax.jit(now.loss)(params)) == float(jax.jit(before.loss)(params))  # bit for bit

    # Naming the plain loss changes neither the run id nor a single number of the run.
    explicit = dataclasses.replace(spec, method={**spec.method, "loss": {"type": "plain"}})
    assert explicit.run_id == spec.run_id
    assert "loss" not in spec.method and explicit.flat()["loss.type"] == "plain"
    a, b = train(spec).history, train(explicit).history
    assert [h["loss"] for h in a] == [h["loss"] for h in b]
    assert [h["rel_l2"] for h in a] == [h["rel_l2"] for h in b]
    other = dataclasses.replace(spec, method={**spec.method, "loss": {"type": "gpinn",
                                                                       "weight": 0.01,
                                                                       "time": True}})
    assert other.run_id != spec.run_id


# ---- NTK ----------------------------------------------------------------------------------------
class Scaled:
    """Two terms on the same points whose residuals are u and s·u: tr(K_b) = s² tr(K_a)."""

    lower, upper, dim, time_dependent = (-1.0, -1.0), (1.0, 1.0), 2, False

    def __init__(self, s: float) -> None:
        self.s = s

    def constraints(self):
        return (Constraint("a", "interior", lambda f: f.value[:, 0]),
                Constraint("b", "interior", lambda f: self.s * f.value[:, 0]))


def test_ntk_trace_matches_the_dense_jacobian():
    problem = Wave()
    model, params = network(problem, width=6)
    x = points_of(problem, n=30)["interior"]
    pde = problem.constraints()[0]
    flat, unravel = ravel_pytree(params)
    J = jax.jit(jax.jacfwd(lambda th: pde.residual(Field(model, unravel(th), x))))(flat)
    dense = float(jnp.sum(J**2)) / x.shape[0]  # tr(J J^T) / N
    coupled = dataclasses.replace(pde, pointwise=False)

    @jax.jit
    def estimates(params):
        return (mean_ntk_diagonal(pde, model, params, x, 1000),
                mean_ntk_diagonal(coupled, model, params, x, 1000),
                mean_ntk_diagonal(pde, model, params, x, 15))

    full, by_rows, part = estimates(params)
    assert float(full) == pytest.approx(dense, rel=1e-10)
    assert float(by_rows) == pytest.approx(dense, rel=1e-10)
    # Half of the rows estimate the same mean diagonal.
    assert float(part) == pytest.approx(dense, rel=0.5) and float(part) != float(full)


def test_ntk_weights_give_the_dominated_term_the_trace_ratio():
    problem = Scaled(10.0)
    model, params = network(problem)
    ntk = NTK(every=2, momentum=0.9, points=64)
    view = ConstraintView(problem, ntk.constraints(problem))
    x = jax.random.uniform(jax.random.PRNGKey(1), (64, 2), jnp.float64, -1.0, 1.0)
    objective = Objective(view, model, {"interior": x}, {}, False)
    state = ntk.init(view.constraints(), jnp.float64)
    assert not ntk.fixed
    unchanged = ntk.update(state, jnp.asarray(3), objective, params)  # not a multiple of 2
    assert float(unchanged["weights"]["a"]) == 1.0
    state = ntk.update(state, jnp.asarray(0), objective, params)
    w = ntk.weights(state)
    # tr(K_b) = 100 tr(K_a): λ_a = 101, λ_b = 101/100, λ_a tr(K_a) = λ_b tr(K_b).
    assert float(w["a"] / w["b"]) == pytest.approx(100.0, rel=1e-10)
    assert float(w["a"]) == pytest.approx(101.0, rel=1e-10)
    assert float(state["traces"]["b"] / state["traces"]["a"]) == pytest.approx(100.0, rel=1e-10)
    # Later updates blend in the new weights with momentum 0.9.
    objective2 = dataclasses.replace(objective, problem=ConstraintView(Scaled(2.0),
                                                                       Scaled(2.0).constraints()))
    state2 = ntk.update(state, jnp.asarray(2), objective2, params)
    assert float(state2["weights"]["a"]) == pytest.approx(0.9 * 101 + 0.1 * 5.0, rel=1e-10)
    assert float(state2["weights"]["b"]) == pytest.approx(0.9 * 1.01 + 0.1 * 1.25, rel=1e-10)


def test_ntk_training_records_weights_that_balance_the_traces(spec_factory):
    spec = spec_factory(problem=EASY, optimizer={"type": "adam", "lr": 1e-2}, steps=40,
                        eval_every=20, model={"type": "mlp", "width": 8, "depth": 2},
                        sampler={"type": "uniform", "n_interior": 128, "n_boundary": 32})
    spec = dataclasses.replace(spec, method={**spec.method, "loss": {
        "type": "ntk", "every": 10, "momentum": 0.0, "points": 64}})
    trainer = Trainer(spec)
    result = trainer.run()
    assert result.row["status"] == "ok"
    last = result.history[-1]
    # The Helmholtz PDE residual has second derivatives: its kernel is far larger than the
    # boundary's, so the boundary gets the larger weight. Momentum 0: the weights are exactly
    # those of the last update (step 30), which the history recorded.
    assert last["weight.bc"] > 10 * last["weight.pde"]
    assert last["loss"] == pytest.approx(last["weight.pde"] * last["loss.pde"]
                                         + last["weight.bc"] * last["loss.bc"], rel=1e-10)


# ---- gPINN --------------------------------------------------------------------------------------
@pytest.mark.parametrize("problem", [Wave(), Reaction()])
def test_gpinn_term_is_the_derivative_of_the_residual(problem):
    model, params = network(problem, seed=2)
    gpinn = GPINN(weight=0.5)
    terms = gpinn.constraints(problem)
    names = [c.name for c in terms]
    assert names == [c.name for c in problem.constraints()] + ["pde_g0", "pde_g1"]
    pde = problem.constraints()[0]
    x = points_of(problem, n=50)["interior"]
    h = 1e-4
    for axis in (0, 1):
        g = next(c for c in terms if c.name == f"pde_g{axis}")
        assert g.weight == 0.5 and g.region == "interior" and g.pointwise
        e = jnp.zeros_like(x).at[:, axis].set(h)

        @jax.jit
        def both(params, e=e, g=g):
            fd = (pde.residual(Field(model, params, x + e))
                  - pde.residual(Field(model, params, x - e))) / (2 * h)
            return g.residual(Field(model, params, x)), fd

        exact, fd = both(params)
        np.testing.assert_allclose(exact, fd, rtol=1e-6, atol=1e-6 * float(jnp.max(jnp.abs(fd))))
    # time = false: spatial directions only.
    assert [c.name for c in GPINN(time=False).constraints(problem)][-1] == "pde_g0"


def test_gpinn_residual_jacobian_is_the_dense_one():
    problem = Wave()
    model, params = network(problem, width=6)
    view = ConstraintView(problem, GPINN(weight=0.1).constraints(problem))
    objective = Objective(view, model, points_of(problem, n=12), {}, True)
    flat, unravel = ravel_pytree(params)

    @jax.jit
    def both(params):
        dense = jax.jacfwd(lambda t: objective.residual_vector(unravel(t)))(flat)
        return objective.residual_jacobian(params), dense, objective.loss(params)

    (r, J), dense, loss = both(params)
    np.testing.assert_allclose(J, dense, rtol=1e-9, atol=1e-11)
    assert float(jnp.sum(r**2)) == pytest.approx(float(loss), rel=1e-12)


def test_gpinn_trains_and_logs_its_terms(spec_factory):
    spec = spec_factory(problem={"type": "poisson1d"}, optimizer={"type": "adam", "lr": 1e-2},
                        sampler={"type": "uniform", "n_interior": 64, "n_boundary": 2},
                        steps=20, eval_every=20)
    spec = dataclasses.replace(spec, method={**spec.method, "loss": {"type": "gpinn",
                                                                       "weight": 0.1,
                                                                       "time": True}})
    last = train(spec).history[-1]
    assert last["loss"] == pytest.approx(last["loss.pde"] + last["loss.bc"]
                                         + 0.1 * last["loss.pde_g0"], rel=1e-12)


# ---- causal -------------------------------------------------------------------------------------
def test_causal_weights_start_at_one_and_decrease_in_time():
    losses = jnp.asarray([0.5, 0.1, 2.0, 0.0, 0.3])
    w = np.asarray(causal_weights(losses, 2.0))
    assert w[0] == 1.0
    assert np.all(np.diff(w) <= 0) and w[1] < 1 and w[-1] < w[2]
    np.testing.assert_allclose(w, np.exp(-2.0 * np.array([0, 0.5, 0.6, 2.6, 2.6])), rtol=1e-15)
    assert np.all(np.asarray(causal_weights(losses, 0.0)) == 1.0)
    idx = slice_index(jnp.asarray([0.0, 0.24, 0.25, 0.99, 1.0]), 0.0, 1.0, 4)
    assert idx.tolist() == [0, 0, 1, 3, 3]


def test_causal_term_is_the_weighted_mean_over_slices_with_constant_weights():
    problem = Reaction()
    model, params = network(problem, seed=4)
    causal = Causal(eps=5.0, slices=8)
    x = points_of(problem, n=400)["interior"]
    pde = problem.constraints()[0]
    wrapped = causal.constraints(problem)[0]
    assert wrapped.name == "pde" and not wrapped.pointwise
    kept = [(c.name, c.region, c.pointwise) for c in causal.constraints(problem)[1:]]
    assert kept == [("periodic", "boundary", True), ("ic", "initial", True)]

    def by_hand(p, frozen=None):
        r2 = pde.residual(Field(model, p, x)) ** 2
        per, _ = slice_losses(r2, slice_index(x[:, 1], 0.0, 1.0, 8), 8)
        w = causal_weights(per if frozen is None else frozen, 5.0)
        return jnp.mean(w * per), per

    term = jax.jit(lambda p: jnp.mean(wrapped.residual(Field(model, p, x)) ** 2))(params)
    expected, per = jax.jit(by_hand)(params)
    assert float(term) == pytest.approx(float(expected), rel=1e-12)
    w = np.asarray(causal_weights(per, 5.0))
    assert w[0] == 1.0 and np.all(np.diff(w) < 0)
    # The weights are constants of the gradient: d term = (1/K) Σ w_i dL_i.
    g = jax.jit(jax.grad(lambda p: jnp.mean(wrapped.residual(Field(model, p, x)) ** 2)))(params)
    g_ref = jax.jit(jax.grad(lambda p: by_hand(p, jax.lax.stop_gradient(per))[0]))(params)
    for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(g_ref), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-14)


# ---- compatibility and suites ------------------------------------------------------------------
def test_incompatibility_reasons():
    assert "not time dependent" in Causal().incompatibility({"problem": Helmholtz2D()})
    assert Causal().incompatibility({"problem": Reaction()}) is None
    assert GPINN().incompatibility({"problem": Wave()}) is None
    assert not hasattr(Plain(), "incompatibility") or Plain().incompatibility({}) is None


def test_suite_loss_tables(tmp_path):
    text = """
name = "t"
seeds = [0]
[budget]
steps = 10
[problems.reaction]
[defaults]
model = { type = "mlp", width = 8, depth = 2 }
optimizer = { type = "adam" }
sampler = { type = "uniform", n_interior = 32 }
[methods.pinn]
[methods.ntk]
loss = { type = "ntk", every = 5 }
[methods.causal]
loss = { type = "causal", eps = 0.5 }
"""
    path = tmp_path / "s.toml"
    path.write_text(text)
    runs = {r.method_label: r for r in load_suite(path).runs()}
    assert runs["pinn"].method["loss"] == {"type": "plain"}
    assert runs["ntk"].method["loss"] == {"type": "ntk", "every": 5, "momentum": 0.9,
                                          "points": 256}
    assert runs["causal"].flat()["loss.slices"] == 32
    path.write_text(text.replace("every = 5", "every = 0"))
    with pytest.raises(ValueError, match=r"methods.ntk.loss.every: impossible value 0"):
        load_suite(path)
    path.write_text(text.replace('type = "causal"', 'type = "casual"'))
    with pytest.raises(ValueError, match='did you mean "causal"'):
        load_suite(path)


ADAM_SEED0_ID_BEFORE_LOSS_AXIS = "1d0c9a84a7b684c8"


def test_ci_suite_run_ids_do_not_change():
    # The plain loss is left out of the run id: the CI runs recorded before the loss axis existed
    # keep their ids (this one is Adam, seed 0, from the baseline of that time).
    import pandas as pd

    base = pd.read_parquet("results/baseline/ci.parquet")
    ids = {(r.problem, r.method, r.seed): r.run_id for r in base.itertuples()}
    specs = load_suite("suites/ci.toml").runs()
    assert len(specs) == len(ids)
    for spec in specs:
        assert ids[(spec.problem_label, spec.method_label, spec.seed)] == spec.run_id
    assert ids[("helmholtz2d", "adam", 0)] == ADAM_SEED0_ID_BEFORE_LOSS_AXIS


def test_a_process_that_has_not_imported_the_components_names_runs_alike():
    # A submitit job records a crashed worker's row from the spec alone, before anything has
    # registered the components; Adam's steps_per_iteration (out of the id at its default) once
    # went into that process's id, so the row landed beside the run it was about.
    import subprocess
    import sys

    spec = load_suite("suites/ci.toml").runs()[0]
    code = ("import sys; from pinnbench.spec import RunSpec; "
            "print(RunSpec.from_json(sys.stdin.read()).run_id)")
    fresh = subprocess.run([sys.executable, "-c", code], input=spec.to_json(),
                           capture_output=True, text=True, check=True)
    assert fresh.stdout.strip() == spec.run_id == ADAM_SEED0_ID_BEFORE_LOSS_AXIS


def test_options_added_later_stay_out_of_the_id_at_their_default(tmp_path):
    # FBPINN's evaluation layout came after the CI baseline: at its default ("pairs") the run id
    # is the one recorded before, and any other value is a different run.
    import pandas as pd

    base = pd.read_parquet("results/baseline/ci.parquet")
    recorded = {(r.problem, r.method, r.seed): r.run_id for r in base.itertuples()}
    text = Path("suites/ci.toml").read_text()
    layout = 'model = { type = "fbpinn", subdomains = 3, width = 8, depth = 1'
    assert layout in text
    ids = {}
    for value in ("pairs", "auto"):
        path = tmp_path / f"{value}.toml"
        path.write_text(text.replace(layout, f'{layout}, evaluation = "{value}"'))
        runs = [r for r in load_suite(path).runs() if r.method_label == "fbpinn"]
        assert runs and all(r.method["model"]["evaluation"] == value for r in runs)
        ids[value] = {(r.problem_label, r.seed): r.run_id for r in runs}
    for (problem, seed), run_id in ids["pairs"].items():
        assert run_id == recorded[(problem, "fbpinn", seed)]
        assert ids["auto"][(problem, seed)] != run_id
