"""Steady Navier-Stokes over a backward-facing step (PINNacle's NS2D_BackStep) with a Taylor-Hood
finite-element reference."""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import jax.numpy as jnp
import numpy as np

from pinnbench.derivatives import Field
from pinnbench.geometry import Geometry, Polygon, Rectangle
from pinnbench.problems.base import Constraint
from pinnbench.problems.geometric import GeometryProblem
from pinnbench.problems.navier_stokes import FIELDS, momentum_continuity
from pinnbench.references import navier_stokes_fem as solver
from pinnbench.references.cache import cached
from pinnbench.registry import option, positive, problems

LENGTH, HEIGHT = 4.0, 2.0          # the channel behind the step: [0, 4] × [0, 2]
STEP = (2.0, 1.0)                  # the step's corner; [0, 2] × [1, 2] is solid
CORNER_RADIUS = 0.25               # refinement round j: the elements within 0.25·2^-j of it
COARSEST = 8                       # the nested iteration's first mesh (cells per unit length)
# Reference values are continued this far past the boundary (difference stencils of `verify`
# reach 2·4e-3 past the outlet; the evaluation grid's nearest outside points are 0.0175 away).
BAND = 0.01


def _cells_ok(v: object) -> bool:
    return isinstance(v, int) and v >= 16 and v % 4 == 0


def corner_levels(cells: int) -> int:
    """Refinement rounds towards the step's corner on the mesh of ``cells``: 4 at 8 cells per
    unit length, 4 more at each halving of h, so the innermost elements (h·2^-levels) shrink
    like h^5. At the re-entrant corner u ~ r^0.5445 and p ~ r^-0.4555 (Stokes' corner
    exponent for 270°); a fixed number of rounds leaves the L2 order at about 1.3 (the
    corner's pollution, measured on 8/16/32 with 3 rounds), this grading gives ~3."""
    return max(0, round(4 + 4 * math.log2(cells / COARSEST)))


def inflow(y: Any) -> Any:
    """PINNacle's inflow profile u = 4y(1 - y) on x = 0, 0 ≤ y ≤ 1 (peak 1, mean 2/3)."""
    return 4 * y * (1 - y)


