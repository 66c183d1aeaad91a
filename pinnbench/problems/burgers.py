"""1D viscous Burgers equation with a steep front (Raissi et al., 2019)."""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp
import numpy as np

from pinnbench.derivatives import Field
from pinnbench.problems.base import BoxProblem, Constraint
from pinnbench.references.burgers import cole_hopf
from pinnbench.registry import positive, problems


@problems.register("burgers1d")
@dataclasses.dataclass(frozen=True)
class Burgers1D(BoxProblem):
    """u_t + u·u_x = ν·u_xx on x∈[-1, 1], t∈[0, 1]; u(x, 0) = -sin(πx), u(±1, t) = 0.

    Reference: Cole-Hopf transform with Gauss-Hermite quadrature (accurate to ~1e-13). Evaluated on
    256 x 101 points in (x, t) (Raissi's layout, extended to t = 1).
    """

    nu: float = positive("viscosity (default 0.01/π)", 0.01 / math.pi)
    bc_weight: float = positive("weight of the boundary term", 1.0)
    ic_weight: float = positive("weight of the initial-condition term", 1.0)

    lower = (-1.0, 0.0)
    upper = (1.0, 1.0)
    time_dependent = True

    def constraints(self) -> tuple[Constraint, ...]:
        def pde(f: Field):
            u = f.value[:, 0]
            return f.d(1)[:, 0] + u * f.d(0)[:, 0] - self.nu * f.d2(0)[:, 0]

        def bc(f: Field):
            return f.value[:, 0]

        def ic(f: Field):
            return f.value[:, 0] + jnp.sin(math.pi * f.x[:, 0])

        return (Constraint("pde", "interior", pde),
                Constraint("bc", "boundary", bc, self.bc_weight),
                Constraint("ic", "initial", ic, self.ic_weight))

    def eval_axes(self) -> list[np.ndarray]:
        return [np.linspace(-1.0, 1.0, 256), np.linspace(0.0, 1.0, 101)]

    def reference(self, x: np.ndarray) -> np.ndarray:
        return cole_hopf(x[:, 0], x[:, 1], self.nu)[:, None]
