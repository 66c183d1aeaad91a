"""Problems of PINNacle (Hao et al., NeurIPS 2024; definitions in its repository, src/pde/): the
domains, coefficients, forcing and boundary data are PINNacle's, so errors are comparable.

Residuals are PINNacle's unscaled ones (its loss is the plain sum of their mean squares).
References: quadratic finite elements on curved meshes (scikit-fem, pinnbench.references.fem)
where there is no closed form; PINNacle's own closed forms for PoissonND and HeatND.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import jax.numpy as jnp
import numpy as np

from pinnbench.derivatives import Field
from pinnbench.geometry import Ball, Disk, Geometry, Rectangle
from pinnbench.problems.base import ClosedFormProblem, Constraint
from pinnbench.problems.classic import diffusion_constraints
from pinnbench.problems.geometric import GeometryProblem, constant, outside_as_nan
from pinnbench.protocols import LINEAR
from pinnbench.references import fem
from pinnbench.references.cache import cached
from pinnbench.registry import option, positive, problems

FEM_VERSION = "1"


def square_minus_disks(lower: tuple[float, float], upper: tuple[float, float],
                       disks: list[tuple[Any, ...]]) -> Geometry:
    """The rectangle (part ``outer``) minus disks (cx, cy, r) or (cx, cy, r, part name; default
    ``holes``)."""
    g: Geometry = Rectangle(lower, upper, "outer")
    for cx, cy, r, *name in disks:
        g = g - Disk((cx, cy), r, name[0] if name else "holes")
    return g


class FemReference(GeometryProblem):
    """A problem whose reference is a P2 finite-element solution (pinnbench.references.fem) on a
    mesh of size ``mesh_h`` times the box's side, cached on disk. Subclasses define
    ``solve(h) -> arrays`` and, if the arrays are not one steady field ``u``, ``field``."""

    capabilities = frozenset({LINEAR})  # every residual is affine in u
    mesh_h: float = 0.01
    refined: tuple[str, ...] = ("pde",)  # constraints verify checks by mesh refinement

    def __post_init__(self) -> None:
        self.geometry  # noqa: B018 - builds and checks the domain now (a suite error, not later)

    def solve(self, h: float) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def field(self, arrays: dict[str, np.ndarray], mesh: Any, basis: Any,
              x: np.ndarray) -> np.ndarray:
        """The solution at points x (inside the domain) from a solve's arrays."""
        return fem.evaluate(mesh, arrays["u"], x, basis=basis)

    def solver_settings(self) -> dict[str, float]:
        """What else the solution depends on (part of the cache key)."""
        return {}

    def side(self) -> float:
        lo, hi = self.geometry.bounds()
        return float(hi[0] - lo[0])

    def reference_arrays(self) -> dict[str, np.ndarray]:
        params = {**dataclasses.asdict(self), "h": self.mesh_h, **self.solver_settings()}
        return cached(f"fem_{type(self).registered_name}", FEM_VERSION, params,
                      lambda: self.solve(self.mesh_h)).arrays

    @functools.cached_property
    def _fem(self) -> tuple[dict[str, np.ndarray], Any, Any]:
        # The mesh and basis, built once per problem: difference stencils call reference() often.
        arrays = self.reference_arrays()
        mesh = fem.mesh_from(arrays)
        return arrays, mesh, fem.p2_basis(mesh)

    def reference(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        values = np.full(len(x), np.nan)
        ok = self.inside(x)
        values[ok] = self.field(*self._fem, x[ok])
        return outside_as_nan(self, x, values)

    def mesh_refinement(self) -> dict[str, tuple[float, float]]:
        """For ``pinnbench verify``: constraints whose check is the solution's convergence under
        mesh refinement, relative L2 differences on the evaluation points between the meshes 4h
        and 2h, and 2h and h (the reference). At order p the second is 2^p - 1 times the
        reference's own error."""
        x = self.eval_points()
        fine = self.reference(x)[:, 0]
        values = []
        for m in (4, 2):
            arrays = self.solve(m * self.mesh_h)
            mesh = fem.mesh_from(arrays)
            values.append(self.field(arrays, mesh, fem.p2_basis(mesh), x))
        ok = np.isfinite(fine) & np.isfinite(values[0]) & np.isfinite(values[1])
        norm = float(np.linalg.norm(fine[ok]))
        rel = [float(np.linalg.norm(a[ok] - b[ok])) / norm
               for a, b in ((values[0], values[1]), (values[1], fine))]
        return {name: (rel[0], rel[1]) for name in self.refined}


class FemProblem(FemReference):
    """-Δu + c·u = f on a rectangle minus disks, u constant on the rectangle's sides (part
    ``outer``) and on the circles (part ``holes``)."""

    screening: float = 0.0              # c
    outer_value: float = 0.0
    hole_value: float = 0.0

    def disks(self) -> list[tuple[float, float, float]]:
        raise NotImplementedError

    def box(self) -> tuple[tuple[float, float], tuple[float, float]]:
        raise NotImplementedError

    def source(self, x: Any, xp: Any = jnp) -> Any:
        """f at x = (x, y) (arrays of one shape)."""
        return 0 * x[0]

    def domain(self) -> Geometry:
        return square_minus_disks(*self.box(), self.disks())

    def solve(self, h: float) -> dict[str, np.ndarray]:
        """The P2 solution on a mesh of size h (relative to the box's side)."""
        mesh = fem.rectangle_minus_disks(*self.box(), [(*d, "holes") for d in self.disks()],
                                         h * self.side())
        u = fem.solve_screened_poisson(mesh, self.screening, lambda x: self.source(x, np),
                                       {"outer": lambda x: self.outer_value + 0 * x[0],
                                        "holes": lambda x: self.hole_value + 0 * x[0]})
        return {**fem.mesh_arrays(mesh), "u": u}

    def constraints(self) -> tuple[Constraint, ...]:
        def pde(f: Field):
            return (-f.laplacian[:, 0] + self.screening * f.value[:, 0]
                    - self.source((f.x[:, 0], f.x[:, 1])))

        return (Constraint("pde", "interior", pde),
                Constraint("bc_outer", "boundary",
                           self.on_part("outer", self.dirichlet(constant(self.outer_value)))),
                Constraint("bc_holes", "boundary",
                           self.on_part("holes", self.dirichlet(constant(self.hole_value)))))


@problems.register("poisson2d_classic")
@dataclasses.dataclass(frozen=True)
class Poisson2DClassic(FemProblem):
    """PINNacle's Poisson2D_Classic: Δu = 0 on the square [-s/2, s/2]² minus four disks of radius
    r·s at (±0.3s, ±0.3s); u = 1 on the square's sides (part ``outer``), u = 0 on the circles
    (part ``holes``). PINNacle: s = 1, r = 0.1."""

    scale: float = positive("side s of the square", 1.0)
    radius: float = option(0.1, "hole radius as a fraction of the side",
                           check=lambda v: 0 < v < 0.2,
                           expect="in (0, 0.2): the holes stay inside the square, apart")
    outer_value = 1.0

    def box(self):
        s = self.scale / 2
        return (-s, -s), (s, s)

    def disks(self):
        c, r = 0.3 * self.scale, self.radius * self.scale
        return [(c, c, r), (-c, c, r), (c, -c, r), (-c, -c, r)]


@problems.register("poisson_boltzmann2d")
@dataclasses.dataclass(frozen=True)
class PoissonBoltzmann2D(FemProblem):
    """PINNacle's PoissonBoltzmann2D (Helmholtz-like): -Δu + k²u = f on [-1, 1]² minus disks
    (0.5, 0.5, 0.2), (0.4, -0.4, 0.4), (-0.2, -0.7, 0.1), (-0.6, 0.5, 0.3);
    f = A(μ1² + x² + μ2² + y²)·sin(μ1πx)·sin(μ2πy); u = 0.2 on the square (``outer``), u = 1 on
    the circles (``holes``). PINNacle: k = 8, A = 10, μ = (1, 4)."""

    k: float = positive("screening coefficient k", 8.0)
    amplitude: float = option(10.0, "forcing amplitude A")
    mu1: float = option(1.0, "forcing frequency μ1 in x (multiples of π)")
    mu2: float = option(4.0, "forcing frequency μ2 in y (multiples of π)")
    mesh_h = 0.005      # of the side 2: the same 0.01 as Poisson2D_Classic's
    outer_value = 0.2
    hole_value = 1.0

    @property
    def screening(self) -> float:
        return self.k**2

    def box(self):
        return (-1.0, -1.0), (1.0, 1.0)

    def disks(self):
        return [(0.5, 0.5, 0.2), (0.4, -0.4, 0.4), (-0.2, -0.7, 0.1), (-0.6, 0.5, 0.3)]

    def source(self, x, xp=jnp):
        a, m1, m2 = self.amplitude, self.mu1, self.mu2
        return (a * (m1**2 + x[0] ** 2 + m2**2 + x[1] ** 2)
                * xp.sin(m1 * math.pi * x[0]) * xp.sin(m2 * math.pi * x[1]))


@problems.register("poisson_nd")
@dataclasses.dataclass(frozen=True)
class PoissonND(ClosedFormProblem):
    """PINNacle's PoissonND: Δu + (π²/4)·Σ sin(πx_i/2) = 0 on [0, L]^d, u = Σ sin(πx_i/2) on
    the boundary (its exact solution). PINNacle: d = 5, L = 1. Evaluated on a tensor grid of
    about 20,000 points up to d = GRID_DIMS, beyond on 10,000 fixed pseudo-random points."""

    dims: int = option(5, "dimension d", check=lambda v: isinstance(v, int) and 1 <= v <= 100,
                       expect="1..100")
    length: float = positive("side L of the cube", 1.0)

    capabilities = frozenset({LINEAR})
    GRID_DIMS = 10  # 3 points an axis at d = 10 is already 59,049 points

    @property
    def lower(self) -> tuple[float, ...]:
        return (0.0,) * self.dims

    @property
    def upper(self) -> tuple[float, ...]:
        return (self.length,) * self.dims

    @property
    def eval_resolution(self) -> int:
        return max(3, round(20_000 ** (1 / self.dims)))   # about 20,000 grid points

    def eval_axes(self) -> list[np.ndarray] | None:
        return super().eval_axes() if self.dims <= self.GRID_DIMS else None

    def eval_points(self) -> np.ndarray:
        if self.dims <= self.GRID_DIMS:
            return super().eval_points()
        return np.random.default_rng(20242).random((10_000, self.dims)) * self.length

    def solution(self, x, xp):
        return xp.sum(xp.sin(math.pi / 2 * x), axis=1, keepdims=True)

    def constraints(self) -> tuple[Constraint, ...]:
        def pde(f: Field):
            return f.laplacian[:, 0] + math.pi**2 / 4 * jnp.sum(jnp.sin(math.pi / 2 * f.x), axis=1)

        def bc(f: Field):
            return f.value[:, 0] - self.solution(f.x, jnp)[:, 0]

        return (Constraint("pde", "interior", pde), Constraint("bc", "boundary", bc))


@problems.register("heat_nd")
@dataclasses.dataclass(frozen=True)
class HeatND(GeometryProblem, ClosedFormProblem):
    """PINNacle's HeatND: u_t = Δu/d - (|x|²/d)·exp(|x|²/2 + t) on the unit ball of R^d times
    t ∈ [0, T]; du/dn = u on the sphere (a Neumann condition with PINNacle's data g = u),
    u(x, 0) = exp(|x|²/2). Exact solution u = exp(|x|²/2 + t) (du/dn = |x|·u = u on the sphere).
    PINNacle: d = 5, T = 1."""

    # Up to d = 10 the evaluation set is Halton points of the bounding box kept inside the ball;
    # above, where the ball fills less than 1e-3 of its box, seeded uniform points of the ball
    # (Geometry.eval_points).
    dims: int = option(5, "spatial dimension d", check=lambda v: isinstance(v, int) and
                       2 <= v <= 100, expect="2..100")
    t_end: float = positive("final time T", 1.0)

    capabilities = frozenset({LINEAR})
    time_dependent = True
    eval_count = 2000

    @property
    def time_span(self) -> tuple[float, float]:
        return (0.0, self.t_end)

    def domain(self) -> Geometry:
        return Ball((0.0,) * self.dims, 1.0, "sphere")

    def solution(self, x, xp):
        r2 = xp.sum(x[:, :-1] ** 2, axis=1, keepdims=True)
        return xp.exp(r2 / 2 + x[:, -1:])

    def constraints(self) -> tuple[Constraint, ...]:
        d = self.dims

        def pde(f: Field):
            r2 = jnp.sum(f.x[:, :d] ** 2, axis=1)
            source = -r2 / d * jnp.exp(r2 / 2 + f.x[:, d])
            return f.laplacian_over(tuple(range(d)))[:, 0] / d + source - f.d(d)[:, 0]

        def flux(x):
            return self.solution(x, jnp)[:, 0]

        def ic(f: Field):
            return f.value[:, 0] - self.solution(f.x, jnp)[:, 0]

        return (Constraint("pde", "interior", pde),
                Constraint("bc", "boundary", self.neumann(flux)),
                Constraint("ic", "initial", ic))


@problems.register("heat2d_multiscale")
@dataclasses.dataclass(frozen=True)
class Heat2DMultiscale(ClosedFormProblem):
    """PINNacle's Heat2D_Multiscale: u_t = u_xx/(sπ)² + u_yy/π² on [0,1]² × [0,5], u = 0 on the
    boundary, u(x, y, 0) = sin(mπx)·sin(πy); PINNacle: m = 20, s = 500. Two scales: 20 half
    waves across x, one across y, with diffusivities 2.5e5 apart. PINNacle ships a numerical
    reference file; the problem separates, so the reference here is the exact solution
    u = exp(-(m²/s² + 1)·t)·sin(mπx)·sin(πy)."""

    mode_x: int = positive("m: half waves across x in the initial data", 20)
    scale_x: float = positive("s: the x diffusivity is 1/(sπ)²", 500.0)
    t_end: float = positive("final time", 5.0)

    capabilities = frozenset({LINEAR})
    time_dependent = True

    @property
    def lower(self) -> tuple[float, ...]:
        return (0.0, 0.0, 0.0)

    @property
    def upper(self) -> tuple[float, ...]:
        return (1.0, 1.0, self.t_end)

    def eval_axes(self) -> list[np.ndarray]:
        # 10 points per half wave across x, where the solution varies fastest
        return [np.linspace(0.0, 1.0, 10 * self.mode_x + 1), np.linspace(0.0, 1.0, 26),
                np.linspace(0.0, self.t_end, 26)]

    @property
    def rate(self) -> float:
        return (self.mode_x / self.scale_x) ** 2 + 1.0

    def _initial(self, x, xp):
        return xp.sin(self.mode_x * math.pi * x[:, 0]) * xp.sin(math.pi * x[:, 1])

    def solution(self, x, xp):
        return (xp.exp(-self.rate * x[:, 2]) * self._initial(x, xp))[:, None]

    def constraints(self) -> tuple[Constraint, ...]:
        kx, ky = 1.0 / (self.scale_x * math.pi) ** 2, 1.0 / math.pi ** 2
        return diffusion_constraints(((kx, (0,)), (ky, (1,))), 2,
                                     lambda x: self._initial(x, jnp))


BIG_CENTRES = ((-4, -3), (4, -3), (-4, 3), (4, 3), (-4, -9), (4, -9), (-4, 9), (4, 9), (0, 0),
               (0, 6), (0, -6))
SMALL_CENTRES = ((-3.2, -6), (-3.2, 6), (3.2, -6), (3.2, 6), (-3.2, 0), (3.2, 0))


@problems.register("heat2d_complex")
@dataclasses.dataclass(frozen=True)
class Heat2DComplexGeometry(FemReference):
    """PINNacle's Heat2D_ComplexGeometry (HeatComplex): u_t = Δu on [-8, 8] x [-12, 12] minus 11
    disks of radius 1 (part ``big``) and 6 of radius 0.4 (part ``small``), t ∈ [0, 3], u = 0 at
    t = 0, and Robin conditions ∂u/∂n = g - u (deepxde's RobinBC, outward normal) with g = 5 on
    the big circles, 1 on the small ones, 0.1 on the rectangle (part ``outer``). Reference: P2 on
    an isoparametric mesh, BDF2 in time, stored every 0.1 with u_t, cubic Hermite in between."""

    time_dependent = True
    time_span = (0.0, 3.0)
    # `pinnbench verify` checks this reference by refinement: the change from mesh 2h to h is
    # 5.7e-4 at observed order 2.8 (time step refined with the mesh), which puts the reference's
    # own error near 5.7e-4 / (2^2.8 - 1) = 1.0e-4; h = 0.1 would take 40 s instead of 5 s.
    reference_tolerance = 1e-3
    mesh_h = 0.2 / 16           # 0.2 of the side 16
    time_step = 0.0125          # at mesh_h, refined with it (0.1 stays a multiple at 4h)
    data = {"outer": 0.1, "big": 5.0, "small": 1.0}
    refined = ("pde", "bc_outer", "bc_big", "bc_small")

    def domain(self) -> Geometry:
        return square_minus_disks((-8.0, -12.0), (8.0, 12.0), self.disks())

    def solver_settings(self) -> dict[str, float]:
        return {"dt": self.time_step}

    def disks(self) -> list[tuple[float, float, float, str]]:
        return ([(x, y, 1.0, "big") for x, y in BIG_CENTRES]
                + [(x, y, 0.4, "small") for x, y in SMALL_CENTRES])

    def solve(self, h: float) -> dict[str, np.ndarray]:
        mesh = fem.rectangle_minus_disks((-8.0, -12.0), (8.0, 12.0), self.disks(),
                                         h * self.side())
        dt = self.time_step * h / self.mesh_h
        arrays = fem.robin_heat(mesh, {part: (1.0, g) for part, g in self.data.items()},
                                self.time_span[1], dt, 0.1)
        return {**fem.mesh_arrays(mesh), **arrays}

    def field(self, arrays, mesh, basis, x):
        return fem.evaluate_in_time(arrays, mesh, basis, x)

    def constraints(self) -> tuple[Constraint, ...]:
        def pde(f: Field):
            return f.d(2)[:, 0] - f.laplacian_over((0, 1))[:, 0]

        def ic(f: Field):
            return f.value[:, 0]

        bcs = tuple(Constraint(f"bc_{part}", "boundary",
                               self.on_part(part, self.robin(1.0, 1.0, constant(g), part)))
                    for part, g in self.data.items())
        return (Constraint("pde", "interior", pde), *bcs, Constraint("ic", "initial", ic))
