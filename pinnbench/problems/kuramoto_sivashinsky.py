"""Kuramoto-Sivashinsky 1D: chaotic, fourth order, with a Fourier-spectral ETDRK4 reference."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from pinnbench.derivatives import Field
from pinnbench.problems.base import BoxProblem, Constraint, field_at
from pinnbench.problems.higher_order import along
from pinnbench.references import kuramoto_sivashinsky as solver
from pinnbench.references.cache import cached
from pinnbench.registry import option, positive, problems

GRID = 512  # evaluation grid in x (x = 2πj/512)
STORED = 1001  # stored times; every 5th is an evaluation time
DT = 2.5e-5


@problems.register("kuramoto_sivashinsky1d")
@dataclasses.dataclass(frozen=True)
class KuramotoSivashinsky1D(BoxProblem):
    """u_t + α·u·u_x + β·u_xx + γ·u_xxxx = 0 on x∈[0, 2π], t∈[0, T], u(x, 0) = cos x·(1 + sin x),
    periodic (u and its first three x-derivatives), α = 100/16, β = 100/16², γ = 100/16⁴: the
    setting of PINNacle (Hao et al. 2023, `KuramotoSivashinskyEquation`) and jaxpi's KS case,
    i.e. u_t + u·u_x + u_xx + u_xxxx = 0 on [0, 32π] over 100 time units, rescaled.

    Linear growth peaks at k ≈ 11 with rate β²/(4γ) = 25 per unit time: the solution becomes
    chaotic and perturbations grow by several orders of magnitude over [0, 1], which is what makes
    it hard for PINNs (jaxpi trains it by time marching).

    Reference: Fourier pseudo-spectral with ``modes`` modes + ETDRK4, dt = 2.5e-5, stored at
    1001 times; evaluated on the 512-point grid x = 2πj/512 at 201 times. Measured accuracy
    (docs/problems.md, ``benchmarks/ks_reference.py``): time-step order 3.5-4.0, error of the
    stored reference at most 6e-9 (max |u| 3.0) over the whole window t ≤ 1, 512 modes within
    4e-11 of 2048, so errors are reported over all of it. A perturbation of u(x, 0) grows 1,400
    times by t = 1 and keeps growing about that fast, so the window stops there: ``t_end`` ≤ 1.
    """

    t_end: float = option(1.0, "final time T (the reference is verified up to 1)",
                          check=lambda v: isinstance(v, int | float) and 0 < v <= 1,
                          expect="in (0, 1]")
    alpha: float = option(100 / 16, "coefficient α of u·u_x")
    beta: float = option(100 / 16**2, "coefficient β of u_xx")
    gamma: float = positive("coefficient γ of u_xxxx", 100 / 16**4)
    modes: int = option(512, "Fourier modes of the reference solve (a multiple of 512)",
                        check=lambda v: isinstance(v, int) and v >= 512 and v % 512 == 0,
                        expect="a multiple of 512")
    ic_weight: float = positive("weight of the initial-condition term", 1.0)

    lower = (0.0, 0.0)
    time_dependent = True

    @property
    def upper(self) -> tuple[float, float]:
        return (2 * np.pi, self.t_end)

    @property
    def coefficients(self) -> solver.Coefficients:
        return solver.Coefficients(self.alpha, self.beta, self.gamma)

    def spectral(self) -> solver.Spectral:
        params = {"alpha": self.alpha, "beta": self.beta, "gamma": self.gamma,
                  "modes": self.modes, "times": STORED, "t_end": self.t_end, "dt": DT}

        def compute():
            s = solver.solve(self.coefficients, n=self.modes, times=STORED, t_end=self.t_end,
                             dt=DT)
            return {"t": s.t, "spectra": s.spectra, "dt": np.asarray(s.dt)}

        a = cached("kuramoto_sivashinsky1d", solver.SOLVER_VERSION, params, compute).arrays
        return solver.Spectral(a["t"], a["spectra"], self.coefficients, float(a["dt"]))

    def eval_axes(self) -> list[np.ndarray]:
        return [2 * np.pi * np.arange(GRID) / GRID, np.linspace(0.0, self.t_end, 201)]

    def reference(self, x: np.ndarray) -> np.ndarray:
        s = self.spectral()
        axes = self.eval_axes()
        on_grid = x.shape == (GRID * 201, 2) and np.array_equal(
            x, np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2))
        if on_grid:  # stored values: no interpolation
            values = s.grid_values()[:: (STORED - 1) // 200, :: self.modes // GRID]  # (t, x)
            return values.T.reshape(-1, 1)
        return solver.evaluate(s, x[:, 0], x[:, 1])[:, None]

    def constraints(self) -> tuple[Constraint, ...]:
        def pde(f: Field):
            u = f.value[:, 0]
            return (f.d(1)[:, 0] + self.alpha * u * f.d(0)[:, 0] + self.beta * f.d2(0)[:, 0]
                    + self.gamma * along(f, 0, 4)[:, 0])

        def ends(f: Field):
            left = field_at(f, f.x.at[:, 0].set(0.0))
            right = field_at(f, f.x.at[:, 0].set(2 * np.pi))
            return left, right

        # The n-th derivative is of size k^n·u at the dominant wavenumber k = √(β/2γ) ≈ 11:
        # dividing by k^n gives the four periodicity conditions comparable weights.
        k = float(np.sqrt(abs(self.beta) / (2 * self.gamma))) or 1.0

        def periodic(f: Field):
            # u, u_x, u_xx, u_xxx agree at both ends: the four conditions of a fourth-order
            # equation.
            left, right = ends(f)
            return jnp.stack([left.value[:, 0] - right.value[:, 0],
                              (left.d(0)[:, 0] - right.d(0)[:, 0]) / k,
                              (left.d2(0)[:, 0] - right.d2(0)[:, 0]) / k**2,
                              (along(left, 0, 3)[:, 0] - along(right, 0, 3)[:, 0]) / k**3],
                             axis=1)

        def ic(f: Field):
            x = f.x[:, 0]
            return f.value[:, 0] - jnp.cos(x) * (1 + jnp.sin(x))

        return (Constraint("pde", "interior", pde),
                Constraint("periodic", "boundary", periodic),
                Constraint("ic", "initial", ic, self.ic_weight))
