"""Check a problem's reference solution against the problem's own residuals.

The same constraint code the network trains on is evaluated on the reference, on random points of
every region, in two independent ways:

- by finite differences of ``reference(x)`` (fourth-order central differences, no autodiff), at
  a step h and at h / 2, so the residual's decay shows whether what remains is the difference
  scheme's error (it falls ~16x) or a real mismatch (it stays);
- by autodiff, when the problem has its solution in closed form (capability ``solution``): the
  solution is differentiated as if it were the network.

A residual is reported relative to the largest quantity the residual read (u or one of its
derivatives, rms over the points; at least the rms of u over the interior), so its size means the
same for every problem. A constraint passes when its relative residual by finite differences is
at most the problem's ``reference_tolerance`` (default ``FD_TOLERANCE``; a problem whose reference
is itself a discretisation declares what its accuracy allows) and, with a closed form, its
relative residual by autodiff is at most ``AD_TOLERANCE``.

A piecewise-polynomial reference (finite elements) is continuous but its derivatives jump across
element edges, so differences of it measure those jumps. Such a problem provides
``mesh_refinement()``: for the constraints it names, the check is the relative change of the
solution between meshes 4h, 2h and h instead (the reported order is the scheme's, ~3 for P2).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from pinnbench.protocols import SOLUTION, has

FD_TOLERANCE = 1e-4   # relative residual by finite differences at h / 2
AD_TOLERANCE = 1e-8   # relative residual by autodiff of a closed form
STENCIL_REACH = 4     # difference stencils reach at most 3 steps; one more to spare


class ReferenceModel:
    """A numpy function of points (a problem's ``reference``) standing in for the network, for
    :class:`FDField`."""

    capabilities = frozenset()

    def __init__(self, fn: Any, h: float = 1e-3) -> None:
        self.fn, self.h = fn, h


class FDField:
    """Stands in for :class:`pinnbench.derivatives.Field` with derivatives by fourth-order central
    differences of ``model.fn``: an autodiff-free evaluation of the same residual code. Every
    quantity it hands out is recorded (rms), to scale the residual."""

    def __init__(self, model: ReferenceModel, params: Any, x: Any) -> None:
        import jax.numpy as jnp

        self._jnp = jnp
        self.model, self.params = model, params
        self.x = jnp.asarray(x)
        self._x = np.asarray(x, np.float64)
        self.h = model.h
        self.read: list[float] = []

    def _out(self, v: np.ndarray) -> Any:
        self.read.append(float(np.sqrt(np.mean(np.square(v)))) if v.size else 0.0)
        return self._jnp.asarray(v)

    def _f(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.fn(x), np.float64)

    def _shift(self, **steps: float) -> np.ndarray:
        x = self._x.copy()
        for i, s in steps.items():
            x[:, int(i[1:])] += s
        return self._f(x)

    @property
    def value(self) -> Any:
        return self._out(self._f(self._x))

    @property
    def dim(self) -> int:
        return self._x.shape[1]

    def d(self, i: int) -> Any:
        h, k = self.h, f"a{i}"
        v = (-self._shift(**{k: 2 * h}) + 8 * self._shift(**{k: h})
             - 8 * self._shift(**{k: -h}) + self._shift(**{k: -2 * h})) / (12 * h)
        return self._out(v)

    def d2(self, i: int, j: int | None = None) -> Any:
        h = self.h
        j = i if j is None else j
        if i == j:
            k = f"a{i}"
            v = (-self._shift(**{k: 2 * h}) + 16 * self._shift(**{k: h}) - 30 * self._f(self._x)
                 + 16 * self._shift(**{k: -h}) - self._shift(**{k: -2 * h})) / (12 * h * h)
            return self._out(v)
        a, b = f"a{i}", f"a{j}"
        v = (self._shift(**{a: h, b: h}) - self._shift(**{a: h, b: -h})
             - self._shift(**{a: -h, b: h}) + self._shift(**{a: -h, b: -h})) / (4 * h * h)
        return self._out(v)

    @property
    def grad(self) -> Any:
        return self._jnp.stack([self.d(i) for i in range(self.dim)], axis=1)

    @property
    def laplacian(self) -> Any:
        return sum(self.d2(i) for i in range(self.dim))

    def laplacian_over(self, axes: tuple[int, ...]) -> Any:
        return sum(self.d2(i) for i in axes)


class SolutionModel:
    """A problem's closed-form solution as a "network", so residuals are differentiated by AD."""

    capabilities = frozenset()

    def __init__(self, problem: Any) -> None:
        self.problem = problem

    def apply(self, params: Any, x: Any) -> Any:
        import jax.numpy as jnp

        return self.problem.solution(x, jnp)


@dataclasses.dataclass
class ConstraintCheck:
    """How well the reference satisfies one constraint (relative residuals: rms of the residual
    over rms of the largest quantity it read)."""

    name: str
    region: str
    scale: float
    fd: float              # at h / 2
    fd_coarse: float       # at h
    ad: float | None       # autodiff of the closed form; None without one

    @property
    def order(self) -> float:
        """Observed order of the finite-difference residual between h and h / 2."""
        if self.fd <= 0 or self.fd_coarse <= 0:
            return math.inf
        return math.log2(self.fd_coarse / self.fd)

    tolerance: float = FD_TOLERANCE

    @property
    def ok(self) -> bool:
        return self.fd <= self.tolerance and (self.ad is None or self.ad <= AD_TOLERANCE)


def sample_points(problem: Any, region: str, n: int, seed: int, margin: float,
                  min_depth: float = 0.0) -> np.ndarray:
    """n float64 points of a region, pulled away from the box's faces by ``margin`` (a fraction
    of the width) along the axes the region does not fix, so difference stencils stay inside.

    On a problem with a ``geometry`` (holes, balls: see pinnbench.problems.geometric) pulling
    towards the box's centre would move points into holes and off curved boundaries, so there
    interior points closer than ``margin`` of the smallest width to the boundary are dropped
    (more are drawn; where fewer than n would remain, only those closer than ``min_depth``),
    boundary points keep their place in space, and only time is pulled in."""
    import jax
    import jax.numpy as jnp

    geometry = getattr(problem, "geometry", None)
    lo, hi = np.asarray(problem.lower, float), np.asarray(problem.upper, float)
    if geometry is None:
        x = np.asarray(problem.sample(region, jax.random.PRNGKey(seed), n, jnp.float64))
        on_face = np.isclose(x, lo) | np.isclose(x, hi)
        inner = lo + margin * (hi - lo) + (x - lo) * (1 - 2 * margin)
        return np.where(on_face, x, inner)
    d = geometry.dim
    x = np.array(problem.sample(region, jax.random.PRNGKey(seed), 8 * n, jnp.float64))
    if region == "interior":
        depth = -np.asarray(geometry.sdf(x[:, :d], np))
        keep = depth >= margin * float((hi - lo)[:d].min())
        if keep.sum() < n:
            # In high dimension nearly all of a ball's volume lies near its sphere (at d = 50,
            # 0.5 % of it is deeper than 0.1): keep what clears the difference stencils.
            keep = depth >= min_depth
        x = x[keep]
    x = x[:n]
    if x.shape[1] > d and region != "initial":
        t = x[:, d:]
        x[:, d:] = lo[d:] + margin * (hi - lo)[d:] + (t - lo[d:]) * (1 - 2 * margin)
    return x


def _rms(r: Any) -> float:
    a = np.asarray(r, np.float64)
    return float(np.sqrt(np.mean(np.square(a)))) if a.size else 0.0


def verify_problem(problem: Any, n: int = 200, seed: int = 0, h: float | None = None,
                   margin: float = 0.05) -> list[ConstraintCheck]:
    """Every constraint of ``problem`` evaluated on its reference (see the module docstring).
    ``h``: the difference step (default: the problem's ``difference_step`` if it has one, else
    2e-3 of the smallest box width). Third and higher derivatives divide rounding errors by h³
    or more, so a problem that reads them names a larger step."""
    import jax

    with jax.enable_x64(True):  # residuals of a float64 reference
        return _verify(problem, n, seed, h, margin)


def _verify(problem: Any, n: int, seed: int, h: float | None,
            margin: float) -> list[ConstraintCheck]:
    import jax

    from pinnbench.derivatives import Field

    widths = np.asarray(problem.upper, float) - np.asarray(problem.lower, float)
    if h is None:
        h = float(getattr(problem, "difference_step", 2e-3 * float(widths.min())))
    tolerance = float(getattr(problem, "reference_tolerance", FD_TOLERANCE))
    reach = STENCIL_REACH * h
    interior = sample_points(problem, "interior", n, seed, margin, reach)
    u_scale = _rms(problem.reference(interior))
    checks = []
    # A piecewise-polynomial reference (finite elements) has no pointwise second derivatives
    # across element edges: differences of it measure the edges' kinks, not the equation. The
    # problem then names the constraints whose check is convergence under mesh refinement
    # instead: (difference 4h -> 2h, difference 2h -> h), relative, of the solution itself.
    refined = problem.mesh_refinement() if hasattr(problem, "mesh_refinement") else {}
    for i, c in enumerate(problem.constraints()):
        if getattr(c, "points", None) is not None:
            continue  # observations (data at their own sites) are no equation to check
        if c.name in refined:
            coarse, fine = refined[c.name]
            checks.append(ConstraintCheck(f"{c.name} (mesh 4h, 2h, h)", c.region, u_scale,
                                          fine, coarse, None, tolerance))
            continue
        x = sample_points(problem, c.region, n, seed + i, margin, reach)
        fine = FDField(ReferenceModel(problem.reference, h / 2), None, x)
        r_fine = c.residual(fine)
        coarse = FDField(ReferenceModel(problem.reference, h), None, x)
        r_coarse = c.residual(coarse)
        scale = max([*fine.read, u_scale, np.finfo(float).tiny])
        ad = None
        if has(problem, SOLUTION):
            model = SolutionModel(problem)
            residual = jax.jit(lambda y, c=c, m=model: c.residual(Field(m, None, y)))
            ad = _rms(residual(jax.numpy.asarray(x))) / scale
        checks.append(ConstraintCheck(c.name, c.region, scale, _rms(r_fine) / scale,
                                      _rms(r_coarse) / scale, ad, tolerance))
    return checks
