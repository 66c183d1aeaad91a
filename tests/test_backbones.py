"""The backbones beyond the MLP: jets against autodiff, the hard-constraint ansatz on the data it
imposes, PirateNet's identity blocks at initialisation, and a short training run of each."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pinnbench.derivatives import Field
from pinnbench.models.fourier import fourier_features
from pinnbench.models.layers import affine
from pinnbench.protocols import JET, bound, has
from pinnbench.registry import models, problems


@pytest.fixture(autouse=True)
def _float64():
    with jax.enable_x64(True):
        yield


@dataclasses.dataclass(frozen=True)
class _AutodiffOnly:
    """A model seen without its jet: Field differentiates it by forward mode."""

    model: object
    capabilities = frozenset()

    def apply(self, params, x):
        return self.model.apply(params, x)


def _built(model: dict, problem: dict):
    p = problems.get(problem["type"])(**{k: v for k, v in problem.items() if k != "type"})
    m = models.get(model["type"])(**{k: v for k, v in model.items() if k != "type"})
    m = bound(m, p)
    params = m.init(jax.random.PRNGKey(3), p.dim, len(p.outputs), jnp.float64)
    return p, m, params


def _points(p, n: int = 9, seed: int = 0) -> jax.Array:
    lo, hi = np.array(p.lower), np.array(p.upper)
    u = np.random.default_rng(seed).uniform(size=(n, len(lo)))
    return jnp.asarray(lo + u * (hi - lo))


JET_CASES = [
    ({"type": "mlp", "width": 8, "depth": 2, "fourier": 4, "fourier_scale": 2.0},
     {"type": "helmholtz2d"}),
    ({"type": "fls", "width": 8, "depth": 2}, {"type": "helmholtz2d"}),
    ({"type": "mlp", "width": 8, "depth": 2, "hard": True}, {"type": "helmholtz2d"}),
    ({"type": "fls", "width": 8, "depth": 2, "hard": True, "fourier": 3}, {"type": "heat"}),
]


@pytest.mark.parametrize(("model", "problem"), JET_CASES)
def test_jets_equal_forward_mode_autodiff(model, problem):
    p, m, params = _built(model, problem)
    assert has(m, JET)
    x = _points(p)
    reference = Field(_AutodiffOnly(m), params, x)
    d = x.shape[1]
    lap = m.jet(params, x, "laplacian")
    diag = m.jet(params, x, "diag")
    np.testing.assert_allclose(lap.value, reference.value, rtol=0, atol=1e-12)
    np.testing.assert_allclose(lap.grad, reference.grad, rtol=0, atol=1e-10)
    np.testing.assert_allclose(lap.second, reference.laplacian, rtol=0, atol=1e-9)
    for i in range(d):
        np.testing.assert_allclose(diag.second[:, i, :], reference.d2(i), rtol=0, atol=1e-9)
    assert float(jnp.abs(reference.laplacian).max()) > 1e-3  # not a vacuous comparison


def _on_square_edges(n: int = 16) -> jax.Array:
    s = np.linspace(-1, 1, n)
    edges = [np.stack([s, np.full(n, c)], 1) for c in (-1.0, 1.0)]
    edges += [np.stack([np.full(n, c), s], 1) for c in (-1.0, 1.0)]
    return jnp.asarray(np.concatenate(edges))


@pytest.mark.parametrize("model", [
    {"type": "mlp", "width": 8, "depth": 2, "hard": True},
    {"type": "qres", "width": 8, "depth": 2, "hard": True},
    {"type": "kan", "width": 4, "depth": 1, "degree": 3, "hard": True},
    {"type": "pirate", "width": 8, "blocks": 1, "fourier": 4, "alpha": 0.3, "hard": True},
])
def test_hard_ansatz_meets_the_dirichlet_data_exactly(model):
    p, m, params = _built(model, {"type": "helmholtz2d", "a1": 1, "a2": 2})
    x = _on_square_edges()
    u = m.apply(params, x)
    np.testing.assert_allclose(u, p.solution(x, jnp), rtol=0, atol=1e-13)
    soft = dataclasses.replace(m, hard=False)
    assert float(jnp.abs(soft.apply(params, x)).max()) > 1e-2  # the network alone does not


def test_hard_ansatz_meets_initial_value_and_slope_of_the_oscillator():
    p, m, params = _built({"type": "mlp", "width": 8, "depth": 2, "hard": True},
                          {"type": "oscillator"})
    t0 = jnp.zeros((1, 1))
    f = Field(_AutodiffOnly(m), params, t0)
    assert float(f.value[0, 0]) == pytest.approx(1.0, abs=1e-14)
    assert float(f.d(0)[0, 0]) == pytest.approx(0.0, abs=1e-14)
    jet = m.jet(params, t0, "laplacian")  # the jet's product rule, at the same point
    assert float(jet.grad[0, 0, 0]) == pytest.approx(0.0, abs=1e-14)


def test_heat_ansatz_meets_the_initial_and_boundary_data():
    p, m, params = _built({"type": "qres", "width": 8, "depth": 2, "hard": True},
                          {"type": "heat"})
    s = jnp.linspace(0, 1, 11)
    initial = jnp.stack([s, jnp.zeros_like(s)], 1)
    sides = jnp.concatenate([jnp.stack([jnp.full_like(s, c), s], 1) for c in (0.0, 1.0)])
    for x in (initial, sides):
        np.testing.assert_allclose(m.apply(params, x), p.solution(x, jnp), rtol=0, atol=1e-13)


def test_hard_ansatz_refuses_a_problem_without_one():
    p = problems.get("burgers1d")()
    m = models.get("mlp")(hard=True)
    with pytest.raises(ValueError, match="capability 'ansatz'"):
        bound(m, p)


def test_pirate_blocks_start_as_the_identity():
    # alpha = 0: the network is a linear layer of the Fourier features, whatever the blocks hold.
    p, m, params = _built({"type": "pirate", "width": 8, "blocks": 2, "fourier": 4},
                          {"type": "helmholtz2d"})
    x = _points(p, 20)
    linear = affine(params["out"], fourier_features(params["fourier"], m.inputs.forward(x)))
    np.testing.assert_allclose(m.apply(params, x), linear, rtol=0, atol=1e-14)
    moved = jax.tree_util.tree_map(lambda a: a, params)
    moved["blocks"][0]["alpha"] = jnp.asarray(0.5)
    assert float(jnp.abs(m.apply(moved, x) - linear).max()) > 1e-3


def test_pirate_physics_informed_initialisation_fits_the_initial_data():
    plain_model = {"type": "pirate", "width": 8, "blocks": 2, "fourier": 16}
    p, plain, before = _built(plain_model, {"type": "heat", "n": 1})
    _, fitted, after = _built({**plain_model, "pi_init": True, "pi_ridge": 0.0},
                              {"type": "heat", "n": 1})
    # Only the last layer differs from the model without the fit.
    for name in ("fourier", "u", "v", "blocks"):
        jax.tree_util.tree_map(np.testing.assert_array_equal, before[name], after[name])
    x0 = _points(p, 400, seed=5).at[:, -1].set(0.0)
    u0 = np.sin(np.pi * np.asarray(x0[:, 0]))

    def misfit(model, params):
        return float(np.linalg.norm(np.asarray(model.apply(params, x0))[:, 0] - u0)
                     / np.linalg.norm(u0))

    assert misfit(plain, before) > 0.3
    assert misfit(fitted, after) < 1e-3
    # Away from t = 0 the network stays near the initial data continued in time (what it was
    # fitted to), not wherever the time features happen to point.
    xt = _points(p, 400, seed=6)
    continued = np.sin(np.pi * np.asarray(xt[:, 0]))
    assert (np.linalg.norm(np.asarray(fitted.apply(after, xt))[:, 0] - continued)
            < 1e-3 * np.linalg.norm(continued))
    # The layer is the least-squares optimum on the fit's own points: the gradient of the squared
    # misfit with respect to it vanishes (the normal equations).
    xs = p.sample("interior", jax.random.fold_in(jax.random.PRNGKey(3), 1), fitted.pi_points,
                  jnp.float64)
    data = jnp.asarray(p.reference(fitted.initial_slice(xs)))

    def squared(out):
        return jnp.sum((fitted.apply({**after, "out": out}, xs) - data) ** 2)

    grad = jax.grad(squared)(after["out"])
    assert float(jnp.abs(grad["w"]).max()) < 1e-8 and float(jnp.abs(grad["b"]).max()) < 1e-8
    # The default ridge gives up some of the fit for smaller weights.
    _, ridged, shrunk = _built({**plain_model, "pi_init": True}, {"type": "heat", "n": 1})
    assert 1e-3 < misfit(ridged, shrunk) < 0.1
    assert float(jnp.abs(shrunk["out"]["w"]).max()) < float(jnp.abs(after["out"]["w"]).max())


def test_pirate_refuses_the_fit_with_the_ansatz_on_a_steady_problem_or_without_one():
    m = models.get("pirate")(pi_init=True, hard=True)
    assert "choose one" in m.incompatibility({"problem": problems.get("heat")()})
    fit = models.get("pirate")(pi_init=True)
    assert fit.incompatibility({"problem": problems.get("heat")()}) is None
    assert "steady" in fit.incompatibility({"problem": problems.get("helmholtz2d")()})
    unbound = models.get("pirate")(pi_init=True, width=8, blocks=1, fourier=4)
    with pytest.raises(ValueError, match="no problem was bound"):
        unbound.init(jax.random.PRNGKey(0), 2, 1, jnp.float64)


@pytest.mark.parametrize("model", [
    {"type": "fls", "width": 16, "depth": 2},
    {"type": "qres", "width": 16, "depth": 2},
    {"type": "kan", "width": 8, "depth": 1, "degree": 4},
    {"type": "pinnsformer", "d_model": 8, "heads": 2, "hidden": 16, "steps": 2},
    {"type": "pirate", "width": 16, "blocks": 1, "fourier": 8},
    {"type": "mlp", "width": 16, "depth": 2, "fourier": 8},
])
def test_each_backbone_trains_on_the_oscillator(model, spec_factory):
    from pinnbench.engine.train import train

    result = train(spec_factory(problem={"type": "oscillator", "delta": 2.0, "omega0": 4.0},
                                model=model, optimizer={"type": "adam", "lr": 1e-2},
                                sampler={"type": "uniform", "n_interior": 64, "n_initial": 1},
                                steps=400, eval_every=200))
    first, last = result.history[0]["rel_l2"], result.row["rel_l2"]
    assert result.row["status"] == "ok", result.row["message"]
    assert last < 0.3 * first, (model["type"], first, last)
