"""Incompressible Navier-Stokes in 2D: fields (u, v, p); errors are reported per field.

Pressure is fixed only up to a constant by the equations, and a constant offset would count as
error in ``rel_l2.p``; every problem therefore pins it with a ``gauge`` constraint at one point
(a single residual, so it weighs like one more loss term, not like a boundary).
"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp
import numpy as np

from pinnbench.derivatives import Field
from pinnbench.problems.base import BoxProblem, ClosedFormProblem, Constraint, field_at
from pinnbench.registry import option, positive, problems

FIELDS = ("u", "v", "p")


def momentum_continuity(f: Field, re: float, time: int | None = None) -> jnp.ndarray:
    """(N, 3) residuals: x- and y-momentum (u_t if ``time`` is the time axis) and continuity."""
    u, v = f.value[:, 0], f.value[:, 1]
    ux, uy = f.d(0)[:, 0], f.d(1)[:, 0]
    vx, vy = f.d(0)[:, 1], f.d(1)[:, 1]
    px, py = f.d(0)[:, 2], f.d(1)[:, 2]
    lap = f.laplacian_over((0, 1))
    mx = u * ux + v * uy + px - lap[:, 0] / re
    my = u * vx + v * vy + py - lap[:, 1] / re
    if time is not None:
        mx = mx + f.d(time)[:, 0]
        my = my + f.d(time)[:, 1]
    return jnp.stack([mx, my, ux + vy], axis=1)


def pressure_at(f: Field, point: tuple[float, float]) -> jnp.ndarray:
    """p at a fixed spatial point, at the times of the batch (or once, for a steady problem)."""
    x = f.x[:1] if f.x.shape[1] == 2 else f.x
    x = x.at[:, 0].set(point[0]).at[:, 1].set(point[1])
    return field_at(f, x).value[:, 2]


@problems.register("kovasznay")
@dataclasses.dataclass(frozen=True)
class Kovasznay(ClosedFormProblem):
    """Steady Navier-Stokes on [-0.5, 1] × [-0.5, 1.5] with Kovasznay's (1948) exact solution:

    u = 1 - e^{λx} cos 2πy,  v = λ/(2π) e^{λx} sin 2πy,  p = ½(1 - e^{2λx}),
    λ = Re/2 - sqrt(Re²/4 + 4π²).  Velocity is prescribed on the boundary; p is pinned at (0, 0).
    """

    re: float = positive("Reynolds number (20 and 40 are the usual cases)", 20.0)

    lower = (-0.5, -0.5)
    upper = (1.0, 1.5)
    outputs = FIELDS
    gauge_point = (0.0, 0.0)

    @property
    def lam(self) -> float:
        return self.re / 2 - math.sqrt(self.re**2 / 4 + 4 * math.pi**2)

    def solution(self, x, xp):
        lam = self.lam
        e = xp.exp(lam * x[:, 0])
        y = 2 * math.pi * x[:, 1]
        return xp.stack([1 - e * xp.cos(y), lam / (2 * math.pi) * e * xp.sin(y),
                         0.5 * (1 - e * e)], axis=1)

    def constraints(self) -> tuple[Constraint, ...]:
        p0 = float(self.solution(np.array([self.gauge_point]), np)[0, 2])

        def pde(f: Field):
            return momentum_continuity(f, self.re)

        def bc(f: Field):
            return f.value[:, :2] - self.solution(f.x, jnp)[:, :2]

        def gauge(f: Field):
            return pressure_at(f, self.gauge_point) - p0

        return (Constraint("pde", "interior", pde), Constraint("bc", "boundary", bc),
                Constraint("gauge", "boundary", gauge))


@problems.register("taylor_green")
@dataclasses.dataclass(frozen=True)
class TaylorGreen(ClosedFormProblem):
    """2D decaying Taylor-Green vortex on [0, 2π]² × t∈[0, T], ν = 1/Re:

    u = -cos x sin y e^{-2νt},  v = sin x cos y e^{-2νt},  p = -¼(cos 2x + cos 2y) e^{-4νt}.
    Velocity is prescribed on the boundary and at t = 0; p is pinned along (π, π, t).
    """

    re: float = positive("Reynolds number 1/ν", 10.0)
    t_end: float = positive("final time T", 1.0)

    lower = (0.0, 0.0, 0.0)
    outputs = FIELDS
    time_dependent = True
    eval_resolution = 41
    gauge_point = (math.pi, math.pi)

    @property
    def upper(self) -> tuple[float, ...]:
        return (2 * math.pi, 2 * math.pi, self.t_end)

    def solution(self, x, xp):
        nu = 1.0 / self.re
        a, b, t = x[:, 0], x[:, 1], x[:, 2]
        decay = xp.exp(-2 * nu * t)
        return xp.stack([-xp.cos(a) * xp.sin(b) * decay, xp.sin(a) * xp.cos(b) * decay,
                         -0.25 * (xp.cos(2 * a) + xp.cos(2 * b)) * decay**2], axis=1)

    def constraints(self) -> tuple[Constraint, ...]:
        def pde(f: Field):
            return momentum_continuity(f, self.re, time=2)

        def velocity(f: Field):
            return f.value[:, :2] - self.solution(f.x, jnp)[:, :2]

        def gauge(f: Field):
            x = f.x.at[:, 0].set(self.gauge_point[0]).at[:, 1].set(self.gauge_point[1])
            return pressure_at(f, self.gauge_point) - self.solution(x, jnp)[:, 2]

        return (Constraint("pde", "interior", pde), Constraint("bc", "boundary", velocity),
                Constraint("ic", "initial", velocity), Constraint("gauge", "boundary", gauge))


@problems.register("lid_cavity")
@dataclasses.dataclass(frozen=True)
class LidCavity(BoxProblem):
    """Steady lid-driven cavity on [0, 1]²: u = 1, v = 0 on the lid y = 1 (corners included),
    u = v = 0 on the other walls; p pinned to 0 at the centre.

    Reference: the project's stream function-vorticity Newton solver (second order) on a
    ``grid``² mesh, cached on disk; evaluated on its nodes at spacing 0.01 (101 × 101) and by cubic
    interpolation elsewhere. Pressure is singular at the two lid corners, so ``rel_l2.p`` is
    dominated by the points next to them; the velocity errors are the meaningful ones.
    """

    re: float = option(100.0, "Reynolds number (100; 400 and 1000 by continuation)",
                       check=lambda v: 0 < v <= 5000, expect="in (0, 5000]")
    grid: int = option(200, "reference mesh cells per side (a multiple of 100)",
                       check=lambda v: isinstance(v, int) and v >= 100 and v % 100 == 0,
                       expect="a multiple of 100")

    lower = (0.0, 0.0)
    # `pinnbench verify`: the reference is a second-order finite-volume solution evaluated by
    # cubic interpolation, so the PDE residual of it by finite differences is that scheme's
    # error, 1.3e-3 of the largest term (grid = 200), and does not fall with the step.
    reference_tolerance = 5e-3
    upper = (1.0, 1.0)
    outputs = FIELDS
    gauge_point = (0.5, 0.5)

    def solved(self) -> dict[str, np.ndarray]:
        from pinnbench.references import cavity
        from pinnbench.references.cache import cached

        params = {"re": float(self.re), "grid": self.grid}
        return cached("lid_cavity", cavity.SOLVER_VERSION, params,
                      lambda: cavity.fields(self.grid, float(self.re))).arrays

    def reference(self, x: np.ndarray) -> np.ndarray:
        from scipy.interpolate import RegularGridInterpolator

        s = self.solved()
        stride = self.grid // 100
        pts = np.asarray(x, np.float64)
        nodes = np.rint(pts * 100)
        if np.all(np.abs(pts * 100 - nodes) < 1e-9):  # on the evaluation grid: stored values
            i, j = (nodes * stride).astype(int).T
            return np.stack([s[k][i, j] for k in FIELDS], axis=1)
        return np.stack([RegularGridInterpolator((s["x"], s["y"]), s[k], method="cubic")(pts)
                         for k in FIELDS], axis=1)

    def constraints(self) -> tuple[Constraint, ...]:
        def pde(f: Field):
            return momentum_continuity(f, self.re)

        def bc(f: Field):
            lid = jnp.where(f.x[:, 1] == self.upper[1], 1.0, 0.0)
            return f.value[:, :2] - jnp.stack([lid, jnp.zeros_like(lid)], axis=1)

        def gauge(f: Field):
            return pressure_at(f, self.gauge_point)

        return (Constraint("pde", "interior", pde), Constraint("bc", "boundary", bc),
                Constraint("gauge", "boundary", gauge))