@problems.register("ns_backstep")
@dataclasses.dataclass(frozen=True)
class NSBackStep(GeometryProblem):
    """u·∇u + ∇p - ν Δu = 0, ∇·u = 0 on [0, 4] × [0, 2] minus [0, 2] × [1, 2], ν = 0.01:
    PINNacle's NS2D_BackStep (src/pde/ns.py, NSEquation_BackStep, without obstacles; Hao et al.
    2023, "NS2d-BS"). A channel of height 1 widens to height 2 at x = 2 (the step's corner at
    (2, 1), a re-entrant corner of 270°). Inflow x = 0 (part ``inlet``): u = 4y(1 - y), v = 0;
    walls (``walls``): u = v = 0; outflow x = 4 (``outlet``): p = 0. Outputs u, v, p; p is
    fixed by the outflow condition, so there is no gauge constraint. Reynolds number 100 with
    the inflow's peak speed and the inlet height, 67 with its mean speed, 133 with the mean speed
    and twice the inlet height (Armaly et al. 1983's definition).

    Beyond PINNacle's statement, as in ``ns_long``: PINNacle gives no velocity condition at the
    outflow and a solve needs one, so the ``outlet`` constraint is p = 0 and ∂v/∂x = 0, and the
    reference imposes the same (p = 0 exactly: with ∂u/∂x = -∂v/∂y from continuity, the normal
    stress balance at the outflow then holds with p = 0, see
    :mod:`pinnbench.references.navier_stokes_fem`). The recirculation behind the step reaches
    past x = 4: the outflow carries backflow along its upper part (u ≈ -0.09 at y = 1.75).

    Reference: Taylor-Hood P2/P1 finite elements (:mod:`pinnbench.references.navier_stokes_fem`)
    and Newton's method on a mesh of squares of side 1/``cells`` split into triangles, graded
    towards the step's corner (``corner_levels``: 12 rounds at ``cells`` = 32, innermost
    elements 1/131072); nested iteration from ``cells`` = 8 up by doubling, each mesh's
    solution cached on disk and starting the next's Newton. Evaluated from the elements' own
    polynomials; continued 0.01 past the boundary (difference stencils), NaN further out. The
    evaluation points are the geometry's grid without the corner point (2, 1), where p is
    unbounded. Accuracy: docs/problems.md, tests/problems/test_ns_backstep.py.
    """

    nu: float = positive("viscosity ν", 0.01)
    cells: int = option(32, "reference mesh: squares per unit length (a multiple of 4, >= 16)",
                        check=_cells_ok, expect="a multiple of 4, at least 16")

    outputs = FIELDS
    refined = ("pde",)
    # `pinnbench verify`: the PDE by mesh refinement (the reference is piecewise polynomial,
    # its second derivatives jump across edges); bc_inlet and bc_walls hold exactly at the P2
    # nodes (the inflow parabola is in P2). The outflow's p = 0 and ∂v/∂x = 0 are natural
    # conditions, met as the mesh is refined, ∂v/∂x at first order only (rms 5.6e-3, 3.2e-3,
    # 1.6e-3 at cells 8, 16, 32: the outlet's corners with the walls are mildly singular, p
    # there falls like h^0.5), so by differences the outlet residual is 7.6e-3 of the largest
    # term at cells = 16 and 2.8e-3 at 32 (200 points); more in docs/problems.md.
    reference_tolerance = 1e-2

    def __post_init__(self) -> None:
        self.geometry  # noqa: B018 - builds and checks the domain now (a suite error, not later)

    def domain(self) -> Geometry:
        # The walls as one polygon reaching past x = 0 and x = 4; the two boxes cut it there,
        # so the inflow and outflow segments are their own parts (the boxes' other sides lie
        # outside the domain and drop out).
        x0, (sx, sy) = 0.5, STEP
        walls = Polygon(((-x0, 0.0), (LENGTH + x0, 0.0), (LENGTH + x0, HEIGHT), (sx, HEIGHT),
                         (sx, sy), (-x0, sy)), "walls")
        inlet = Rectangle((0.0, -x0), (LENGTH + x0, HEIGHT + x0), "inlet")
        outlet = Rectangle((-x0, -x0), (LENGTH, HEIGHT + x0), "outlet")
        return walls & inlet & outlet

    # ---- reference ------------------------------------------------------------------------
    def mesh(self, cells: int) -> Any:
        return solver.straight_l_mesh(
            cells, STEP, corner_levels(cells), CORNER_RADIUS, (0.0, LENGTH, 0.0, HEIGHT),
            (0.0, STEP[0], STEP[1], HEIGHT),
            {"inlet": lambda m: np.isclose(m[0], 0.0),
             "outlet": lambda m: np.isclose(m[0], LENGTH),
             "walls": lambda m: np.ones(m.shape[1], bool)})

    def solve(self, cells: int) -> dict[str, np.ndarray]:
        """The solution on the mesh of ``cells`` squares per unit length, Newton starting from
        the (cached) solution at cells/2 where that mesh is in the chain."""
        mesh = self.mesh(cells)
        initial = None
        if cells % 2 == 0 and cells // 2 >= COARSEST:
            coarse = self.solved(cells // 2)
            initial = functools.partial(_values_at, *coarse)
        zero = lambda x: 0 * x[0]  # noqa: E731
        sol = solver.solve(
            mesh, float(self.nu),
            {"inlet": lambda x: np.stack([inflow(x[1]), 0 * x[1]]), "walls": lambda x: 0 * x},
            {"outlet": (zero, zero)}, initial=initial)
        return {**solver.mesh_arrays(mesh), **sol}

    def solved(self, cells: int | None = None) -> tuple[Any, dict[str, np.ndarray]]:
        """(the mesh's evaluator, the arrays) of the solution at ``cells`` (default: the
        reference's)."""
        cells = self.cells if cells is None else cells
        return self._solved(cells)

    @functools.lru_cache(maxsize=4)  # noqa: B019 - one problem object per run; few meshes
    def _solved(self, cells: int) -> tuple[Any, dict[str, np.ndarray]]:
        params = {"nu": float(self.nu), "cells": cells, "levels": corner_levels(cells),
                  "radius": CORNER_RADIUS}
        arrays = cached("ns_backstep", solver.SOLVER_VERSION, params,
                        lambda: self.solve(cells)).arrays
        return solver.Evaluator(solver.mesh_from(arrays)), arrays

    def values(self, x: np.ndarray, cells: int | None = None) -> np.ndarray:
        """(u, v, p) at points x (N, 2) on the mesh of ``cells``: NaN beyond BAND outside."""
        x = np.asarray(x, np.float64)
        out = _values_at(*self.solved(cells), x[:, :2].T).T
        far = np.asarray(self.geometry.sdf(x[:, :2], np)) > BAND
        out[far] = np.nan
        return out

    def reference(self, x: np.ndarray) -> np.ndarray:
        return self.values(x)

    def eval_points(self) -> np.ndarray:
        # The geometry's grid, less the step's corner itself: p is unbounded there.
        x = super().eval_points()
        return x[np.hypot(x[:, 0] - STEP[0], x[:, 1] - STEP[1]) > 1e-9]

    def mesh_refinement(self) -> dict[str, tuple[float, float]]:
        """For ``pinnbench verify``: relative L2 changes of (u, v, p) on the evaluation points
        between the meshes cells/4 and cells/2, and cells/2 and cells (the reference)."""
        x = self.eval_points()
        runs = [self.values(x, c) for c in (self.cells // 4, self.cells // 2, self.cells)]
        norm = float(np.linalg.norm(runs[-1]))
        rel = [float(np.linalg.norm(a - b)) / norm for a, b in zip(runs, runs[1:], strict=False)]
        return {name: (rel[0], rel[1]) for name in self.refined}

    # ---- constraints ------------------------------------------------------------------------
    def _on(self, part: str, residual: Any) -> Any:
        """A residual (N, k) on one boundary part, zero elsewhere, scaled as ``on_part``."""
        g = self.geometry
        g.check_part(part)
        scale = 1 / math.sqrt(g.part_fraction(part))

        def masked(f: Field) -> Any:
            r = residual(f)
            return jnp.where(g.on_part(f.x[:, :2], part)[:, None], r, 0.0) * scale

        return masked

    def constraints(self) -> tuple[Constraint, ...]:
        def pde(f: Field):
            return momentum_continuity(f, 1.0 / self.nu)

        def inlet(f: Field):
            y = f.x[:, 1]
            return f.value[:, :2] - jnp.stack([inflow(y), jnp.zeros_like(y)], axis=1)

        def walls(f: Field):
            return f.value[:, :2]

        def outlet(f: Field):
            return jnp.stack([f.value[:, 2], f.d(0)[:, 1]], axis=1)

        return (Constraint("pde", "interior", pde),
                Constraint("bc_inlet", "boundary", self._on("inlet", inlet)),
                Constraint("bc_walls", "boundary", self._on("walls", walls)),
                Constraint("outlet", "boundary", self._on("outlet", outlet)))


def _values_at(evaluator: Any, arrays: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """(u, v, p) (3, N) at points x (2, N)."""
    v = evaluator({"u": ("p2", arrays["u"]), "v": ("p2", arrays["v"]),
                   "p": ("p1", arrays["p"])}, np.asarray(x, float).T)
    return np.stack([v["u"], v["v"], v["p"]])
