"""Allen-Cahn: the 1D benchmark with a spectral reference, and a 2D manufactured problem."""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp
import numpy as np

from pinnbench.derivatives import Field
from pinnbench.problems.base import BoxProblem, ClosedFormProblem, Constraint, field_at
from pinnbench.problems.classic import periodic_in_x
from pinnbench.references import allen_cahn as solver
from pinnbench.references.cache import cached
from pinnbench.registry import option, positive, problems


@problems.register("allen_cahn1d")
@dataclasses.dataclass(frozen=True)
class AllenCahn1D(BoxProblem):
    """u_t - ε·u_xx + 5u³ - 5u = 0 on x∈[-1, 1], t∈[0, 1], u(x, 0) = x²·cos(πx), periodic
    (u and u_x), ε = 1e-4 (Raissi et al. 2019).

    Reference: Fourier pseudo-spectral + ETDRK4 (Kassam & Trefethen 2005), ``modes`` Fourier modes,
    stored at 201 times on the 512-point grid x = -1 + 2j/512 (the evaluation grid). Off the grid
    it is evaluated by Fourier interpolation, integrating exactly to the requested time.
    The initial data has a derivative jump at x = ±1 (u_x(±1, 0) = ∓2), which limits convergence
    in the number of modes to first order there at early times; see docs/problems.md.
    """

    eps: float = positive("diffusion coefficient ε", 1e-4)
    modes: int = option(2048, "Fourier modes of the reference solve (a multiple of 512)",
                        check=lambda v: isinstance(v, int) and v >= 512 and v % 512 == 0,
                        expect="a multiple of 512")
    ic_weight: float = positive("weight of the initial-condition term", 1.0)

    lower = (-1.0, 0.0)
    upper = (1.0, 1.0)
    time_dependent = True

    def spectral(self) -> solver.Spectral:
        params = {"eps": self.eps, "modes": self.modes, "times": 201, "dt": 2.5e-4}

        def compute():
            s = solver.solve(n=self.modes, times=201, eps=self.eps, dt=2.5e-4)
            return {"t": s.t, "spectra": s.spectra, "dt": np.asarray(s.dt)}

        a = cached("allen_cahn1d", solver.SOLVER_VERSION, params, compute).arrays
        return solver.Spectral(a["t"], a["spectra"], self.eps, float(a["dt"]))

    def eval_axes(self) -> list[np.ndarray]:
        return [-1.0 + 2.0 * np.arange(512) / 512, np.linspace(0.0, 1.0, 201)]

    def reference(self, x: np.ndarray) -> np.ndarray:
        s = self.spectral()
        axes = self.eval_axes()
        on_grid = x.shape == (512 * 201, 2) and np.array_equal(
            x, np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2))
        if on_grid:  # stored values, subsampled from the fine solve: no interpolation at all
            values = s.grid_values()[:, :: self.modes // 512]  # (t, x)
            return values.T.reshape(-1, 1)
        out = solver.evaluate(s, x[:, 0], x[:, 1])
        # At t = 0 the data is known exactly; its Fourier interpolant would carry Gibbs
        # oscillations from the kink at x = ±1.
        start = x[:, 1] == 0
        out[start] = solver.initial(x[start, 0])
        return out[:, None]

    def constraints(self) -> tuple[Constraint, ...]:
        def pde(f: Field):
            u = f.value[:, 0]
            return f.d(1)[:, 0] - self.eps * f.d2(0)[:, 0] + 5 * u**3 - 5 * u

        def periodic(f: Field):
            return periodic_in_x(f, -1.0, 1.0)

        def periodic_dx(f: Field):
            left = f.x.at[:, 0].set(-1.0)
            right = f.x.at[:, 0].set(1.0)
            return field_at(f, left).d(0)[:, 0] - field_at(f, right).d(0)[:, 0]

        def ic(f: Field):
            x = f.x[:, 0]
            return f.value[:, 0] - x**2 * jnp.cos(math.pi * x)

        return (Constraint("pde", "interior", pde),
                Constraint("periodic", "boundary", periodic),
                Constraint("periodic_dx", "boundary", periodic_dx),
                Constraint("ic", "initial", ic, self.ic_weight))


@problems.register("allen_cahn2d")
@dataclasses.dataclass(frozen=True)
class AllenCahn2D(ClosedFormProblem):
    """Steady Allen-Cahn ε²·Δu + u - u³ = s(x, y) on [-1, 1]², Dirichlet data from the exact
    solution, a circular diffuse interface of width δ

        u*(x, y) = tanh((r0² - x² - y²) / δ),   r0 = 0.5, δ = 0.1,

    with s = ε²·Δu* + u* - u*³ in closed form: writing φ for the tanh argument,
    Δu* = (1 - u*²)·(Δφ - 2u*·|∇φ|²), Δφ = -4/δ, |∇φ|² = 4(x² + y²)/δ².

    ε = 0.5 makes the problem well posed: the energy ∫ ε²/2·|∇u|² + (u² - 1)²/4 + s·u is strictly
    convex on H¹₀ when ε²·λ₁ > 1, λ₁ = π²/2 the first Dirichlet eigenvalue of -Δ on the square
    (ε > 0.4502), so u* is the only solution. With a small ε the homogeneous equation is bistable:
    at ε = 0.1, δ = √2·ε (the former definition) u* is an almost exact unforced solution, s is at
    most 0.28, and u ≡ -1 nearly solves the problem too — networks settled there (relative L2
    0.84 for every sampler). Here s reaches ~10 at the interface, so the trivial state carries a
    loss of order 1 and an error of 0.84. The seed summary of the GLF paper (its Allen-Cahn 2D
    comparison) does not state the paper's definition; this one is ours.
    """

    eps: float = positive("diffusion parameter ε (unique solution for ε > 0.4502)", 0.5)
    width: float = positive("interface width δ", 0.1)
    r0: float = positive("interface radius", 0.5)

    lower = (-1.0, -1.0)
    upper = (1.0, 1.0)

    def solution(self, x, xp):
        phi = (self.r0**2 - x[:, 0] ** 2 - x[:, 1] ** 2) / self.width
        return xp.tanh(phi)[:, None]

    def source(self, x):
        u = self.solution(x, jnp)[:, 0]
        r2 = x[:, 0] ** 2 + x[:, 1] ** 2
        lap = (1 - u**2) * (-4 / self.width - 2 * u * 4 * r2 / self.width**2)
        return self.eps**2 * lap + u - u**3

    def constraints(self) -> tuple[Constraint, ...]:
        def pde(f: Field):
            u = f.value[:, 0]
            return self.eps**2 * f.laplacian[:, 0] + u - u**3 - self.source(f.x)

        def bc(f: Field):
            return f.value[:, 0] - self.solution(f.x, jnp)[:, 0]

        return (Constraint("pde", "interior", pde), Constraint("bc", "boundary", bc))
