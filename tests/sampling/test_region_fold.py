"""RoPINN region points stay in the domain (GLF's reflection); σ as the paper defines it."""

import jax.numpy as jnp
import numpy as np
import pytest

from pinnbench.problems.burgers import Burgers1D
from pinnbench.problems.helmholtz import Helmholtz2D
from pinnbench.sampling.base import reflect
from pinnbench.sampling.region import Region, calibrated_sigma

from .helpers import key

PROBLEM = Helmholtz2D()


@pytest.mark.parametrize("problem", [PROBLEM, Burgers1D()],
                         ids=["helmholtz2d", "burgers1d"])
def test_no_perturbed_point_leaves_the_box(problem):
    # A region of 0.3 (15 % of the box's width): many shifts cross the upper walls.
    common = {"n_interior": 4000, "n_boundary": 16, "n_initial": 16, "region": 0.3,
              "max_region": 0.3, "calibrate": False}
    lo, hi = np.asarray(problem.lower), np.asarray(problem.upper)
    folded = Region(**common)
    raw = Region(**common, reflect=False)
    state = folded.init(problem, key(0), jnp.float64)
    a = np.asarray(folded.update(state, jnp.asarray(1), problem)["points"]["interior"])
    b = np.asarray(raw.update(state, jnp.asarray(1), problem)["points"]["interior"])
    outside = ~np.all((b >= lo) & (b <= hi), axis=1)
    assert outside.mean() > 0.1  # unfolded, the shift leaves the box often
    assert np.all((a >= lo) & (a <= hi))
    # Points whose shift stays inside are untouched; the others are mirrored at the wall they
    # crossed: the folded coordinate is 2 hi - x.
    np.testing.assert_allclose(a[~outside], b[~outside], atol=1e-12)  # the fold's rounding
    np.testing.assert_allclose(a[outside], np.where(b[outside] > hi, 2 * hi - b[outside],
                                                    b[outside]), atol=1e-12)
    np.testing.assert_array_equal(np.asarray(reflect(jnp.asarray(b), jnp.asarray(lo),
                                                     jnp.asarray(hi))), a)  # GLF's fold


def test_sigma_is_the_norm_of_the_gradient_standard_deviation():
    # Two filled rows: parameter stds 1 and 2 (the third row is not yet filled).
    grads = jnp.asarray([[1.0, 0.0], [3.0, 4.0], [9.0, 9.0]])
    count = jnp.asarray(2)
    assert float(calibrated_sigma(grads, count, norm="paper")) == pytest.approx(np.sqrt(5.0))
    # The reference code's normalisation on the same window: mean(1/2, 2/2).
    assert float(calibrated_sigma(grads, count)) == pytest.approx(0.75, rel=1e-5)
    # A subset of 1 tracked entry out of 4 parameters, each of std 1: ||std|| = sqrt(4) = 2.
    cols = jnp.asarray([True, False])
    assert float(calibrated_sigma(grads, count, cols, "paper", 4)) == pytest.approx(2.0)
    # No spread yet: σ = 1.
    assert float(calibrated_sigma(grads, jnp.asarray(1), norm="paper")) == 1.0
