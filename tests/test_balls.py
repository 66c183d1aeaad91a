"""PINN Balls: gating, derivatives, the block-sparse LM against the dense one, AAS, training."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from pinnbench.engine.train import train
from pinnbench.models.balls import Balls, gates
from pinnbench.models.balls_jacobian import ascent_direction, block_system
from pinnbench.models.mlp import MLP
from pinnbench.objective import Objective
from pinnbench.optim.lm import damped_step
from pinnbench.optim.sparse_lm import SparseLM, normal_matrix
from pinnbench.problems.helmholtz import Helmholtz2D
from pinnbench.problems.navier_stokes import Kovasznay
from pinnbench.run.suite import load_suite
from pinnbench.sampling.aas import AAS
from pinnbench.sampling.base import Probe

jax.config.update("jax_enable_x64", True)
F64 = jnp.float64
BOX = ((-1.0, -1.0), (1.0, 1.0))


def model_and_params(box=BOX, seed=0, out=1, **options):
    model = Balls(**{"n_balls": 6, "width": 8, "depth": 2, **options}).bind(*box)
    return model, model.init(jax.random.PRNGKey(seed), len(box[0]), out, F64)


def uniform(box, n, seed):
    lo, hi = np.asarray(box[0]), np.asarray(box[1])
    return jnp.asarray(lo + (hi - lo) * np.random.default_rng(seed).random((n, len(lo))))


def test_gates_are_a_partition_of_unity_where_covered_and_nearest_ball_elsewhere():
    model, params = model_and_params(max_radius=20.0)  # radii may shrink tenfold
    x = uniform(BOX, 500, 1)
    g = gates(x, params["centres"], model.radii(params))
    np.testing.assert_allclose(jnp.sum(g.lam, axis=1), 1.0, atol=1e-14)
    # Shrink every ball to a tenth: most points are uncovered and take their nearest ball alone.
    radii = model.radii(params) / 10
    g = gates(x, params["centres"], radii)
    rho = np.linalg.norm(np.asarray(x)[:, None] - np.asarray(params["centres"])[None], axis=-1)
    rho /= np.asarray(radii)
    uncovered = np.all(rho >= 1, axis=1)
    assert 300 < uncovered.sum() < 500
    lam = np.asarray(g.lam)
    np.testing.assert_array_equal(lam[uncovered], np.eye(6)[rho[uncovered].argmin(1)])
    np.testing.assert_allclose(lam.sum(1), 1.0, atol=1e-14)
    assert np.all(np.asarray(g.grad)[uncovered] == 0)
    # The model there is that ball's expert alone.
    u = model.apply({**params, "log_radii": jnp.log(radii)}, x)
    expert = jax.vmap(model.expert.apply, (0, None))(params["experts"], x)  # (M, N, 1)
    i = np.flatnonzero(uncovered)[:20]
    np.testing.assert_allclose(u[i, 0], expert[rho[i].argmin(1), i, 0], atol=1e-14)


def test_local_initialisation_puts_each_ball_at_the_expert_input_origin():
    box = ((0.0, -2.0), (4.0, 2.0))
    local, params = model_and_params(box, n_balls=5)
    plain, plain_params = model_and_params(box, n_balls=5, local_init=False)
    np.testing.assert_array_equal(params["centres"], plain_params["centres"])
    # The first layer at the centre c_j equals the plain network's at the origin of its inputs;
    # one radius away it equals the plain network's one unit away.
    c, r = params["centres"], local.radii(params)
    w, b = params["experts"][0]["w"], params["experts"][0]["b"]
    w0, b0 = plain_params["experts"][0]["w"], plain_params["experts"][0]["b"]
    h = local.inputs.forward
    np.testing.assert_allclose(jnp.einsum("md,mdw->mw", h(c), w) + b, b0, atol=1e-12)
    e0 = jnp.asarray([1.0, 0.0])
    at = jnp.einsum("md,mdw->mw", h(c + r[:, None] * e0), w) + b
    scale = local.inputs.scale(2, F64)
    np.testing.assert_allclose(at, b0 + jnp.einsum("d,mdw->mw", e0, w0), atol=1e-12)
    assert float(scale[0]) == 0.5  # a real rescaling: the box is not [-1, 1]^2


def test_kmeans_initialisation_covers_the_domain():
    model, params = model_and_params(n_balls=16)
    x = uniform(BOX, 4000, 2)
    phi_sum = jnp.sum(gates(x, params["centres"], model.radii(params)).member, axis=1)
    assert np.all(np.asarray(phi_sum) >= 1)
    c = np.asarray(params["centres"])
    assert np.all(np.abs(c) < 1) and np.linalg.norm(c.mean(0)) < 0.2  # spread over the box


@pytest.mark.parametrize("mode", ["diag", "laplacian"])
def test_jet_matches_autodiff_to_1e_10(mode):
    box = ((-0.5, -0.5, 0.0), (1.0, 1.5, 2.0))
    model, params = model_and_params(box, out=2, n_balls=5)
    x = uniform(box, 100, 3)
    jet = model.jet(params, x, mode)

    def f(xi):
        return model.apply(params, xi[None])[0]

    grad = jax.jit(jax.vmap(jax.jacfwd(f)))(x)  # (N, m, d)
    hess = jnp.diagonal(jax.jit(jax.vmap(jax.hessian(f)))(x), axis1=2, axis2=3)  # (N, m, d)
    np.testing.assert_allclose(jet.value, model.apply(params, x), atol=1e-12)
    np.testing.assert_allclose(jet.grad, jnp.swapaxes(grad, 1, 2), atol=1e-10)
    second = hess.sum(-1) if mode == "laplacian" else jnp.swapaxes(hess, 1, 2)
    np.testing.assert_allclose(jet.second, second, atol=1e-10)
    assert np.max(np.abs(np.asarray(second))) > 1.0  # a real test, not zeros


def ball_major(params):
    return jax.vmap(lambda t: ravel_pytree(t)[0])(params["experts"])


def dense_blocks(b, n_rows):
    m, _, p = b.J.shape
    dense = np.zeros((n_rows, m, p))
    for j in range(m):
        np.add.at(dense[:, j], np.asarray(b.rows[j]), np.asarray(b.J[j]))
    return dense


def setup(problem, model, n_interior, n_boundary, seed=4):
    params = model.init(jax.random.PRNGKey(0), problem.dim, len(problem.outputs), F64)
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    points = {"interior": problem.sample("interior", k1, n_interior, F64),
              "boundary": problem.sample("boundary", k2, n_boundary, F64)}
    return params, Objective(problem, model, points, {"bc": 10.0})


def expert_residual(objective, params):
    unravel = ravel_pytree(jax.tree.map(lambda a: a[0], params["experts"]))[1]

    def residual(flat):  # (M, P) -> stacked residual vector
        return objective.residual_vector({**params, "experts": jax.vmap(unravel)(flat)})

    return jax.jit(residual)


def test_block_jacobian_and_sparse_step_agree_with_dense_to_1e_10():
    problem = Helmholtz2D(a1=1, a2=2)
    model = Balls(n_balls=9, width=6, depth=2, capacity=0.5).bind(problem.lower, problem.upper)
    params, objective = setup(problem, model, 300, 100)
    b = jax.jit(lambda p: block_system(objective.model, objective, p))(params)
    assert int(b.dropped) == 0
    assert b.J.shape[1] < 0.6 * b.r.shape[0]  # each block holds about half the rows or fewer
    residual = expert_residual(objective, params)
    flat = ball_major(params)
    J = jax.jit(jax.jacfwd(residual))(flat)  # (R, M, P)
    np.testing.assert_allclose(b.r, residual(flat), atol=1e-12)
    np.testing.assert_allclose(dense_blocks(b, b.r.shape[0]), J, atol=1e-10)
    assert np.mean(np.asarray(J) == 0) > 0.4  # the dense Jacobian really is block-sparse

    opt = SparseLM(cg_tol=1e-14, cg_maxiter=3000)
    new, state, info = jax.jit(lambda p, s: opt.step(s, jnp.asarray(0), objective, p))(
        params, opt.init(params))
    Jd = np.asarray(J).reshape(J.shape[0], -1)
    mu = 1e-3 * np.max(np.sum(Jd**2, axis=0))
    delta = damped_step(jnp.asarray(Jd), residual(flat), mu, "cholesky", jnp.ones(Jd.shape[1]))
    assert int(state.accepted) == 1
    np.testing.assert_allclose(ball_major(new), flat + delta.reshape(flat.shape), atol=1e-10)
    assert 0 < int(info["cg_iterations"]) < Jd.shape[1]
    for k in ("centres", "log_radii", "log_weights"):  # no ascent: the balls stay
        np.testing.assert_array_equal(new[k], params[k])
    # The direct solve: J^T J assembled from the blocks, then Cholesky.
    np.testing.assert_allclose(normal_matrix(b.J, b.rows, b.r.shape[0]), Jd.T @ Jd, atol=1e-9)
    direct = SparseLM(solver="cholesky")
    new, state, info = jax.jit(lambda p, s: direct.step(s, jnp.asarray(0), objective, p))(
        params, direct.init(params))
    assert int(state.accepted) == 1 and int(info["cg_iterations"]) == 0
    np.testing.assert_allclose(ball_major(new), flat + delta.reshape(flat.shape), atol=1e-10)


def test_gauge_rows_that_read_another_point_are_built_through_the_model():
    # Kovasznay pins p at (0, 0) from every boundary row: not local to the row's own point.
    problem = Kovasznay()
    model = Balls(n_balls=4, width=5, depth=1).bind(problem.lower, problem.upper)
    params, objective = setup(problem, model, 80, 40)
    b = jax.jit(lambda p: block_system(objective.model, objective, p))(params)
    residual = expert_residual(objective, params)
    flat = ball_major(params)
    J = jax.jit(jax.jacfwd(residual))(flat)
    # residual_vector has one gauge row; the per-point layout has one per boundary point, each
    # scaled by 1/sqrt(N): the same loss and the same J^T J.
    assert b.r @ b.r == pytest.approx(float(residual(flat) @ residual(flat)), rel=1e-12)
    dense = dense_blocks(b, b.r.shape[0]).reshape(b.r.shape[0], -1)
    Jd = np.asarray(J).reshape(J.shape[0], -1)
    np.testing.assert_allclose(dense.T @ dense, Jd.T @ Jd, atol=1e-9)


def test_aas_draws_concentrate_where_the_residual_is_high():
    problem = Helmholtz2D()
    model = Balls(n_balls=16, width=4, depth=1).bind(problem.lower, problem.upper)  # floor 0.5
    params = model.init(jax.random.PRNGKey(0), 2, 1, F64)
    hot = jnp.asarray([0.5, -0.5])

    def near(x):
        return np.mean(np.linalg.norm(np.asarray(x) - np.asarray(hot), axis=1) < 0.35)

    x = uniform(BOX, 4000, 5)
    sq = jnp.exp(-jnp.sum((x - hot) ** 2, 1) / 0.02)  # the residual lives around `hot`
    for _ in range(100):
        up = ascent_direction(model, params, x, sq)
        params = model.project({**params, **{k: params[k] + 0.05 * up[k] for k in up}})
    sampler = AAS(n_interior=2000, n_boundary=100, every=1)
    state = sampler.init(problem, jax.random.PRNGKey(6), F64)
    state = sampler.update(state, jnp.asarray(1), problem, Probe(problem, model, params))
    drawn = near(state["points"]["interior"])
    area = np.pi * 0.35**2 / 4  # uniform share of the disc
    # Uniform draws would give `area` +- 3 sqrt(area (1 - area) / 2000) ~ 0.02.
    assert near(x) == pytest.approx(area, abs=0.02)
    assert drawn > 2 * area


def test_components_reject_a_model_without_balls():
    mlp = MLP()
    assert "balls" in SparseLM().incompatibility({"model": mlp, "problem": Helmholtz2D()})
    assert "got mlp" in AAS().incompatibility({"model": mlp})
    balls = Balls()
    assert SparseLM().incompatibility({"model": balls, "problem": Helmholtz2D()}) is None
    assert AAS().incompatibility({"model": balls}) is None


SUITE = """
name = "balls_test"
description = "balls + lm_sparse on a small Helmholtz"
seeds = [0]
precision = "float64"
[budget]
steps = {steps}
eval_every = {steps}
[problems.helmholtz2d]
a1 = 1
a2 = 1
bc_weight = 100.0
[methods.balls]
model = {{ type = "balls", n_balls = 4, width = 8, depth = 2 }}
optimizer = {{ type = "lm_sparse"{extra} }}
sampler = {{ type = "{sampler}", n_interior = 1024, n_boundary = 256{sampler_extra} }}
"""


def run(tmp_path, steps, extra="", sampler="uniform", sampler_extra=""):
    path = tmp_path / "s.toml"
    path.write_text(SUITE.format(steps=steps, extra=extra, sampler=sampler,
                                 sampler_extra=sampler_extra))
    (spec,) = load_suite(path).runs()
    return train(spec)


def test_balls_lm_solves_a_small_helmholtz(tmp_path):
    result = run(tmp_path, 200)
    assert result.row["status"] == "ok"
    assert result.row["rel_l2"] < 5e-4  # measured 2.1e-4
    assert result.row["opt_accepted"] > 100 and result.row["opt_dropped"] == 0
    centres = result.history[-1]["model.centres"]
    assert len(centres) == 8 and centres == result.history[0]["model.centres"]


def test_aas_moves_the_balls_and_records_them(tmp_path):
    result = run(tmp_path, 40, extra=", aas_lr = 0.05", sampler="aas",
                 sampler_extra=", every = 10")
    assert result.row["status"] == "ok"
    first, last = result.history[0], result.history[-1]
    moved = np.abs(np.subtract(last["model.centres"], first["model.centres"])).max()
    assert moved > 1e-4
    assert len(last["model.radii"]) == 4 and last["model.radii"] != first["model.radii"]
    assert result.row["rel_l2"] < 0.5

