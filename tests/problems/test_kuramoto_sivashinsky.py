"""Kuramoto-Sivashinsky spectral reference: observed order in the time step, spectral
convergence in the modes, the conserved mean, the PDE residual by finite differences (through
pinnbench verify), and the high-order derivative helper against closed forms."""

import functools
import math

import jax.numpy as jnp
import numpy as np
import pytest

from pinnbench.derivatives import Field
from pinnbench.problems.higher_order import along, central_weights
from pinnbench.problems.kuramoto_sivashinsky import KuramotoSivashinsky1D
from pinnbench.references import kuramoto_sivashinsky as ks
from pinnbench.references.verify import verify_problem

from .helpers import ExactModel, FDField, RefModel, smoke_train

C = KuramotoSivashinsky1D().coefficients


@functools.cache
def grid(n, dt, t_end=0.5):
    """Values on the 128-point grid at 51 times in [0, t_end] from an n-mode solve."""
    return ks.solve(C, n=n, times=51, t_end=t_end, dt=dt).grid_values()[:, :: n // 128]


def test_observed_order_in_time_step():
    # Over the whole window t <= 1, where a perturbation grows ~1,400-fold, against the problem's
    # dt = 2.5e-5 (128 modes suffice to compare time steps: same modes throughout).
    fine = grid(128, 2.5e-5, t_end=1.0)
    dts = (4e-4, 2e-4, 1e-4)
    errors = [np.max(np.abs(grid(128, dt, t_end=1.0) - fine)) for dt in dts]
    orders = [math.log2(a / b) for a, b in zip(errors, errors[1:], strict=False)]
    # Measured 3.74 and 3.88 (ETDRK4: 4); the error at dt = 1e-4 is 1.2e-6 (max |u| 2.9).
    assert min(orders) > 3.5, (errors, orders)
    assert errors[-1] < 2e-6
    # Extrapolated at the measured order to dt = 2.5e-5: the stored reference's time-step error
    # (6e-9; benchmarks/ks_reference.py measures it directly at 512 modes).
    assert errors[-1] * (2.5e-5 / dts[-1]) ** min(orders) < 1e-8


def test_spectral_convergence_in_modes():
    fine = grid(512, 2.5e-4)
    e128 = np.max(np.abs(grid(128, 2.5e-4) - fine))
    e256 = np.max(np.abs(grid(256, 2.5e-4) - fine))
    # Measured 2.4e-4 and 1.2e-10: doubling the modes gains six orders of magnitude.
    assert e256 < 1e-8 and e128 / e256 > 1e4, (e128, e256)


def test_mean_is_conserved():
    # u·u_x = (u²/2)_x and the linear terms have no k = 0 part: the mean stays that of u(x, 0).
    s = ks.solve(C, n=128, times=51, t_end=0.5, dt=2.5e-4)
    assert np.max(np.abs(s.spectra[:, 0])) / 128 < 1e-13
    assert np.max(np.abs(s.grid_values())) > 1.0  # the solution is not decaying to zero


def test_reference_satisfies_the_equation_by_finite_differences():
    # The default reference (512 modes, dt = 2.5e-5), differentiated by 4th-order differences.
    checks = {c.name: c for c in verify_problem(KuramotoSivashinsky1D(), n=40)}
    assert all(c.ok for c in checks.values()), checks
    assert checks["pde"].fd < 1e-6 and checks["ic"].fd < 1e-12


def test_on_grid_values_match_off_grid_evaluation():
    problem = KuramotoSivashinsky1D()
    x = problem.eval_points()
    stored = problem.reference(x)
    pick = np.random.default_rng(0).choice(len(x), 300, replace=False)
    # The general path (Fourier interpolation at the stored times) against the stored values.
    moved = ks.evaluate(problem.spectral(), x[pick, 0], x[pick, 1])
    assert np.max(np.abs(moved - stored[pick, 0])) < 1e-12


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_central_weights_are_fourth_order(order):
    f, h = np.sin, 0.1  # large enough that rounding stays far below the truncation error
    exact = [np.cos, lambda x: -np.sin(x), lambda x: -np.cos(x), np.sin][order - 1](0.3)
    approx = [sum(w * f(0.3 + j * s) for j, w in central_weights(order)) / s**order
              for s in (h, h / 2)]
    ratio = abs(approx[0] - exact) / abs(approx[1] - exact)
    assert 12 < ratio < 20, ratio


def test_along_matches_closed_form_by_ad_and_by_differences():
    class Wave:
        def solution(self, x, xp):
            return xp.sin(2 * x[:, :1]) * xp.cos(x[:, 1:])

    x = np.random.default_rng(1).random((20, 2))
    exact = 16 * np.sin(2 * x[:, 0]) * np.cos(x[:, 1])  # d⁴/dx⁴
    ad = along(Field(ExactModel(Wave()), None, jnp.asarray(x)), 0, 4)[:, 0]
    fd = along(FDField(RefModel(lambda y: Wave().solution(y, np), h=1e-2), None, x), 0, 4)[:, 0]
    assert np.max(np.abs(np.asarray(ad) - exact)) < 1e-11
    assert np.max(np.abs(np.asarray(fd) - exact)) < 1e-5


def test_smoke_train():
    result = smoke_train({"type": "kuramoto_sivashinsky1d"})
    assert result.row["status"] == "ok"
    assert np.isfinite(result.row["loss"]) and np.isfinite(result.row["rel_l2"])


@pytest.mark.parametrize("t_end, ok", [(0.5, True), (1.0, True), (1.5, False)])
def test_window_beyond_the_verified_one_is_refused(tmp_path, t_end, ok):
    # The reference is verified on t <= 1 only (a perturbation grows ~1,400-fold by t = 1 and
    # keeps growing), so a suite asking for more fails validation.
    from pinnbench.run.suite import SuiteError, load_suite

    path = tmp_path / "ks.toml"
    path.write_text(f"""name = "ks"
seeds = [0]
budget = {{ steps = 1 }}
[problems.kuramoto_sivashinsky1d]
t_end = {t_end}
[methods.adam]
model = {{ type = "mlp", width = 4, depth = 1 }}
optimizer = {{ type = "adam" }}
sampler = {{ type = "uniform", n_interior = 8, n_boundary = 4, n_initial = 4 }}
""")
    if ok:
        assert load_suite(path).runs()[0].problem["t_end"] == t_end
    else:
        with pytest.raises(SuiteError, match=r"t_end.*in \(0, 1\]"):
            load_suite(path)
