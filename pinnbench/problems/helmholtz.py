"""2D Helmholtz equation with a manufactured solution."""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp

from pinnbench.derivatives import Field
from pinnbench.problems.base import ClosedFormProblem, Constraint
from pinnbench.protocols import ANSATZ, LINEAR
from pinnbench.registry import option, positive, problems


@problems.register("helmholtz2d")
@dataclasses.dataclass(frozen=True)
class Helmholtz2D(ClosedFormProblem):
    """Δu + k²u = f on [-1, 1]², u = 0 on the boundary.

    Exact solution u = sin(a1·πx)·sin(a2·πy), so f = (k² − (a1² + a2²)π²)·u. The PINNacle / PINN
    Balls setting is a1 = 1, a2 = 4, k = 1.
    """

    a1: float = positive("frequency in x (multiples of π)", 1.0)
    a2: float = positive("frequency in y (multiples of π)", 4.0)
    k: float = option(1.0, "wavenumber")
    bc_weight: float = positive("weight of the boundary term", 1.0)

    capabilities = frozenset({LINEAR, ANSATZ})  # the residuals are affine in u
    lower = (-1.0, -1.0)
    upper = (1.0, 1.0)

    def _exact(self, x, y, lib):
        return lib.sin(self.a1 * math.pi * x) * lib.sin(self.a2 * math.pi * y)

    def source(self, x: jnp.ndarray) -> jnp.ndarray:
        factor = self.k**2 - (self.a1**2 + self.a2**2) * math.pi**2
        return factor * self._exact(x[:, 0], x[:, 1], jnp)

    def constraints(self) -> tuple[Constraint, ...]:
        def pde(f: Field):
            return f.laplacian[:, 0] + self.k**2 * f.value[:, 0] - self.source(f.x)

        def bc(f: Field):
            return f.value[:, 0] - self._exact(f.x[:, 0], f.x[:, 1], jnp)

        return (Constraint("pde", "interior", pde), Constraint("bc", "boundary", bc,
                                                                self.bc_weight))

    def ansatz(self, x):
        # The boundary data sin(a1 πx) sin(a2 πy) vanish on the square's edges for integer
        # frequencies: g = 0 and D = (1 - x²)(1 - y²).
        if self.a1 != int(self.a1) or self.a2 != int(self.a2):
            raise ValueError(f"helmholtz2d: the ansatz needs integer a1, a2 (zero boundary "
                             f"data); got a1 = {self.a1}, a2 = {self.a2}")
        d = (1 - x[:, 0] ** 2) * (1 - x[:, 1] ** 2)
        return jnp.zeros_like(d)[:, None], d[:, None]

    def solution(self, x, xp):
        return self._exact(x[:, 0], x[:, 1], xp)[:, None]
