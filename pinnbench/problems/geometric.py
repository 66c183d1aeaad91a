"""Problems on a :class:`pinnbench.geometry.Geometry` (optionally times a time interval), and
boundary conditions on its named boundary parts.

Samplers ask for the regions every problem has ("interior", "boundary", "initial"); here
"boundary" is the whole boundary, drawn uniformly by arc length or area. A condition on one part
(``on_part``) is zero on the other parts' points and divided by sqrt(the part's share of the
boundary measure), so its mean square over the region's points estimates, without bias, the mean
square over the part's own points — whatever sampler drew them (the part of a point is decided
from the point, not from where it sits in the batch).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from pinnbench.derivatives import Field
from pinnbench.geometry import Geometry
from pinnbench.problems.base import BoxProblem, Region

Residual = Callable[[Field], jax.Array]
Data = Callable[[jax.Array], jax.Array]   # boundary data g(x) of the points (N, dim) -> (N,)


class GeometryProblem(BoxProblem):
    """Base for problems on a geometry. Subclasses define ``domain()`` (the spatial geometry) and,
    if time-dependent, ``time_span`` = (t0, t1) with ``time_dependent = True``; ``lower`` and
    ``upper`` are the bounding box (time last). ``eval_points`` is the geometry's evaluation set
    (times ``eval_times`` instants for a time-dependent problem)."""

    time_span: tuple[float, float] | None = None
    eval_count: int = 10_000
    eval_times: int = 11

    def domain(self) -> Geometry:
        raise NotImplementedError

    @functools.cached_property
    def geometry(self) -> Geometry:
        return self.domain().validate()

    @property
    def space_dim(self) -> int:
        return self.geometry.dim

    @property
    def lower(self) -> tuple[float, ...]:
        t = () if self.time_span is None else (float(self.time_span[0]),)
        return tuple(float(v) for v in self.geometry.bounds()[0]) + t

    @property
    def upper(self) -> tuple[float, ...]:
        t = () if self.time_span is None else (float(self.time_span[1]),)
        return tuple(float(v) for v in self.geometry.bounds()[1]) + t

    def sample(self, region: Region, key: jax.Array, n: int, dtype: jnp.dtype) -> jax.Array:
        k_space, k_time = jax.random.split(key)
        g = self.geometry
        x = g.sample_boundary(k_space, n, dtype) if region == "boundary" else \
            g.sample_interior(k_space, n, dtype)
        if self.time_span is None:
            return x
        t0, t1 = self.time_span
        t = t0 + (t1 - t0) * jax.random.uniform(k_time, (n, 1), dtype)
        return jnp.concatenate([x, jnp.full_like(t, t0) if region == "initial" else t], axis=1)

    def eval_axes(self) -> list[np.ndarray] | None:
        return None

    def eval_points(self) -> np.ndarray:
        x = self.geometry.eval_points(self.eval_count)
        if self.time_span is None:
            return x
        times = np.linspace(*self.time_span, self.eval_times)
        return np.concatenate([np.concatenate([x, np.full((len(x), 1), t)], axis=1)
                               for t in times])

    def inside(self, x: np.ndarray) -> np.ndarray:
        """Which points (space, then time) lie in the closed space-time domain."""
        x = np.asarray(x, np.float64)
        ok = np.asarray(self.geometry.contains(x[:, :self.space_dim], np))
        if self.time_span is not None:
            t0, t1 = self.time_span
            ok &= (x[:, -1] >= t0) & (x[:, -1] <= t1)
        return ok

    # ---- boundary conditions --------------------------------------------------------------
    def normal_derivative(self, f: Field, part: str | None = None) -> jax.Array:
        """du/dn (N,) of the first output with the geometry's outward normal."""
        n = self.geometry.normal(f.x[:, :self.space_dim], part)
        return sum(n[:, i] * f.d(i)[:, 0] for i in range(self.space_dim))

    def on_part(self, part: str, residual: Residual) -> Residual:
        """``residual`` on the points of one boundary part (see the module docstring)."""
        g = self.geometry
        g.check_part(part)
        scale = 1 / math.sqrt(g.part_fraction(part))
        d = self.space_dim

        def masked(f: Field) -> jax.Array:
            r = residual(f)
            return jnp.where(g.on_part(f.x[:, :d], part), r, jnp.zeros_like(r)) * scale

        return masked

    def dirichlet(self, g: Data) -> Residual:
        """u - g."""
        return lambda f: f.value[:, 0] - g(f.x)

    def neumann(self, g: Data, part: str | None = None) -> Residual:
        """du/dn - g."""
        return lambda f: self.normal_derivative(f, part) - g(f.x)

    def robin(self, a: float, b: float, g: Data, part: str | None = None) -> Residual:
        """a·u + b·du/dn - g."""
        return lambda f: a * f.value[:, 0] + b * self.normal_derivative(f, part) - g(f.x)


def constant(value: float) -> Data:
    return lambda x: jnp.full(x.shape[:1], value, x.dtype)


def outside_as_nan(problem: GeometryProblem, x: np.ndarray, values: Any) -> np.ndarray:
    """A reference's values with NaN at points outside the domain (a plotting grid over the
    bounding box covers the holes)."""
    v = np.asarray(values, np.float64).reshape(len(x), -1)
    return np.where(problem.inside(x)[:, None], v, np.nan)
