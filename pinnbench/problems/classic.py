"""Classic closed-form benchmarks used by the method papers: heat, multi-scale Poisson, damped
oscillator, and the RoPINN / "failure modes" set (convection, reaction, wave)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import jax.numpy as jnp

from pinnbench.derivatives import Field
from pinnbench.problems.base import ClosedFormProblem, Constraint, field_at
from pinnbench.protocols import ANSATZ, LINEAR
from pinnbench.registry import option, positive, problems


def diffusion_constraints(terms: tuple[tuple[float, tuple[int, ...]], ...], time_axis: int,
                          initial: Callable[[jnp.ndarray], jnp.ndarray]) -> tuple[Constraint, ...]:
    """u_t = Σ κ·(Laplacian over axes) for each (κ, axes) of ``terms``, u = 0 on the spatial
    boundary, u(x, 0) = initial(x): the constraints of the heat problems."""

    def pde(f: Field):
        out = f.d(time_axis)[:, 0]
        for kappa, axes in terms:
            out = out - kappa * f.laplacian_over(axes)[:, 0]
        return out

    def bc(f: Field):
        return f.value[:, 0]

    def ic(f: Field):
        return f.value[:, 0] - initial(f.x)

    return (Constraint("pde", "interior", pde), Constraint("bc", "boundary", bc),
            Constraint("ic", "initial", ic))


def periodic_in_x(f: Field, lo: float, hi: float) -> jnp.ndarray:
    """u(lo, t) - u(hi, t) at the times of the batch (its x coordinates are ignored)."""
    left = field_at(f, f.x.at[:, 0].set(lo))
    right = field_at(f, f.x.at[:, 0].set(hi))
    return left.value[:, 0] - right.value[:, 0]


@problems.register("heat")
@dataclasses.dataclass(frozen=True)
class Heat(ClosedFormProblem):
    """u_t = κ·Δu on [0, 1]^dims × t∈[0, 1], u = 0 on the boundary, u(x, 0) = Π sin(nπx_i).

    Exact solution u = exp(-κ·dims·n²π²·t)·Π sin(nπx_i).
    """

    dims: int = option(1, "spatial dimensions", check=lambda v: v in (1, 2), expect="1 or 2")
    kappa: float = positive("diffusivity", 0.1)
    n: int = positive("mode number", 1)

    capabilities = frozenset({LINEAR, ANSATZ})  # the residuals are affine in u
    time_dependent = True

    @property
    def lower(self) -> tuple[float, ...]:
        return (0.0,) * (self.dims + 1)

    @property
    def upper(self) -> tuple[float, ...]:
        return (1.0,) * (self.dims + 1)

    @property
    def eval_resolution(self) -> int:
        return 101 if self.dims == 1 else 41

    def _initial(self, x, xp):
        return math.prod(xp.sin(self.n * math.pi * x[:, i]) for i in range(self.dims))

    def solution(self, x, xp):
        rate = self.kappa * self.dims * (self.n * math.pi) ** 2
        return (xp.exp(-rate * x[:, -1]) * self._initial(x, xp))[:, None]

    def ansatz(self, x):
        # g: the initial data, which vanishes on the spatial boundary for an integer mode n;
        # D = t * prod 4 x_i (1 - x_i) vanishes at t = 0 and on the boundary.
        space = x[:, : self.dims]
        d = x[:, -1] * jnp.prod(4 * space * (1 - space), axis=1)
        return self._initial(x, jnp)[:, None], d[:, None]

    def constraints(self) -> tuple[Constraint, ...]:
        return diffusion_constraints(((self.kappa, tuple(range(self.dims))),), self.dims,
                                     lambda x: self._initial(x, jnp))


@problems.register("poisson_multiscale")
@dataclasses.dataclass(frozen=True)
class PoissonMultiscale(ClosedFormProblem):
    """∇²u = -(2/n)·Σ_{i=1..n} (2^i π)² sin(2^i πx) sin(2^i πy) on [0, 1]², u = 0 on the boundary.

    Exact solution u = (1/n)·Σ sin(2^i πx) sin(2^i πy) (the multi-scale Laplace problem of
    multilevel FBPINNs, Dolean et al. 2024).
    """

    n: int = option(2, "number of scales (finest frequency 2^n π)",
                    check=lambda v: isinstance(v, int) and 1 <= v <= 8, expect="1..8")

    capabilities = frozenset({LINEAR})  # the residuals are affine in u
    lower = (0.0, 0.0)
    upper = (1.0, 1.0)

    @property
    def eval_resolution(self) -> int:
        # At least 8 points per period of the finest mode.
        return max(101, 2 ** (self.n + 3) + 1)

    def _terms(self, x, xp):
        return [xp.sin(2**i * math.pi * x[:, 0]) * xp.sin(2**i * math.pi * x[:, 1])
                for i in range(1, self.n + 1)]

    def solution(self, x, xp):
        return (sum(self._terms(x, xp)) / self.n)[:, None]

    def source(self, x, xp=jnp):
        terms = self._terms(x, xp)
        return -(2.0 / self.n) * sum((2**i * math.pi) ** 2 * s
                                     for i, s in zip(range(1, self.n + 1), terms, strict=True))

    def constraints(self) -> tuple[Constraint, ...]:
        # Divided by the largest coefficient so the finest scale's residual is O(1).
        scale = 1.0 / (2**self.n * math.pi) ** 2

        def pde(f: Field):
            return scale * (f.laplacian[:, 0] - self.source(f.x))

        def bc(f: Field):
            return f.value[:, 0]

        return (Constraint("pde", "interior", pde), Constraint("bc", "boundary", bc))


@problems.register("poisson1d")
@dataclasses.dataclass(frozen=True)
class Poisson1D(ClosedFormProblem):
    """u'' = -(kπ)²·sin(kπx) on [-1, 1], u(±1) = 0; exact solution u = sin(kπx).

    The smallest PINN test case: one input, one second derivative, two boundary points.
    """

    k: int = option(2, "frequency (multiples of π)", check=lambda v: v >= 1, expect=">= 1")

    capabilities = frozenset({LINEAR, ANSATZ})  # the residuals are affine in u
    lower = (-1.0,)
    upper = (1.0,)
    eval_resolution = 1001

    def solution(self, x, xp):
        return xp.sin(self.k * math.pi * x[:, :1])

    def ansatz(self, x):
        # u(±1) = 0: g = 0, D = 1 - x² (largest 1).
        return jnp.zeros_like(x[:, :1]), 1.0 - x[:, :1] ** 2

    def constraints(self) -> tuple[Constraint, ...]:
        scale = 1.0 / (self.k * math.pi) ** 2  # residual O(1) for any k

        def pde(f: Field):
            exact = self.solution(f.x, jnp)[:, 0]
            return scale * (f.d2(0)[:, 0] + (self.k * math.pi) ** 2 * exact)

        def bc(f: Field):
            return f.value[:, 0]

        return (Constraint("pde", "interior", pde), Constraint("bc", "boundary", bc))


@problems.register("oscillator")
@dataclasses.dataclass(frozen=True)
class Oscillator(ClosedFormProblem):
    """u'' + 2δ·u' + ω0²·u = 0 on t∈[0, 1], u(0) = 1, u'(0) = 0 (under-damped, ω0 > δ).

    Exact solution u = e^{-δt}(cos ωt + (δ/ω) sin ωt), ω = sqrt(ω0² - δ²) — the FBPINN harmonic
    oscillator; ω0 = 20 is the easy case, 80 the multi-frequency one.
    """

    delta: float = option(2.0, "damping rate δ", check=lambda v: v >= 0, expect=">= 0")
    omega0: float = positive("natural frequency ω0 (> δ)", 20.0)

    capabilities = frozenset({LINEAR, ANSATZ})  # the residuals are affine in u
    lower = (0.0,)
    upper = (1.0,)
    time_dependent = True
    eval_resolution = 1001

    def __post_init__(self) -> None:
        if self.omega0 <= self.delta:
            raise ValueError(f"oscillator: omega0 = {self.omega0} must exceed delta = "
                             f"{self.delta} (the closed form is the under-damped one)")

    def solution(self, x, xp):
        t = x[:, 0]
        w = math.sqrt(self.omega0**2 - self.delta**2)
        return (xp.exp(-self.delta * t) * (xp.cos(w * t) + self.delta / w * xp.sin(w * t)))[:, None]

    def ansatz(self, x):
        # u(0) = 1 and u'(0) = 0: g = 1 and D = t², whose value and slope vanish at t = 0.
        return jnp.ones_like(x[:, :1]), x[:, :1] ** 2

    def constraints(self) -> tuple[Constraint, ...]:
        # Divided by ω0² so that the ODE residual and the initial conditions are of one scale.
        s = 1.0 / self.omega0**2

        def pde(f: Field):
            u = f.value[:, 0]
            return s * (f.d2(0)[:, 0] + 2 * self.delta * f.d(0)[:, 0] + self.omega0**2 * u)

        def ic(f: Field):
            return f.value[:, 0] - 1.0

        def ic_dt(f: Field):
            return f.d(0)[:, 0] / self.omega0

        return (Constraint("pde", "interior", pde), Constraint("ic", "initial", ic),
                Constraint("ic_dt", "initial", ic_dt))


@problems.register("convection")
@dataclasses.dataclass(frozen=True)
class Convection(ClosedFormProblem):
    """u_t + β·u_x = 0 on x∈[0, 2π], t∈[0, 1], u(x, 0) = sin x, periodic in x.

    Exact solution u = sin(x - βt) (Krishnapriyan et al. 2021; RoPINN uses β = 50, 101² grid).
    """

    beta: float = option(50.0, "convection speed β")

    capabilities = frozenset({LINEAR})  # the residuals are affine in u
    lower = (0.0, 0.0)
    upper = (2 * math.pi, 1.0)
    time_dependent = True

    def solution(self, x, xp):
        return xp.sin(x[:, 0] - self.beta * x[:, 1])[:, None]

    def constraints(self) -> tuple[Constraint, ...]:
        def pde(f: Field):
            return f.d(1)[:, 0] + self.beta * f.d(0)[:, 0]

        def periodic(f: Field):
            return periodic_in_x(f, self.lower[0], self.upper[0])

        def ic(f: Field):
            return f.value[:, 0] - jnp.sin(f.x[:, 0])

        return (Constraint("pde", "interior", pde), Constraint("periodic", "boundary", periodic),
                Constraint("ic", "initial", ic))


@problems.register("reaction")
@dataclasses.dataclass(frozen=True)
class Reaction(ClosedFormProblem):
    """u_t - ρ·u(1 - u) = 0 on x∈[0, 2π], t∈[0, 1], u(x, 0) = h(x) = exp(-(x - π)²/(2(π/4)²)),
    periodic in x.

    Exact solution u = h·e^{ρt} / (h·e^{ρt} + 1 - h) (Krishnapriyan et al. 2021; RoPINN: ρ = 5).
    """

    rho: float = positive("reaction rate ρ", 5.0)

    lower = (0.0, 0.0)
    upper = (2 * math.pi, 1.0)
    time_dependent = True

    @staticmethod
    def _h(x, xp):
        return xp.exp(-((x - math.pi) ** 2) / (2 * (math.pi / 4) ** 2))

    def solution(self, x, xp):
        h = self._h(x[:, 0], xp)
        g = h * xp.exp(self.rho * x[:, 1])
        return (g / (g + 1.0 - h))[:, None]

    def constraints(self) -> tuple[Constraint, ...]:
        def pde(f: Field):
            u = f.value[:, 0]
            return f.d(1)[:, 0] - self.rho * u * (1.0 - u)

        def periodic(f: Field):
            return periodic_in_x(f, self.lower[0], self.upper[0])

        def ic(f: Field):
            return f.value[:, 0] - self._h(f.x[:, 0], jnp)

        return (Constraint("pde", "interior", pde), Constraint("periodic", "boundary", periodic),
                Constraint("ic", "initial", ic))


@problems.register("wave")
@dataclasses.dataclass(frozen=True)
class Wave(ClosedFormProblem):
    """u_tt - c²·u_xx = 0 on x∈[0, 1], t∈[0, 1]; u(0, t) = u(1, t) = 0;
    u(x, 0) = sin(πx) + ½ sin(βπx), u_t(x, 0) = 0.

    Exact solution u = sin(πx) cos(cπt) + ½ sin(βπx) cos(cβπt) (PINNsFormer / RoPINN: c = 2, β = 3).
    """

    c: float = positive("wave speed", 2.0)
    beta: float = positive("frequency of the second mode (multiples of π)", 3.0)

    capabilities = frozenset({LINEAR, ANSATZ})  # the residuals are affine in u
    lower = (0.0, 0.0)
    upper = (1.0, 1.0)
    time_dependent = True

    def _initial(self, x, xp):
        return xp.sin(math.pi * x) + 0.5 * xp.sin(self.beta * math.pi * x)

    def solution(self, x, xp):
        xs, t = x[:, 0], x[:, 1]
        c, b = self.c, self.beta
        return (xp.sin(math.pi * xs) * xp.cos(c * math.pi * t)
                + 0.5 * xp.sin(b * math.pi * xs) * xp.cos(c * b * math.pi * t))[:, None]

    def ansatz(self, x):
        # g: the initial displacement (time-independent, so u_t(x, 0) = D_t N + D N_t = 0 with
        # D = t² · 4x(1 - x)); it vanishes at x = 0, 1 for an integer beta.
        if self.beta != int(self.beta):
            raise ValueError(f"wave: the ansatz needs an integer beta (the initial data must "
                             f"vanish at x = 0, 1); got {self.beta}")
        xs, t = x[:, 0], x[:, 1]
        return self._initial(xs, jnp)[:, None], (t**2 * 4 * xs * (1 - xs))[:, None]

    def constraints(self) -> tuple[Constraint, ...]:
        def pde(f: Field):
            return f.d2(1)[:, 0] - self.c**2 * f.d2(0)[:, 0]

        def bc(f: Field):
            return f.value[:, 0]

        def ic(f: Field):
            return f.value[:, 0] - self._initial(f.x[:, 0], jnp)

        def ic_dt(f: Field):
            return f.d(1)[:, 0]

        return (Constraint("pde", "interior", pde), Constraint("bc", "boundary", bc),
                Constraint("ic", "initial", ic), Constraint("ic_dt", "initial", ic_dt))
