"""Wave 2D over a long time (PINNacle's Wave2D_LongTime) with a closed-form solution."""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp
import numpy as np

from pinnbench.derivatives import Field
from pinnbench.problems.base import ClosedFormProblem, Constraint
from pinnbench.registry import positive, problems


@problems.register("wave2d_long")
@dataclasses.dataclass(frozen=True)
class Wave2DLong(ClosedFormProblem):
    """u_tt = u_xx + a²·u_yy on (x, y)∈[0, 1]², t∈[0, 100], u = 0 on the sides, u_t(·, 0) = 0,
    a = √2, (m1, n1) = (1, 1), (m2, n2) = (3, 2): PINNacle's Wave2D_LongTime (Hao et al. 2023,
    "Wave2d-L").

        u = sin(m1πx)·sin(n1πy)·cos(p1πt) + sin(m2πx)·sin(n2πy)·cos(p2πt),
        p_i = √(m_i² + a²·n_i²)  (√3 and √17 here).

    PINNacle's code states the solution with sinh factors (sin(m1πx)·sinh(n1πy)·cos(πt) +
    sinh(m2πx)·sin(n2πy)·cos(πt)), which does not satisfy its own equation (its residual is
    -2π²·u); the standing waves above keep its domain, equation, (a, m, n) and two-mode
    character and are exact, with the frequencies the equation requires. Over 100 time units
    the faster mode makes 206 periods, which is what makes it hard.
    """

    a: float = positive("wave speed a along y", math.sqrt(2))
    m1: int = positive("x mode of the first wave", 1)
    n1: int = positive("y mode of the first wave", 1)
    m2: int = positive("x mode of the second wave", 3)
    n2: int = positive("y mode of the second wave", 2)
    t_end: float = positive("final time T", 100.0)
    bc_weight: float = positive("weight of the boundary term", 1.0)
    ic_weight: float = positive("weight of the initial terms", 1.0)

    lower = (0.0, 0.0, 0.0)
    time_dependent = True

    @property
    def upper(self) -> tuple[float, float, float]:
        return (1.0, 1.0, self.t_end)

    def frequencies(self) -> tuple[float, float]:
        return (math.sqrt(self.m1**2 + self.a**2 * self.n1**2),
                math.sqrt(self.m2**2 + self.a**2 * self.n2**2))

    def solution(self, x, xp):
        p1, p2 = self.frequencies()
        pi = math.pi
        u = (xp.sin(self.m1 * pi * x[:, 0]) * xp.sin(self.n1 * pi * x[:, 1])
             * xp.cos(p1 * pi * x[:, 2])
             + xp.sin(self.m2 * pi * x[:, 0]) * xp.sin(self.n2 * pi * x[:, 1])
             * xp.cos(p2 * pi * x[:, 2]))
        return u[:, None]

    def eval_axes(self) -> list[np.ndarray]:
        # 17 points per side resolve sin 3πx; 2001 times give ~10 per period of the faster wave.
        x = np.linspace(0.0, 1.0, 17)
        return [x, x, np.linspace(0.0, self.t_end, 2001)]

    def constraints(self) -> tuple[Constraint, ...]:
        def pde(f: Field):
            return f.d2(2)[:, 0] - f.d2(0)[:, 0] - self.a**2 * f.d2(1)[:, 0]

        def bc(f: Field):
            return f.value[:, 0] - self.solution(f.x, jnp)[:, 0]

        def ic(f: Field):
            return f.value[:, 0] - self.solution(f.x, jnp)[:, 0]

        def ic_t(f: Field):
            return f.d(2)[:, 0]

        return (Constraint("pde", "interior", pde),
                Constraint("bc", "boundary", bc, self.bc_weight),
                Constraint("ic", "initial", ic, self.ic_weight),
                Constraint("ic_t", "initial", ic_t, self.ic_weight))
