"""Laplace's equation on the unit square with data on one side: the APTS paper's "Laplace"."""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp

from pinnbench.derivatives import Field
from pinnbench.problems.base import ClosedFormProblem, Constraint
from pinnbench.protocols import LINEAR
from pinnbench.registry import option, problems


@problems.register("laplace2d")
@dataclasses.dataclass(frozen=True)
class Laplace2D(ClosedFormProblem):
    """Δu = 0 on [0, 1]², u(x, 1) = sin(kπx), u = 0 on the other three sides; exact solution

        u(x, y) = sin(kπx)·sinh(kπy) / sinh(kπ).

    The APTS paper (Çapriqi, Likaj, Trotti & Krause) benchmarks "Laplace" beside heat and
    Burgers on [0, 1] with the same [2, 20, 20, 20, 1] network, without stating the boundary
    data; this is the classical Dirichlet problem of that name (harmonic, data on one side), so
    unlike the Poisson stand-in it has no source: the interior residual is Δu itself and the
    solution is driven by the boundary alone. ``k`` sets how fast it decays away from y = 1
    (e^{-kπ(1 - y)}).
    """

    k: int = option(1, "mode number of the boundary data sin(kπx)",
                    check=lambda v: isinstance(v, int) and 1 <= v <= 8, expect="1..8")

    capabilities = frozenset({LINEAR})  # the residuals are affine in u
    lower = (0.0, 0.0)
    upper = (1.0, 1.0)

    def solution(self, x, xp):
        a = self.k * math.pi
        # sinh(a·y)/sinh(a) written with exponentials of non-positive arguments (no overflow).
        ratio = (xp.exp(a * (x[:, 1] - 1)) - xp.exp(-a * (x[:, 1] + 1))) / (1 - math.exp(-2 * a))
        return (xp.sin(a * x[:, 0]) * ratio)[:, None]

    def constraints(self) -> tuple[Constraint, ...]:
        def pde(f: Field):
            # Divided by (kπ)², the size of u_xx, so the residual is O(1) for every k.
            return f.laplacian[:, 0] / (self.k * math.pi) ** 2

        def bc(f: Field):
            return f.value[:, 0] - self.solution(f.x, jnp)[:, 0]

        return (Constraint("pde", "interior", pde), Constraint("bc", "boundary", bc))
