"""RAD, RAR-D and RAR on a known residual field: the points follow the density they promise."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from pinnbench.problems.helmholtz import Helmholtz2D
from pinnbench.sampling.residual import RAD, RAR, RARD

from .helpers import FieldProbe, inside, key, linear_in_x0

PROBLEM = Helmholtz2D()


def u_of(x) -> np.ndarray:
    return np.asarray(linear_in_x0(x))


def density_cdf(k: float, c: float):
    """CDF on [0, 1] of the density u^k / E[u^k] + c (u uniform, so E[u^k] = 1/(k + 1))."""
    def cdf(u):
        return (u ** (k + 1) + c * u) / (1 + c)
    return cdf


@pytest.mark.parametrize(("k", "c"), [(1.0, 1.0), (2.0, 0.5)])
def test_rad_draws_follow_the_residual_density(k, c):
    rad = RAD(n_interior=2000, n_boundary=16, n_candidates=200_000, every=5, k=k, c=c)
    state = rad.init(PROBLEM, key(1), jnp.float64)
    before = state["points"]["interior"]
    assert np.array_equal(rad.update(state, jnp.asarray(4), PROBLEM, FieldProbe(linear_in_x0))
                          ["points"]["interior"], before)  # not an adaptation step
    new = rad.update(state, jnp.asarray(5), PROBLEM, FieldProbe(linear_in_x0))
    x = new["points"]["interior"]
    assert x.shape == (2000, 2) and inside(x, PROBLEM)
    assert len(np.unique(np.asarray(x), axis=0)) == 2000  # drawn without replacement
    u = u_of(x)
    assert stats.kstest(u, density_cdf(k, c)).pvalue > 1e-3
    assert stats.kstest(u, "uniform").pvalue < 1e-6
    # The other coordinate carries no residual signal and stays uniform.
    assert stats.kstest((np.asarray(x[:, 1]) + 1) / 2, "uniform").pvalue > 1e-3
    np.testing.assert_array_equal(new["points"]["boundary"], state["points"]["boundary"])


def test_rad_with_zero_exponent_is_uniform():
    rad = RAD(n_interior=2000, n_boundary=16, n_candidates=100_000, every=1, k=0.0)
    state = rad.init(PROBLEM, key(2), jnp.float64)
    x = rad.update(state, jnp.asarray(1), PROBLEM, FieldProbe(linear_in_x0))["points"]["interior"]
    assert stats.kstest(u_of(x), "uniform").pvalue > 1e-3


def test_rar_adds_exactly_the_highest_residual_candidates():
    rar = RAR(n_interior=300, n_boundary=16, n_candidates=5000, every=10, n_add=50, rounds=2)
    state = rar.init(PROBLEM, key(3), jnp.float64)
    assert state["points"]["interior"].shape == (400, 2)
    first = np.asarray(state["pool"][:300])
    probe = FieldProbe(lambda x: jnp.sum(x**2, axis=1))
    with jax.disable_jit():  # run the branch eagerly, so the probe records concrete candidates
        state = rar.update(state, jnp.asarray(10), PROBLEM, probe)
    cand = np.asarray(probe.asked[-1])
    top = cand[np.argsort(-np.sum(cand**2, axis=1))[:50]]
    pool = np.asarray(state["pool"])
    assert int(state["active"]) == 350
    np.testing.assert_array_equal(pool[:300], first)
    assert {tuple(p) for p in pool[300:350]} == {tuple(p) for p in top}
    # Every row beyond the active ones repeats an active point; multiplicities differ by <= 1.
    pts = np.asarray(state["points"]["interior"])
    np.testing.assert_array_equal(pts[:350], pool[:350])
    _, counts = np.unique(pts, axis=0, return_counts=True)
    assert len(counts) == 350 and counts.max() - counts.min() <= 1
    # The second round fills the set; a third adaptation changes nothing.
    state = rar.update(state, jnp.asarray(20), PROBLEM, probe)
    assert int(state["active"]) == 400
    again = rar.update(state, jnp.asarray(30), PROBLEM, probe)
    np.testing.assert_array_equal(again["points"]["interior"], state["points"]["interior"])


def test_rar_d_adds_points_drawn_from_the_density():
    rard = RARD(n_interior=100, n_boundary=16, n_candidates=200_000, every=1, n_add=2000,
                rounds=1)
    state = rard.init(PROBLEM, key(4), jnp.float64)
    state = rard.update(state, jnp.asarray(1), PROBLEM, FieldProbe(linear_in_x0))
    added = state["pool"][100:2100]
    assert int(state["active"]) == 2100
    assert stats.kstest(u_of(added), density_cdf(1.0, 1.0)).pvalue > 1e-3
    assert stats.kstest(u_of(added), "uniform").pvalue < 1e-6
