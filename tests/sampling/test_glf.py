"""GLF: candidates stay in the box, cluster by residual, and are resampled by inherited weights."""

import jax
import jax.numpy as jnp
import numpy as np

from pinnbench.problems.burgers import Burgers1D
from pinnbench.problems.helmholtz import Helmholtz2D
from pinnbench.sampling.glf import GLF, spawn

from .helpers import FieldProbe, inside, key

PROBLEM = Helmholtz2D()
LO, HI = jnp.asarray(PROBLEM.lower), jnp.asarray(PROBLEM.upper)


def test_candidates_never_leave_the_domain_however_large_the_step():
    anchors = jnp.asarray([[-1.0, -1.0], [1.0, 0.999], [0.0, 0.0], [0.9, -0.95]])
    for r in (1e-12, 1e-3, 1.0):  # h = α/(r + ε) up to 1e3 box widths
        cand = spawn(key(0), anchors, jnp.full(4, r), 500, 1e-3, 1e-6, LO, HI)
        assert cand.shape == (4, 500, 2)
        assert inside(cand.reshape(-1, 2), PROBLEM)
    # A vanishing residual scatters the candidates over the whole box: reflection of a wide
    # Gaussian is close to uniform.
    wide = np.asarray(spawn(key(1), anchors[2:3], jnp.asarray([0.0]), 20000, 1.0, 1e-6, LO, HI))
    assert abs(np.mean(wide[0, :, 0])) < 0.03 and abs(np.var(wide[0, :, 0]) - 1 / 3) < 0.02


def test_candidates_cluster_tightly_around_high_residual_anchors():
    anchors = jnp.asarray([[-0.5, 0.0], [0.5, 0.0]])
    r = jnp.asarray([10.0, 0.1])
    cand = spawn(key(2), anchors, r, 20000, 1e-3, 1e-6, LO, HI)
    dist = np.linalg.norm(np.asarray(cand - anchors[:, None, :]), axis=2).mean(axis=1)
    # E|ξ| for ξ ~ N(0, I_2) is sqrt(π/2); h = α / (r + ε).
    expected = 1e-3 / (np.asarray(r) + 1e-6) * np.sqrt(np.pi / 2)
    np.testing.assert_allclose(dist, expected, rtol=0.02)
    assert dist[0] < dist[1] / 50


def test_resampling_follows_the_inherited_residual_weights():
    glf = GLF(n_interior=1000, n_boundary=16, every=3, m=30, alpha=1e-4)
    state = glf.init(PROBLEM, key(3), jnp.float64)
    x = state["points"]["interior"]
    # Anchors away from x0 = 0 keep their candidates (h <= 1e-4) on their own side.
    x = x.at[:, 0].set(jnp.where(x[:, 0] < 0, -0.6, 0.6) + 0.3 * x[:, 0])
    state = {**state, "points": {**state["points"], "interior": x}}
    probe = FieldProbe(lambda p: jnp.where(p[:, 0] < 0, 3.0, 1.0))
    update = jax.jit(lambda s: glf.update(s, jnp.asarray(3), PROBLEM, probe))
    new = update(state)["points"]["interior"]
    assert new.shape == x.shape and inside(new, PROBLEM)
    high = np.mean(np.asarray(x[:, 0]) < 0)
    # Weights r / mean(r) + 1 with mean(r) = 3·high + (1 - high): each high-residual candidate
    # carries w_hi, each low one w_lo; the share of the draw from high anchors follows them.
    mean_r = 3 * high + (1 - high)
    w_hi, w_lo = 3 / mean_r + 1, 1 / mean_r + 1
    expected = high * w_hi / (high * w_hi + (1 - high) * w_lo)
    got = np.mean(np.asarray(new[:, 0]) < 0)
    assert abs(got - expected) < 0.04 and got > high + 0.05
    # Each new point is within a few h of an anchor: no global redraw happened.
    d = np.min(np.linalg.norm(np.asarray(new)[:, None] - np.asarray(x)[None], axis=2), axis=1)
    assert d.max() < 1e-4 * 8


def test_full_update_on_a_time_dependent_box_stays_inside():
    problem = Burgers1D()
    glf = GLF(n_interior=500, n_boundary=16, n_initial=16, every=1, alpha=0.5)
    state = glf.init(problem, key(4), jnp.float64)
    probe = FieldProbe(lambda p: jnp.abs(jnp.sin(5 * p[:, 0])))
    update = jax.jit(lambda s, t: glf.update(s, t, problem, probe))
    for step in range(1, 6):
        state = update(state, jnp.asarray(step))
        assert inside(state["points"]["interior"], problem)
    assert glf.scale(2) == 0.5 and GLF().scale(2) == 1e-4 and GLF().scale(21) == 1e-3
