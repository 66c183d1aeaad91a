"""The sparse direct solve of lm_sparse (block-banded Cholesky in the balls' Fiedler order)
against the dense solve of the same damped normal equations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from pinnbench.models.balls import Balls
from pinnbench.objective import Objective
from pinnbench.optim.lm import damped_step
from pinnbench.optim.sparse_lm import (
    SparseLM,
    band_cholesky,
    band_matrix,
    band_solve,
    coupling,
    fiedler_order,
)
from pinnbench.problems.classic import Poisson1D
from pinnbench.problems.helmholtz import Helmholtz2D

jax.config.update("jax_enable_x64", True)
F64 = jnp.float64


def setup(problem, model, n_interior, n_boundary, seed=4):
    init = jax.jit(model.init, static_argnums=(1, 2, 3))
    params = init(jax.random.PRNGKey(0), problem.dim, len(problem.outputs), F64)
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    points = {"interior": problem.sample("interior", k1, n_interior, F64),
              "boundary": problem.sample("boundary", k2, n_boundary, F64)}
    return params, Objective(problem, model, points, {"bc": 10.0})


def flat_experts(params):
    return jax.vmap(lambda t: ravel_pytree(t)[0])(params["experts"])


def dense_jacobian(objective, params):
    """The residual Jacobian scattered from the blocks into (rows, M P); tests/test_balls.py
    checks the blocks against forward-mode autodiff of the whole residual to 1e-10."""
    b = jax.jit(lambda p: objective.model.block_system(objective, p))(params)
    m, _, p = b.J.shape
    dense = np.zeros((b.r.shape[0], m, p))
    for j in range(m):
        np.add.at(dense[:, j], np.asarray(b.rows[j]), np.asarray(b.J[j]))
    return dense.reshape(b.r.shape[0], -1), b.r, flat_experts(params)


def one_step(opt, objective, params):
    return jax.jit(lambda p, s: opt.step(s, jnp.asarray(0), objective, p))(
        params, opt.init(params))


def test_band_cholesky_solves_a_block_banded_system_exactly():
    rng = np.random.default_rng(0)
    m, p, w = 7, 3, 2
    dense = np.zeros((m * p, m * p))
    for i in range(m):
        for j in range(max(0, i - w), i + 1):
            blk = rng.standard_normal((p, p))
            dense[i * p:(i + 1) * p, j * p:(j + 1) * p] = blk
    a = dense @ dense.T + m * p * np.eye(m * p)  # banded (bandwidth 2 w) and positive definite
    wb = 2 * w
    band = np.zeros((m, wb + 1, p, p))
    for i in range(m):
        for o in range(min(i, wb) + 1):
            band[i, o] = a[i * p:(i + 1) * p, (i - o) * p:(i - o + 1) * p]
    b = rng.standard_normal((m, p))
    x = band_solve(band_cholesky(jnp.asarray(band)), jnp.asarray(b))
    np.testing.assert_allclose(np.asarray(x).ravel(), np.linalg.solve(a, b.ravel()),
                               atol=1e-12)


@pytest.mark.parametrize("band", [0, 3])
def test_sparse_direct_step_equals_the_dense_step_to_1e_10(band):
    problem = Helmholtz2D(a1=1, a2=2)
    model = Balls(n_balls=9, width=6, depth=2, capacity=0.5).bind(problem.lower, problem.upper)
    params, objective = setup(problem, model, 300, 100)
    Jd, r, flat = dense_jacobian(objective, params)
    mu = 1e-3 * np.max(np.sum(Jd**2, axis=0))
    delta = damped_step(jnp.asarray(Jd), r, mu, "cholesky", jnp.ones(Jd.shape[1]))
    opt = SparseLM(solver="sparse_cholesky", band=band, cg_tol=1e-13, cg_maxiter=500)
    new, state, info = one_step(opt, objective, params)
    assert int(state.accepted) == 1
    np.testing.assert_allclose(flat_experts(new), flat + delta.reshape(flat.shape), atol=1e-10)
    if band == 0:  # the whole matrix is in the band: the factorisation is the solve
        assert int(state.outside_band) == 0 and int(info["cg_iterations"]) == 1
    else:  # 9 balls in 2D reach beyond 3 neighbours: CG on the band factor finishes the step
        assert int(state.outside_band) > 0 and int(info["cg_iterations"]) > 1


def test_balls_on_a_line_are_banded_in_the_fiedler_order():
    # In 1D each ball couples only with its neighbours: bandwidth 1 or 2 holds every coupling
    # and the banded factor alone is the exact step, with a fraction of the dense memory.
    problem = Poisson1D()
    model = Balls(n_balls=8, width=6, depth=1, overlap=1.6).bind(problem.lower, problem.upper)
    params, objective = setup(problem, model, 400, 2)
    b = jax.jit(lambda p: model.block_system(objective, p))(params)
    c = np.asarray(coupling(b.J, b.rows, b.r.shape[0]))
    order = np.asarray(fiedler_order(jnp.asarray(c)))
    position = np.argsort(order)
    i, j = np.nonzero(np.triu(c, 1))
    bandwidth = int(np.max(np.abs(position[i] - position[j])))
    assert bandwidth <= 2
    Jd, r, flat = dense_jacobian(objective, params)
    mu = 1e-3 * np.max(np.sum(Jd**2, axis=0))
    delta = damped_step(jnp.asarray(Jd), r, mu, "cholesky", jnp.ones(Jd.shape[1]))
    opt = SparseLM(solver="sparse_cholesky", band=bandwidth)
    new, state, info = one_step(opt, objective, params)
    assert int(state.outside_band) == 0 and int(info["cg_iterations"]) == 1
    np.testing.assert_allclose(flat_experts(new), flat + delta.reshape(flat.shape), atol=1e-10)
    # The band holds (bandwidth + 1) of the M blocks per block row of J^T J.
    band = band_matrix(b.J, b.rows, b.r.shape[0], jnp.asarray(order), bandwidth)
    assert band.size <= (bandwidth + 1) / 8 * Jd.shape[1] ** 2
