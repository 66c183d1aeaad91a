"""Gray-Scott 2D spectral reference: observed order in the time step, spectral convergence in
the modes, the PDE residual by finite differences (through pinnbench verify) and the off-grid
evaluation against the stored values. Coarse grids and short windows keep each test fast; the
full study is in docs/problems.md."""

import functools
import math

import numpy as np

from pinnbench.problems.gray_scott import GrayScott2D
from pinnbench.references import gray_scott as gs
from pinnbench.references import spectral2d
from pinnbench.references.verify import verify_problem

from .helpers import smoke_train

C = gs.Coefficients()


@functools.cache
def values(n, dt, t_end, every_t, stride):
    s = gs.setup(C, n, t_end, dt)
    return spectral2d.stored(s, round(every_t / s.h), stride)


def test_observed_order_in_time_step():
    # 128 modes (the same modes throughout), t <= 20 where the dynamics are fastest, against
    # dt = 0.125. Measured errors 1.7e-2, 6.0e-4, 2.2e-5: orders 4.8, 4.8 (ETDRK4: 4).
    fine = values(128, 0.125, 20.0, 10.0, 1)
    errors = [np.max(np.abs(values(128, dt, 20.0, 10.0, 1) - fine)) for dt in (2.0, 1.0, 0.5)]
    orders = [math.log2(a / b) for a, b in zip(errors, errors[1:], strict=False)]
    assert min(orders) > 3.7, (errors, orders)
    assert errors[-1] < 5e-5


def test_spectral_convergence_in_modes():
    # 128 and 256 modes against 512 on the 128-point grid at t = 5, 10 (dt = 0.5). Measured
    # 3.6e-4 / 5.4e-3 and 3.0e-6 / 1.2e-4: doubling the modes gains 1.5-2 orders of magnitude.
    fine = values(512, 0.5, 10.0, 5.0, 4)
    e128 = np.max(np.abs(values(128, 0.5, 10.0, 5.0, 1) - fine))
    e256 = np.max(np.abs(values(256, 0.5, 10.0, 5.0, 2) - fine))
    assert e256 < 3e-4 and e128 / e256 > 20, (e128, e256)


def test_reference_satisfies_the_equation_by_finite_differences():
    # A coarse instance (128 modes, t <= 10): the check of the residual code and of the off-grid
    # evaluation; `pinnbench verify gray_scott2d --points 50` checks the default (5.7e-10).
    checks = {c.name: c for c in verify_problem(GrayScott2D(t_end=10.0, modes=128), n=20)}
    assert all(c.ok for c in checks.values()), checks
    assert checks["pde"].fd < 1e-5 and checks["periodic"].fd < 1e-10 and checks["ic"].fd < 1e-14


def test_off_grid_evaluation_matches_stored_values():
    problem = GrayScott2D(t_end=10.0, modes=128)
    x = problem.eval_points()
    stored = problem.reference(x)
    pick = np.random.default_rng(0).choice(len(x), 200, replace=False)
    moved = problem.reference(x[pick] + 0.0)  # a copy: not the grid, so the general path
    assert np.max(np.abs(moved - stored[pick])) < 1e-12
    # Half a step after a stored time: one partial step, close to the neighbouring values.
    shifted = x[pick].copy()
    shifted[:, 2] = np.minimum(shifted[:, 2] + 0.01, 10.0)
    assert np.max(np.abs(problem.reference(shifted) - stored[pick])) < 0.05


def test_smoke_train():
    result = smoke_train({"type": "gray_scott2d", "t_end": 10.0, "modes": 128})
    assert result.row["status"] == "ok"
    assert np.isfinite(result.row["loss"]) and np.isfinite(result.row["rel_l2"])
