"""Navier-Stokes in a channel over a long time (PINNacle's NS2D_LongTime) with a finite-volume
reference."""

from __future__ import annotations

import dataclasses
import functools
import math

import jax.numpy as jnp
import numpy as np

from pinnbench.derivatives import Field
from pinnbench.problems.base import BoxProblem, Constraint
from pinnbench.problems.navier_stokes import FIELDS, momentum_continuity
from pinnbench.references import ns_channel as solver
from pinnbench.references.cache import cached
from pinnbench.registry import option, positive, problems

STORED = 32  # stored nodes per unit length: 65 × 33, every grid/32-th solver node
STORED_DT = 0.02  # stored times: every 0.02 (251 on [0, 5]), cubic splines in between
EVAL_TIMES = 51


def _grid_ok(v: object) -> bool:
    return isinstance(v, int) and v >= STORED and v % STORED == 0


def tensor_spline(axes: list[np.ndarray], values: np.ndarray):
    """The tensor-product cubic interpolating spline (not-a-knot) of values on a grid, trailing
    axes of ``values`` beyond the grid's being separate fields; extrapolates past the ends."""
    from scipy.interpolate import NdBSpline, make_interp_spline

    knots, c = [], values
    for i, a in enumerate(axes):
        s = make_interp_spline(a, c, k=3, axis=i)
        knots.append(s.t)
        c = np.moveaxis(s.c, 0, i)
    return NdBSpline(tuple(knots), c, 3, extrapolate=True)


@problems.register("ns_long")
@dataclasses.dataclass(frozen=True)
class NSLong(BoxProblem):
    """u_t + u·∇u + ∇p - ν Δu + f = 0, ∇·u = 0 on (x, y) ∈ [0, 2] × [0, 1], t ∈ [0, 5],
    ν = 0.01, f = sin(πx)·sin(πy)·sin(πt) in both momentum equations: PINNacle's NS2D_LongTime
    (src/pde/ns.py, NSEquation_Long; Hao et al. 2023, "NS2d-LT"). Inflow x = 0:
    u = sin(πy)·(sin πt + sin 3πt + sin 5πt), v = 0; walls y = 0, 1: u = v = 0; outflow x = 2:
    p = 0. Outputs u, v, p.

    Two choices beyond PINNacle's statement (docs/problems.md):

    - PINNacle gives no velocity condition at the outflow; a solve needs one. Here
      ∂v/∂x = 0 at x = 2: the ``outflow`` constraint is p = 0 and ∂v/∂x = 0, the reference
      imposes the same, so network and reference solve one problem. ∂u/∂x = 0 as well would
      be one condition too many: with continuity it forces v = 0 along the outflow; the
      reference's ∂u/∂x there reaches about 1.
    - The initial condition is u = v = 0 only. PINNacle also sets p = 0 at t = 0, but pressure
      is no initial datum of incompressible flow: it is fixed by the velocity and the inflow's
      acceleration (∂g/∂t = 9π sin πy at t = 0), and it is not zero then (up to 37.8).

    Reference: :mod:`pinnbench.references.ns_channel` (staggered grid, second order in space,
    SSP-RK3 with projected stages) on ``grid`` cells per unit length (64: 128 × 64 cells),
    cached on disk; stored on 65 × 33 nodes (spacing 1/32) every 0.02 in time, evaluated by
    the tensor cubic spline through them. Accuracy: docs/problems.md,
    tests/problems/test_ns_long.py.
    """

    t_end: float = positive("final time T", 5.0)
    nu: float = positive("viscosity ν", 0.01)
    grid: int = option(64, "reference cells per unit length (a multiple of 32)",
                       check=_grid_ok, expect="a multiple of 32")

    lower = (0.0, 0.0, 0.0)
    outputs = FIELDS
    time_dependent = True
    # `pinnbench verify`: the reference is a second-order finite-volume solution through cubic
    # splines, so its residual by finite differences is the scheme's error, which does not fall
    # with the difference step. Measured (grid = 64, 200 points; 12 as in the tests): pde
    # 2.9e-4 (4.9e-4) of the largest term; outflow 2.2e-3 (1.1e-3), all of it ∂v/∂x at x = 2 of
    # the spline through the nodes at spacing 1/32 (the solve has it zero on its outflow faces;
    # nodes at spacing 1/64 halve it).
    reference_tolerance = 5e-3

    @property
    def upper(self) -> tuple[float, float, float]:
        return (solver.LENGTH, solver.HEIGHT, self.t_end)

    @property
    def times(self) -> int:
        """Stored times, equally spaced on [0, t_end], at most STORED_DT apart (at least 4)."""
        return max(4, math.ceil(self.t_end / STORED_DT - 1e-9) + 1)

    def solved(self) -> dict[str, np.ndarray]:
        params = {"nu": float(self.nu), "grid": self.grid, "t_end": float(self.t_end),
                  "times": self.times, "stored": STORED}
        return cached("ns_long", solver.SOLVER_VERSION, params,
                      lambda: solver.solve(self.grid, float(self.nu), float(self.t_end),
                                           self.times, self.grid // STORED)).arrays

    @functools.cached_property
    def _spline(self):
        s = self.solved()
        return tensor_spline([s["x"], s["y"], s["t"]],
                             np.stack([s[k] for k in FIELDS], axis=-1))

    def reference(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self._spline(np.asarray(x, np.float64)), np.float64)

    def eval_axes(self) -> list[np.ndarray]:
        return [np.linspace(0.0, solver.LENGTH, 2 * STORED + 1),
                np.linspace(0.0, solver.HEIGHT, STORED + 1),
                np.linspace(0.0, self.t_end, EVAL_TIMES)]

    def constraints(self) -> tuple[Constraint, ...]:
        lo, hi = self.lower, self.upper

        def pde(f: Field):
            x, y, t = f.x[:, 0], f.x[:, 1], f.x[:, 2]
            force = solver.forcing(x, y, t)
            r = momentum_continuity(f, 1.0 / self.nu, time=2)
            return r + jnp.stack([force, force, jnp.zeros_like(force)], axis=1)

        def bc(f: Field):
            # Inflow x = 0 and the walls y = 0, 1: the velocity; zero on the outflow's points.
            x, y, t = f.x[:, 0], f.x[:, 1], f.x[:, 2]
            inlet = x == lo[0]
            on = inlet | (y == lo[1]) | (y == hi[1])
            u_in = jnp.where(inlet, solver.inflow(y, t), 0.0)
            r = f.value[:, :2] - jnp.stack([u_in, jnp.zeros_like(u_in)], axis=1)
            return jnp.where(on[:, None], r, 0.0)

        def outflow(f: Field):
            # x = 2: p = 0 and ∂v/∂x = 0; zero elsewhere on the boundary.
            out = f.x[:, 0] == hi[0]
            r = jnp.stack([f.value[:, 2], f.d(0)[:, 1]], axis=1)
            return jnp.where(out[:, None], r, 0.0)

        def ic(f: Field):
            return f.value[:, :2]

        return (Constraint("pde", "interior", pde), Constraint("bc", "boundary", bc),
                Constraint("outflow", "boundary", outflow), Constraint("ic", "initial", ic))
