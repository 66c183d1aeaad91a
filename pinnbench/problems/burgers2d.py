"""Burgers 2D (PINNacle's Burgers2D) on a periodic square, with a Fourier-spectral reference."""

from __future__ import annotations

import dataclasses

import numpy as np

from pinnbench.derivatives import Field
from pinnbench.problems.base import Constraint
from pinnbench.problems.periodic import SpectralSquare
from pinnbench.references import burgers2d as solver
from pinnbench.references import spectral2d
from pinnbench.registry import option, positive, problems

DT = 2.5e-3


@problems.register("burgers2d")
@dataclasses.dataclass(frozen=True)
class Burgers2D(SpectralSquare):
    """u_t + u·u_x + v·u_y = ν·Δu, v_t + u·v_x + v·v_y = ν·Δv on (x, y)∈[0, L]², t∈[0, T],
    periodic in x and y, ν = 1e-3, L = 4, T = 1: PINNacle's Burgers2D (Hao et al. 2023, "2d-C").

    PINNacle reads its initial velocity from data files (a random smooth field) that are not
    part of its source; here it is a fixed sum of the lowest Fourier modes of the square
    (:data:`pinnbench.references.burgers2d.MODES_U`, ``MODES_V``; |u|, |v| ≤ 0.5), whose
    inviscid gradient blow-up time is 1.37: over [0, 1] fronts steepen about 3.7-fold, at
    ν = 1e-3 still resolvable by 256 modes.

    Reference: Fourier pseudo-spectral with ``modes``² modes + ETDRK4, dt = 2.5e-3; stored at 21
    times on the 128² grid x = 4j/128. 128 modes are within 1.2e-8 of 256 and dt = 2.5e-3
    within 6e-11 of dt/2 (docs/problems.md).
    """

    nu: float = positive("viscosity ν", 1e-3)
    length: float = positive("side L of the periodic square", 4.0)
    t_end: float = positive("final time T", 1.0)
    modes: int = option(256, "Fourier modes per axis of the reference (a power of 2, >= 128)",
                        check=lambda v: isinstance(v, int) and v >= 128 and (v & (v - 1)) == 0,
                        expect="a power of 2 >= 128")
    ic_weight: float = positive("weight of the initial-condition terms", 1.0)

    lower = (0.0, 0.0, 0.0)
    outputs = ("u", "v")
    solver_name = "burgers2d"
    solver_version = solver.SOLVER_VERSION

    @property
    def upper(self) -> tuple[float, float, float]:
        return (self.length, self.length, self.t_end)

    @property
    def steps(self) -> int:
        return 20 * int(np.ceil(self.t_end / (20 * DT) - 1e-9))

    def solve(self) -> spectral2d.Solve:
        return solver.setup(self.nu, self.length, self.modes, self.t_end,
                            self.t_end / self.steps)

    def initial_data(self, x, y, xp):
        return solver.initial(x, y, self.length, xp)

    def cache_params(self) -> dict:
        return {"nu": self.nu, "length": self.length, "modes": self.modes,
                "t_end": self.t_end, "steps": self.steps}

    def constraints(self) -> tuple[Constraint, ...]:
        def pde(f: Field):
            # Values, gradient and Laplacian at the batch's times first, the time derivative last
            # (one set of times at a time for a finite-difference stand-in).
            w = f.value
            wx, wy = f.d(0), f.d(1)
            lap = f.laplacian_over((0, 1))
            wt = f.d(2)
            return wt + w[:, :1] * wx + w[:, 1:] * wy - self.nu * lap

        return (Constraint("pde", "interior", pde),
                Constraint("periodic", "boundary", self.periodic),
                Constraint("ic", "initial", self.initial_residual, self.ic_weight))
