"""Sobol, Halton and Latin hypercube points: deterministic per seed, even, on their regions."""

import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import qmc

from pinnbench.problems.burgers import Burgers1D
from pinnbench.problems.helmholtz import Helmholtz2D
from pinnbench.sampling.quasi import Halton, LatinHypercube, Sobol
from pinnbench.sampling.uniform import Uniform

from .helpers import inside, key

KINDS = [Sobol, Halton, LatinHypercube]
COUNTS = {"n_interior": 512, "n_boundary": 256, "n_initial": 128}


def unit(x: np.ndarray, problem) -> np.ndarray:
    lo, hi = np.asarray(problem.lower), np.asarray(problem.upper)
    return (np.asarray(x) - lo) / (hi - lo)


@pytest.mark.parametrize("cls", KINDS)
def test_deterministic_for_a_seed_and_different_across_seeds(cls):
    problem = Helmholtz2D()
    s = cls(**COUNTS)
    a = s.init(problem, key(0), jnp.float64)["points"]
    b = s.init(problem, key(0), jnp.float64)["points"]
    c = s.init(problem, key(1), jnp.float64)["points"]
    for region in ("interior", "boundary"):
        assert np.array_equal(a[region], b[region])
        assert not np.allclose(a[region], c[region])


@pytest.mark.parametrize("cls", KINDS)
def test_lower_discrepancy_than_uniform_points(cls):
    problem = Helmholtz2D()
    quasi = [qmc.discrepancy(unit(cls(**COUNTS).init(problem, key(s), jnp.float64)
                                  ["points"]["interior"], problem)) for s in range(5)]
    uniform = [qmc.discrepancy(unit(Uniform(**COUNTS).init(problem, key(s), jnp.float64)
                                    ["points"]["interior"], problem)) for s in range(5)]
    # Centred L2 discrepancy of 512 random points in 2D is ~1e-3; Sobol/Halton/LHS reach
    # several times less.
    assert max(quasi) < 0.5 * min(uniform)


@pytest.mark.parametrize("cls", KINDS)
def test_points_lie_on_their_regions(cls):
    problem = Burgers1D()
    pts = cls(**COUNTS).init(problem, key(3), jnp.float64)["points"]
    assert {k: v.shape for k, v in pts.items()} == {
        "interior": (512, 2), "boundary": (256, 2), "initial": (128, 2)}
    for x in pts.values():
        assert inside(x, problem)
    assert np.all(pts["initial"][:, 1] == 0.0)
    bx = np.asarray(pts["boundary"][:, 0])
    assert np.all(np.isin(bx, [-1.0, 1.0]))
    # Both walls of the single spatial axis get half the points (quasi-randomly, nearly exactly).
    assert abs(np.mean(bx == 1.0) - 0.5) < 0.02
    # Time along the boundary is spread evenly too: one point per 1/256 slab is the ideal.
    t = np.sort(np.asarray(pts["boundary"][:, 1]))
    assert np.max(np.abs(t - (np.arange(256) + 0.5) / 256)) < 0.03


def test_unscrambled_sobol_is_the_same_for_every_seed():
    problem = Helmholtz2D()
    s = Sobol(**COUNTS, scramble=False)
    a = s.init(problem, key(0), jnp.float64)["points"]["interior"]
    b = s.init(problem, key(7), jnp.float64)["points"]["interior"]
    assert np.array_equal(a, b)
