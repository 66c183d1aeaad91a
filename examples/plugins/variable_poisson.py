"""A plugin problem whose reference is computed numerically (docs/extending.md).

    pinnbench verify variable_poisson1d --plugin examples/plugins/variable_poisson.py

-(a(x) u'(x))' = 1 on [0, 1], u(0) = u(1) = 0, with the coefficient a(x) = 1 + eps sin(2 pi k x).
Integrating once, a u' = C - x, so u(x) = int_0^x (C - s) / a(s) ds with C fixed by u(1) = 0:
C = int_0^1 s / a / int_0^1 1 / a. The reference evaluates these integrals by composite
Gauss-Legendre quadrature on [0, x] (32 panels of 16 nodes: one rule of 64 nodes on the whole
interval left a relative residual of 8e-4 at eps = 0.9, where 1 / a peaks sharply, which
`pinnbench verify` reported); `pinnbench verify` checks it against the PDE residual by finite
differences, with no autodiff.
"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp
import numpy as np

from pinnbench.problems.base import BoxProblem, Constraint
from pinnbench.protocols import LINEAR
from pinnbench.registry import option, positive, problems

NODES, WEIGHTS = np.polynomial.legendre.leggauss(16)
PANELS = 32


@problems.register("variable_poisson1d")
@dataclasses.dataclass(frozen=True)
class VariablePoisson1D(BoxProblem):
    """-(a u')' = 1 with a = 1 + eps sin(2 pi k x) on [0, 1], homogeneous Dirichlet."""

    eps: float = option(0.5, "amplitude of the coefficient's oscillation",
                        check=lambda v: 0 <= v < 1, expect="in [0, 1)")
    k: int = positive("wave number of the coefficient", 2)

    capabilities = frozenset({LINEAR})  # the residuals are affine in u
    lower = (0.0,)
    upper = (1.0,)

    def coefficient(self, x, xp):
        return 1.0 + self.eps * xp.sin(2 * math.pi * self.k * x)

    def constraints(self) -> tuple[Constraint, ...]:
        def pde(f):
            x = f.x[:, 0]
            a = self.coefficient(x, jnp)
            da = 2 * math.pi * self.k * self.eps * jnp.cos(2 * math.pi * self.k * x)
            # -(a u')' = -a u'' - a' u'
            return -a * f.d2(0)[:, 0] - da * f.d(0)[:, 0] - 1.0

        def bc(f):
            return f.value[:, 0]

        return (Constraint("pde", "interior", pde), Constraint("bc", "boundary", bc))

    def _integral(self, g, x: np.ndarray) -> np.ndarray:
        """int_0^x g(s) ds for every x, by Gauss-Legendre on PANELS equal panels of [0, x]."""
        left = x[:, None] * np.arange(PANELS)[None] / PANELS  # (M, panels)
        half = 0.5 * x[:, None, None] / PANELS
        s = left[..., None] + half * (NODES + 1.0)  # (M, panels, nodes)
        return np.sum(half[..., 0] * (g(s) @ WEIGHTS), axis=1)

    def reference(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)[:, 0]
        one = np.ones(1)

        def inv_a(s):
            return 1.0 / self.coefficient(s, np)

        c = (self._integral(lambda s: s * inv_a(s), one) / self._integral(inv_a, one))[0]
        return self._integral(lambda s: (c - s) * inv_a(s), x)[:, None]
