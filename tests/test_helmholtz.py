"""The Helmholtz reference is checked by finite differences, independently of autodiff."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pinnbench.derivatives import Field
from pinnbench.problems.helmholtz import Helmholtz2D


def fd_residual(problem: Helmholtz2D, h: float) -> float:
    """Max |Δ_h u + k²u − f| of the reference on interior points, 5-point stencil."""
    x = np.array([[0.3, -0.2], [-0.71, 0.45], [0.05, 0.9], [-0.5, -0.55]])
    u = problem.reference
    lap = sum(u(x + h * e) + u(x - h * e) - 2 * u(x) for e in np.eye(2)[:, None, :]) / h**2
    f = np.asarray(problem.source(jnp.asarray(x)))[:, None]
    return float(np.max(np.abs(lap + problem.k**2 * u(x) - f)))


@pytest.mark.parametrize("a1,a2,k", [(1, 4, 1), (2, 3, 5), (6, 6, 1)])
def test_reference_solves_pde_second_order(a1, a2, k):
    problem = Helmholtz2D(a1=a1, a2=a2, k=k)
    errors = [fd_residual(problem, h) for h in (1e-2, 5e-3, 2.5e-3)]
    orders = [math.log2(errors[i] / errors[i + 1]) for i in range(2)]
    # The 5-point stencil is second order: the residual of the exact solution must fall 4x
    # per halving of h. A wrong source term would leave an O(1) residual instead.
    assert all(1.9 < p < 2.1 for p in orders), orders
    scale = (a1**2 + a2**2) * math.pi**2
    assert errors[-1] < 1e-3 * scale


def test_reference_vanishes_on_boundary_and_samples_lie_on_it():
    problem = Helmholtz2D()
    pts = np.asarray(problem.sample("boundary", jax.random.PRNGKey(0), 2000, jnp.float64))
    on_edge = np.isclose(np.abs(pts), 1.0).any(axis=1)
    assert on_edge.all()
    assert np.abs(problem.reference(pts)).max() < 1e-12
    # Faces are equally long, so each should get about a quarter of the points.
    for axis in range(2):
        for side in (-1.0, 1.0):
            share = np.mean(np.isclose(pts[:, axis], side))
            assert 0.2 < share < 0.3


def test_residual_of_exact_solution_is_zero_by_autodiff():
    problem = Helmholtz2D(a1=1, a2=4, k=2)

    class Exact:
        capabilities = frozenset()  # no jet: derivatives by nested jvp

        def apply(self, params, x):
            return jnp.sin(math.pi * x[:, :1]) * jnp.sin(4 * math.pi * x[:, 1:2])

    x = problem.sample("interior", jax.random.PRNGKey(1), 500, jnp.float64)
    pde = problem.constraints()[0]
    residual = pde.residual(Field(Exact(), None, x))
    assert float(jnp.max(jnp.abs(residual))) < 1e-9
