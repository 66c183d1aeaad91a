"""Laplace on the unit square (the APTS paper's benchmark): the closed form satisfies every
constraint by AD and by finite differences, and takes hand-computed values."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from pinnbench.derivatives import Field
from pinnbench.problems.laplace import Laplace2D
from pinnbench.references.verify import verify_problem

from .helpers import ExactModel, residuals_at, smoke_train


@pytest.mark.parametrize("k", [1, 4])
def test_closed_form_satisfies_constraints(k):
    problem = Laplace2D(k=k)
    res = residuals_at(problem, lambda x: Field(ExactModel(problem), None, jnp.asarray(x)),
                       n=200, jit=True)
    assert max(np.max(np.abs(r)) for r in res.values()) < 1e-12
    checks = verify_problem(problem, n=100)
    assert all(c.ok for c in checks), checks
    assert max(c.fd for c in checks) < 1e-8


def test_hand_values():
    problem = Laplace2D()
    x = np.array([[0.5, 0.5], [0.25, 1.0], [0.5, 0.0], [0.0, 0.7]])
    expected = [math.sinh(math.pi / 2) / math.sinh(math.pi), math.sin(math.pi / 4), 0.0, 0.0]
    assert np.max(np.abs(problem.reference(x)[:, 0] - expected)) < 1e-15
    # k = 8: sinh(8π) ~ 4e10 would lose digits as a ratio; the exponential form does not.
    far = Laplace2D(k=8).reference(np.array([[1 / 16, 0.5]]))[0, 0]
    assert abs(far - math.sinh(4 * math.pi) / math.sinh(8 * math.pi)) < 1e-15


def test_smoke_train():
    result = smoke_train({"type": "laplace2d"})
    assert result.row["status"] == "ok" and np.isfinite(result.row["rel_l2"])
