"""The finite-difference Helmholtz reference: convergence order on a manufactured solution, then
on the Gaussian-source problem itself, and a finite-difference residual of the cached reference."""

import math

import numpy as np

from pinnbench.problems.helmholtz_gaussian import HelmholtzGaussian
from pinnbench.references import helmholtz as fd

from .helpers import smoke_train

K = 12.0


def exact(x, y):
    return np.sin(math.pi * x) * np.sin(2 * math.pi * y)


def manufactured_source(x, y):
    return (K**2 - 5 * math.pi**2) * exact(x, y)


def grid(n):
    t = np.linspace(0.0, 1.0, n + 2)
    return np.meshgrid(t, t, indexing="ij")


def test_solver_is_second_order_on_a_manufactured_solution():
    errors = []
    for n in (15, 31, 63):
        gx, gy = grid(n)
        errors.append(np.abs(fd.solve(n, K, manufactured_source) - exact(gx, gy)).max())
    orders = [math.log2(errors[i] / errors[i + 1]) for i in range(2)]
    assert all(1.9 < p < 2.1 for p in orders), orders
    # Richardson extrapolation lifts it to fourth order: far below the plain h^2 error.
    gx, gy = grid(31)
    rich = np.abs(fd.extrapolated(31, K, manufactured_source) - exact(gx, gy)).max()
    assert rich < errors[1] / 50


def test_gaussian_reference_converges_under_refinement():
    source = fd.gaussian(0.1)
    best = fd.extrapolated(127, K, source)  # 4th order, nodes of the n = 127 grid
    errors = []
    for n in (15, 31, 63):
        step = (127 + 1) // (n + 1)
        errors.append(np.abs(fd.solve(n, K, source) - best[::step, ::step]).max())
    orders = [math.log2(errors[i] / errors[i + 1]) for i in range(2)]
    assert all(1.8 < p < 2.2 for p in orders), orders


def test_cached_reference_satisfies_the_pde_by_finite_differences():
    problem = HelmholtzGaussian(grid=127)
    h = 1e-2
    x = np.array([[0.3, 0.4], [0.5, 0.5], [0.62, 0.21], [0.8, 0.77]])
    u = problem.reference
    lap = sum(u(x + h * e) + u(x - h * e) - 2 * u(x) for e in np.eye(2)[:, None, :]) / h**2
    f = fd.gaussian_source(x[:, 0], x[:, 1], problem.sigma)[:, None]
    residual = np.abs(lap + K**2 * u(x) - f).max()
    # The stencil's own O(h^2) error dominates: small against the source's size (1).
    assert residual < 2e-2
    edge = np.array([[0.0, 0.3], [1.0, 0.7], [0.4, 0.0], [0.9, 1.0]])
    assert np.abs(u(edge)).max() < 1e-12


def test_smoke_train():
    result = smoke_train({"type": "helmholtz_gaussian", "grid": 31})
    assert result.row["status"] == "ok" and np.isfinite(result.row["loss"])
    assert np.isfinite(result.row["rel_l2"])
