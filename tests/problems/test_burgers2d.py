"""Burgers 2D spectral reference: observed order in the time step, spectral convergence in the
modes, the PDE residual by finite differences (through pinnbench verify), off-grid evaluation
against the stored values, and the initial data's steepening time."""

import functools
import math

import numpy as np

from pinnbench.problems.burgers2d import Burgers2D
from pinnbench.references import burgers2d as b2
from pinnbench.references import spectral2d
from pinnbench.references.verify import verify_problem

from .helpers import smoke_train


@functools.cache
def values(n, dt, t_end=1.0, stored=5):
    s = b2.setup(1e-3, 4.0, n, t_end, dt)
    return spectral2d.stored(s, s.steps // (stored - 1), n // 64)


def test_observed_order_in_time_step():
    # 64 modes throughout, over [0, 1], against dt = 2.5e-3. Measured 2.7e-5, 1.7e-6, 1.0e-7:
    # orders 3.97, 4.07 (ETDRK4: 4).
    fine = values(64, 2.5e-3)
    dts = (0.0625, 0.03125, 0.015625)
    errors = [np.max(np.abs(values(64, dt) - fine)) for dt in dts]
    orders = [math.log2(a / b) for a, b in zip(errors, errors[1:], strict=False)]
    assert min(orders) > 3.7, (errors, orders)
    assert errors[-1] < 1e-6


def test_spectral_convergence_in_modes():
    # Measured (dt = 2.5e-3, against 256 modes, at t = 1): 64 modes 2.5e-5, 128 modes 1.2e-8.
    fine = values(256, 2.5e-3)
    e64 = np.max(np.abs(values(64, 2.5e-3) - fine))
    e128 = np.max(np.abs(values(128, 2.5e-3) - fine))
    assert e128 < 1e-7 and e64 / e128 > 300, (e64, e128)


def test_initial_data_steepens_before_blowing_up():
    # Inviscid blow-up time 1 / max(-λ_min(∇u(·, 0))): the fronts steepen over [0, 1] but do
    # not break (measured 1.374).
    g = spectral2d.Grid(128, 0.0, 4.0)
    w = g.forward(np.stack(b2.initial(*g.mesh(), 4.0)))
    ikx, iky = g.derivative_factors()
    (ux, vx), (uy, vy) = g.inverse(ikx * w), g.inverse(iky * w)
    tr, det = ux + vy, ux * vy - uy * vx
    disc = tr**2 / 4 - det
    lam = np.where(disc >= 0, tr / 2 - np.sqrt(np.maximum(disc, 0)), tr / 2)
    assert 1.3 < 1 / -lam.min() < 1.45


def test_reference_satisfies_the_equation_by_finite_differences():
    checks = {c.name: c for c in verify_problem(Burgers2D(modes=128), n=20)}
    assert all(c.ok for c in checks.values()), checks
    assert checks["pde"].fd < 1e-7 and checks["periodic"].fd < 1e-10 and checks["ic"].fd < 1e-14


def test_off_grid_evaluation_matches_stored_values():
    problem = Burgers2D(modes=128)
    x = problem.eval_points()
    stored = problem.reference(x)
    pick = np.random.default_rng(0).choice(len(x), 200, replace=False)
    assert np.max(np.abs(problem.reference(x[pick] + 0.0) - stored[pick])) < 1e-12


def test_smoke_train():
    result = smoke_train({"type": "burgers2d", "modes": 128})
    assert result.row["status"] == "ok"
    assert np.isfinite(result.row["loss"]) and np.isfinite(result.row["rel_l2"])
