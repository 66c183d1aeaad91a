"""The entropy regulariser of the AAS ascent: spread of the balls' density and of its draws."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pinnbench.models.balls import Balls
from pinnbench.optim.sparse_lm import SparseLM
from pinnbench.problems.helmholtz import Helmholtz2D
from pinnbench.sampling.aas import AAS, entropy_target, entropy_weights, sample_entropy
from pinnbench.sampling.base import Probe

jax.config.update("jax_enable_x64", True)
F64 = jnp.float64
HOT = jnp.asarray([0.5, -0.5])


def adversarial_run(beta: float, steps: int = 100):
    """``steps`` rounds of: draw the interior points from the balls' density (aas, every step),
    ascend the density on a residual with a sharp peak at HOT, as lm_sparse does after each LM
    step. Returns (entropy of the final density on a grid, share of draws near HOT, draws)."""
    problem = Helmholtz2D()
    model = Balls(n_balls=16, width=4, depth=1).bind(problem.lower, problem.upper)
    params = jax.jit(model.init, static_argnums=(1, 2, 3))(jax.random.PRNGKey(0), 2, 1, F64)
    sampler = AAS(n_interior=1000, n_boundary=10, every=1)
    g = jnp.linspace(-1.0, 1.0, 81)
    grid = jnp.stack(jnp.meshgrid(g, g), -1).reshape(-1, 2)

    @jax.jit
    def run(params):
        state = sampler.init(problem, jax.random.PRNGKey(6), F64)

        def body(carry, k):
            params, state = carry
            state = sampler.update(state, k, problem, Probe(problem, model, params))
            x = state["points"]["interior"]
            sq = jnp.exp(-jnp.sum((x - HOT) ** 2, 1) / 0.02)
            target = entropy_target(sq, model.density(params, x), beta) if beta else sq
            return (model.ascend_density(params, x, target, 0.05), state), None

        (params, state), _ = jax.lax.scan(body, (params, state), jnp.arange(1, steps + 1))
        state = sampler.update(state, jnp.asarray(steps + 1), problem,
                               Probe(problem, model, params))
        x = state["points"]["interior"]
        near = jnp.mean(jnp.linalg.norm(x - HOT, axis=1) < 0.35)
        return sample_entropy(model.density(params, grid)), near, x

    return run(params)


def histogram_entropy(x: np.ndarray, bins: int = 8) -> float:
    h, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=bins, range=[[-1, 1], [-1, 1]])
    p = h.ravel() / h.sum()
    p = p[p > 0]
    return float(-np.sum(p * np.log(p)))


def test_entropy_regulariser_spreads_the_adversarial_density():
    h0, near0, x0 = adversarial_run(0.0)
    h3, near3, x3 = adversarial_run(3.0)
    area = np.pi * 0.35**2 / 4  # a uniform draw's share of the disc around HOT
    # Without the regulariser the density piles up at the peak (measured: entropy -0.239
    # relative to uniform, 26.5 % of draws in a disc holding 9.6 % of the area); beta = 3 keeps
    # it spread (entropy -0.153, 19.5 %) while it still favours the peak.
    assert float(h0) == pytest.approx(-0.239, abs=0.01)
    assert float(h3) - float(h0) > 0.07
    assert float(near0) - float(near3) > 0.05
    assert float(near3) > 1.5 * area
    # The draws themselves: entropy of an 8 x 8 histogram (log 64 = 4.159 for a uniform set).
    assert histogram_entropy(np.asarray(x3)) - histogram_entropy(np.asarray(x0)) > 0.04


def test_entropy_weights_are_the_score_function_gradient_of_the_entropy():
    # For x_i drawn from p = q / Z, grad H = -E_p[log p grad log p] = -Cov_p(log q, grad log q).
    # On a density with one parameter the estimator is checked against the exact gradient.
    lo, hi = -1.0, 1.0
    xs = np.linspace(lo, hi, 20001)

    def q(x, a):
        return np.exp(a * x**2)

    def entropy(a):
        p = q(xs, a) / np.trapezoid(q(xs, a), xs)
        return -np.trapezoid(p * np.log(p), xs)

    a = 1.5
    exact = (entropy(a + 1e-5) - entropy(a - 1e-5)) / 2e-5
    # Draws from p by inverse transform of its CDF on the fine grid.
    cdf = np.cumsum(q(xs, a))
    cdf /= cdf[-1]
    x = np.interp(np.random.default_rng(0).random(200000), cdf, xs)
    w = np.asarray(entropy_weights(jnp.asarray(q(x, a))))
    estimate = np.sum(w * x**2)  # d log q / da = x^2
    assert estimate == pytest.approx(exact, rel=0.02)
    # The target's weights keep the residual ascent's normalisation: they sum to one.
    sq = jnp.asarray(np.random.default_rng(1).random(x.shape[0]))
    assert float(jnp.sum(entropy_target(sq, jnp.asarray(q(x, a)), 2.0))) == pytest.approx(1.0)


def test_aas_entropy_stays_out_of_the_run_id_at_its_default():
    from pinnbench.registry import defaults_outside_id

    assert defaults_outside_id(SparseLM)["aas_entropy"] == 0.0
    assert defaults_outside_id(SparseLM)["band"] == 0


def test_lm_sparse_ascends_the_regularised_objective():
    # One lm_sparse step with the ascent: the geometry moves as model.ascend_density on
    # entropy_target says (the LM part does not touch it), and differently from beta = 0.
    from pinnbench.objective import Objective
    from pinnbench.problems.classic import Poisson1D

    problem = Poisson1D()
    model = Balls(n_balls=4, width=4, depth=1).bind(problem.lower, problem.upper)
    params = jax.jit(model.init, static_argnums=(1, 2, 3))(jax.random.PRNGKey(0), 1, 1, F64)
    x = jnp.linspace(-0.99, 0.99, 60)[:, None] ** 3  # uneven points, as drawn from a density
    points = {"interior": x, "boundary": jnp.asarray([[-1.0], [1.0]])}
    objective = Objective(problem, model, points, {})
    geometry = ("centres", "log_radii", "log_weights")

    def step(beta):
        opt = SparseLM(solver="cholesky", aas_lr=0.1, aas_entropy=beta)
        new, _, _ = opt.step(opt.init(params), jnp.asarray(0), objective, params)
        return new

    @jax.jit
    def all_three():
        b = model.block_system(objective, params)
        expected = model.ascend_density(params, x, entropy_target(
            b.interior, model.density(params, x), 2.0), 0.1)
        return step(2.0), step(0.0), expected

    with_beta, without, expected = all_three()
    for k in geometry:
        np.testing.assert_allclose(with_beta[k], expected[k], atol=1e-12)
    assert max(float(jnp.max(jnp.abs(with_beta[k] - without[k]))) for k in geometry) > 1e-4
