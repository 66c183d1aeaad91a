"""Burgers reference: Cole-Hopf + Gauss-Hermite, checked by an independent quadrature, by the
published maximum slope, and by the PDE residual in finite differences."""

import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from pinnbench.problems.base import tensor_grid
from pinnbench.problems.burgers import Burgers1D
from pinnbench.references.burgers import cole_hopf

from .helpers import FDField, RefModel, residuals_at, smoke_train

NU = 0.01 / math.pi


def trapezoid_cole_hopf(x: np.ndarray, t: float, nu: float, spacing: float = 4e-4) -> np.ndarray:
    """The same integrals by the trapezoid rule in eta on a truncated line: a different
    quadrature (spectrally accurate for smooth, fast-decaying integrands), no Hermite nodes."""
    width = math.sqrt(4 * nu * t)
    # F varies by e^{1/(pi nu)} = e^{100}: the Gaussian tail must fall below that, and 1e-16, so
    # the line is cut at 15 widths (e^{-225}).
    half = 15.0 * width
    eta = np.arange(-half, half + spacing / 2, spacing)
    y = x[:, None] - eta[None, :]
    loga = -np.cos(math.pi * y) / (2 * math.pi * nu) - eta[None, :] ** 2 / (4 * nu * t)
    e = np.exp(loga - loga.max(axis=1, keepdims=True))
    return -np.sum(np.sin(math.pi * y) * e, axis=1) / np.sum(e, axis=1)


@pytest.mark.parametrize("t", [0.05, 0.25, 0.5, 0.75, 1.0])
def test_matches_independent_trapezoid_quadrature(t):
    # Dense near the front at x = 0, where u jumps by ~2 over a width of ~0.01.
    x = np.concatenate([np.linspace(-1, 1, 201), np.linspace(-0.02, 0.02, 101)])
    ref = cole_hopf(x, np.full_like(x, t), NU)
    indep = trapezoid_cole_hopf(x, t, NU)
    assert np.max(np.abs(ref - indep)) < 1e-11


def test_converged_in_quadrature_order():
    x, t = np.linspace(-1, 1, 256), np.linspace(0.0, 1.0, 101)
    pts = tensor_grid([x, t])
    a = cole_hopf(pts[:, 0], pts[:, 1], NU)
    b = cole_hopf(pts[:, 0], pts[:, 1], NU, nodes=480)
    assert np.max(np.abs(a - b)) < 1e-12


def test_maximum_slope_matches_basdevant_1986():
    # Basdevant et al. (1986): max |u_x| = 152.00516 at x = 0, t = 1.6037/pi, for nu = 0.01/pi.
    def neg_slope(t, h=1e-5):
        x = np.array([-2 * h, -h, h, 2 * h])
        u = cole_hopf(x, np.full(4, t), NU)
        return (u[0] - 8 * u[1] + 8 * u[2] - u[3]) / (12 * h)

    best = minimize_scalar(neg_slope, bracket=(0.45, 0.51, 0.55), tol=1e-10)
    assert abs(-best.fun - 152.00516) < 2e-5
    assert abs(best.x * math.pi - 1.6037) < 1e-4


def test_pde_residual_by_finite_differences():
    problem = Burgers1D()

    def worst(h):
        model = RefModel(problem.reference, h=h)
        return residuals_at(problem, lambda x: FDField(model, None, x), n=400, margin=0.05)

    coarse, fine = worst(2e-4), worst(1e-4)
    # The worst point sits on the front (|u u_x| ~ 150 there). A residual that falls 16x per
    # halving of h is fourth-order FD truncation of a true solution; a wrong reference would
    # leave a floor.
    ratio = np.max(np.abs(coarse["pde"])) / np.max(np.abs(fine["pde"]))
    assert 13 < ratio < 19
    assert np.max(np.abs(fine["pde"])) < 3e-6
    assert np.max(np.abs(fine["bc"])) < 1e-14
    assert np.max(np.abs(fine["ic"])) < 1e-14


def test_reference_on_eval_grid_is_odd_in_x():
    problem = Burgers1D()
    pts = problem.eval_points()
    u = problem.reference(pts).reshape(256, 101)
    assert pts.shape == (256 * 101, 2)
    assert np.max(np.abs(u + u[::-1])) < 1e-13
    assert np.all(np.isfinite(u))


def test_smoke_train():
    result = smoke_train({"type": "burgers1d"})
    assert result.row["status"] == "ok" and np.isfinite(result.row["loss"])
    assert np.isfinite(result.row["rel_l2"])
