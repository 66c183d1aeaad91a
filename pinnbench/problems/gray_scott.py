"""Gray-Scott 2D (PINNacle's GrayScottEquation) with a Fourier-spectral ETDRK4 reference."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from pinnbench.derivatives import Field
from pinnbench.problems.base import Constraint
from pinnbench.problems.periodic import SpectralSquare
from pinnbench.references import gray_scott as solver
from pinnbench.references import spectral2d
from pinnbench.registry import option, positive, problems

GRID = 128  # evaluation grid per space axis, x = -1 + 2j/128 (every modes/128-th solver node)
DT = 0.25


def _modes_ok(v: object) -> bool:
    return isinstance(v, int) and v >= GRID and v % GRID == 0 and (v & (v - 1)) == 0


@problems.register("gray_scott2d")
@dataclasses.dataclass(frozen=True)
class GrayScott2D(SpectralSquare):
    """u_t = ε1·Δu + b·(1 - u) - u·v², v_t = ε2·Δv - d·v + u·v² on (x, y)∈[-1, 1]², t∈[0, 200],
    b = 0.04, d = 0.1, ε = (1e-5, 5e-6), u(x, y, 0) = 1 - exp(-80((x + 0.05)² + (y + 0.02)²)),
    v(x, y, 0) = exp(-80((x - 0.05)² + (y - 0.02)²)): PINNacle's GrayScottEquation (Hao et al.
    2023, its "GS" problem). PINNacle constrains only the initial data; here the square is
    periodic (u, v and their normal derivatives agree on opposite sides), the setting of the
    spectral reference. The solution differs from (1, 0) only within about 0.45 of the centre
    (by < 1e-6 beyond), so the sides see (1, 0) and periodicity changes nothing measurable.

    The pattern is a ring of width ~0.05 that breaks open and curls (docs/problems.md): slow,
    sharp and over 200 time units, which is what makes it hard to train.

    Reference: Fourier pseudo-spectral with ``modes``² modes + ETDRK4, dt = 0.25; stored at 21
    times on the 128² grid, evaluated elsewhere by one partial ETDRK4 step from the solve's
    step before the requested time and 2D Fourier interpolation. Accuracy: 512 modes against
    1024 within 6e-7 (t ≤ 25); time-step order 4.3, dt = 0.25 within 3e-6 of dt = 0.125
    (docs/problems.md, tests/problems/test_gray_scott.py).
    """

    t_end: float = positive("final time T", 200.0)
    modes: int = option(512, "Fourier modes per axis of the reference (a power of 2, >= 128)",
                        check=_modes_ok, expect="a power of 2 >= 128")
    b: float = positive("feed rate b", 0.04)
    d: float = positive("decay rate d of v", 0.1)
    eps_u: float = positive("diffusivity ε1 of u", 1e-5)
    eps_v: float = positive("diffusivity ε2 of v", 5e-6)
    ic_weight: float = positive("weight of the initial-condition terms", 1.0)

    lower = (-1.0, -1.0, 0.0)
    outputs = ("u", "v")
    solver_name = "gray_scott2d"
    solver_version = solver.SOLVER_VERSION

    @property
    def upper(self) -> tuple[float, float, float]:
        return (1.0, 1.0, self.t_end)

    @property
    def coefficients(self) -> solver.Coefficients:
        return solver.Coefficients(self.b, self.d, self.eps_u, self.eps_v)

    @property
    def steps(self) -> int:
        """Solver steps: a multiple of 20 (the stored times are steps), at most DT apart."""
        return 20 * int(np.ceil(self.t_end / (20 * DT) - 1e-9))

    def solve(self) -> spectral2d.Solve:
        return solver.setup(self.coefficients, self.modes, self.t_end, self.t_end / self.steps)

    def initial_data(self, x, y, xp):
        return solver.initial(x, y, xp)

    def cache_params(self) -> dict:
        return {**dataclasses.asdict(self.coefficients), "modes": self.modes,
                "t_end": self.t_end, "steps": self.steps}

    def constraints(self) -> tuple[Constraint, ...]:
        def pde(f: Field):
            # Values and the Laplacian first, the time derivative last: a finite-difference
            # stand-in then asks for each set of times once (see spectral2d.Evaluator).
            u, v = f.value[:, 0], f.value[:, 1]
            lap = f.laplacian_over((0, 1))
            ut = f.d(2)
            react = u * v * v
            return jnp.stack([ut[:, 0] - self.eps_u * lap[:, 0] - self.b * (1 - u) + react,
                              ut[:, 1] - self.eps_v * lap[:, 1] + self.d * v - react], axis=1)

        return (Constraint("pde", "interior", pde),
                Constraint("periodic", "boundary", self.periodic),
                Constraint("ic", "initial", self.initial_residual, self.ic_weight))
