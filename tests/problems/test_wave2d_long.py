"""Wave 2D long time: the closed form against the problem's residuals (autodiff and finite
differences), hand values, and the sinh form PINNacle's code states failing the equation."""

import math

import jax.numpy as jnp
import numpy as np

from pinnbench.derivatives import Field
from pinnbench.problems.wave2d_long import Wave2DLong
from pinnbench.references.verify import SolutionModel, verify_problem

from .helpers import smoke_train


def test_closed_form_satisfies_every_constraint():
    checks = {c.name: c for c in verify_problem(Wave2DLong(), n=100)}
    assert all(c.ok for c in checks.values()), checks
    assert max(c.ad for c in checks.values()) < 1e-12
    assert checks["pde"].fd < 1e-8


def test_hand_values():
    p = Wave2DLong()
    assert np.allclose(p.frequencies(), (math.sqrt(3), math.sqrt(17)), atol=1e-15)
    # At (1/2, 1/2, 0): sin(π/2)² + sin(3π/2)·sin(π) = 1.
    assert abs(p.reference(np.array([[0.5, 0.5, 0.0]]))[0, 0] - 1.0) < 1e-15
    # At (1/2, 1/4, 1): sin(π/4)·cos(√3π) + sin(3π/2)·sin(π/2)·cos(√17π).
    want = math.sin(math.pi / 4) * math.cos(math.sqrt(3) * math.pi) - math.cos(
        math.sqrt(17) * math.pi)
    assert abs(p.reference(np.array([[0.5, 0.25, 1.0]]))[0, 0] - want) < 1e-14


def test_pinnacle_sinh_form_is_no_solution():
    class Sinh(Wave2DLong):
        def solution(self, x, xp):
            pi = math.pi
            return (xp.sin(pi * x[:, 0]) * xp.sinh(pi * x[:, 1]) * xp.cos(pi * x[:, 2])
                    + xp.sinh(3 * pi * x[:, 0]) * xp.sin(2 * pi * x[:, 1])
                    * xp.cos(pi * x[:, 2]))[:, None]

    p = Sinh()
    x = jnp.asarray(np.random.default_rng(0).random((50, 3)))
    residual = p.constraints()[0].residual(Field(SolutionModel(p), None, x))
    # u_tt - u_xx - 2u_yy = -2π²·u for both terms.
    assert np.allclose(residual, -2 * math.pi**2 * p.solution(x, jnp)[:, 0], rtol=1e-9)


def test_smoke_train():
    result = smoke_train({"type": "wave2d_long"})
    assert result.row["status"] == "ok" and np.isfinite(result.row["rel_l2"])
