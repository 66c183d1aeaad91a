"""Heat 2D over a long time (PINNacle's Heat2D_LongTime) with a sine-series spectral reference."""

from __future__ import annotations

import dataclasses
import functools

import jax.numpy as jnp
import numpy as np

from pinnbench.derivatives import Field
from pinnbench.problems.base import Constraint
from pinnbench.problems.periodic import SpectralSquare
from pinnbench.references import heat_long as solver
from pinnbench.references import spectral2d
from pinnbench.references.cache import cached
from pinnbench.registry import option, positive, problems

STORED = 32  # stored intervals per side: 33² nodes, every modes/32-th solver node
DT = 0.025  # 128 modes, t <= 100: 1.6e-4 from dt = 0.0125; dt = 0.05 is 8.1e-3 (pre-asymptotic)


def _modes_ok(v: object) -> bool:
    return isinstance(v, int) and v >= STORED and (v & (v - 1)) == 0


def _int_ok(v: object) -> bool:
    return isinstance(v, int) and v >= 1


@problems.register("heat2d_long")
@dataclasses.dataclass(frozen=True)
class Heat2DLong(SpectralSquare):
    """u_t = 0.001·Δu + 5·sin(k·u²)·(1 + 2 sin(πt/4))·sin(m1πx)·sin(m2πy) on (x, y)∈[0, 1]²,
    t∈[0, 100], k = 1, (m1, m2) = (4, 2), u = 0 on the sides, u(x, y, 0) = sin(4πx)·sin(3πy):
    PINNacle's Heat2D_LongTime (src/pde/heat.py; Hao et al. 2023, "Heat2d-LT"). The source
    drives u towards the zeros of sin(k·u²) (|u| = √(π/k) where it is stable) and flips their
    stability twice per period 8 of the forcing; over 100 time units that is 12.5 periods.

    Reference: a sine series of ``modes``² terms (pseudo-spectral, the odd extension's Fourier
    method; pinnbench/references/heat_long.py) + ETDRK4, dt = 0.025; stored at 101 times on 33²
    nodes of [0, 1]², evaluated elsewhere by one partial step from the solve's step before the
    time and the sine series. Accuracy: docs/problems.md, tests/problems/test_heat_long.py.
    """

    t_end: float = positive("final time T", 100.0)
    modes: int = option(128, "sine modes per axis of the reference (a power of 2, >= 32)",
                        check=_modes_ok, expect="a power of 2 >= 32")
    k: float = positive("coefficient k in sin(k·u²)", 1.0)
    m1: int = option(4, "x mode of the source", check=_int_ok, expect="an integer >= 1")
    m2: int = option(2, "y mode of the source", check=_int_ok, expect="an integer >= 1")
    bc_weight: float = positive("weight of the boundary term", 1.0)
    ic_weight: float = positive("weight of the initial-condition term", 1.0)

    lower = (0.0, 0.0, 0.0)
    grid = STORED + 1
    times = 101
    solver_name = "heat2d_long"
    solver_version = solver.SOLVER_VERSION

    @property
    def upper(self) -> tuple[float, float, float]:
        return (1.0, 1.0, self.t_end)

    @property
    def coefficients(self) -> solver.Coefficients:
        return solver.Coefficients(k=self.k, m1=self.m1, m2=self.m2)

    @property
    def steps(self) -> int:
        """Solver steps: a multiple of times - 1 (the stored times are steps), at most DT."""
        every = self.times - 1
        return every * int(np.ceil(self.t_end / (every * DT) - 1e-9))

    def solve(self) -> spectral2d.Solve:
        return solver.setup(self.coefficients, self.modes, self.t_end, self.steps)

    def initial_data(self, x, y, xp):
        return (solver.initial(x, y, xp),)

    def cache_params(self) -> dict:
        return {**dataclasses.asdict(self.coefficients), "modes": self.modes,
                "t_end": self.t_end, "steps": self.steps}

    def stored(self) -> np.ndarray:
        params = {**self.cache_params(), "grid": self.grid, "times": self.times}

        def compute():
            s = self.solve()
            return {"values": solver.stored(s, s.steps // (self.times - 1), s.grid.n // STORED)}

        return cached(self.solver_name, self.solver_version, params, compute).arrays["values"]

    @functools.cached_property
    def _evaluator(self) -> solver.Evaluator:
        return solver.Evaluator(self.solve())

    def eval_axes(self) -> list[np.ndarray]:
        x = np.linspace(0.0, 1.0, self.grid)
        return [x, x, np.linspace(0.0, self.t_end, self.times)]

    def constraints(self) -> tuple[Constraint, ...]:
        c = self.coefficients

        def pde(f: Field):
            # Values and the Laplacian first, the time derivative last: a finite-difference
            # stand-in then asks for each set of times once (see spectral2d.Evaluator).
            u = f.value[:, 0]
            lap = f.laplacian_over((0, 1))[:, 0]
            ut = f.d(2)[:, 0]
            x, y, t = f.x[:, 0], f.x[:, 1], f.x[:, 2]
            return ut - c.alpha * lap - solver.source(c, u, x, y, t, jnp)

        def bc(f: Field):
            return f.value[:, 0]

        return (Constraint("pde", "interior", pde),
                Constraint("bc", "boundary", bc, self.bc_weight),
                Constraint("ic", "initial", self.initial_residual, self.ic_weight))
