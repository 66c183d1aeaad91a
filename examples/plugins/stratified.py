"""A plugin sampler (docs/extending.md): stratified interior points, redrawn every few steps.

The box is cut into ``cells`` equal slabs along each axis; each interior point is drawn uniformly
inside its own cell of that tensor grid, so no region of the box is left without points however
the draw falls (uniform sampling leaves gaps of order sqrt(N) points). Boundary and initial
points are uniform and fixed.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from pinnbench.registry import non_negative, positive, samplers
from pinnbench.sampling.base import PointCounts, due


@samplers.register("stratified")
@dataclasses.dataclass(frozen=True)
class Stratified(PointCounts):
    """Interior points one per cell of a ``cells``^d grid, cycling over the cells when there are
    more points than cells; redrawn every ``every`` steps (0: never)."""

    cells: int = positive("cells per axis of the stratification grid", 16)
    every: int = non_negative("redraw the interior points every this many steps (0: never)",
                              100)

    @property
    def fixed(self) -> bool:
        return self.every == 0

    def _interior(self, problem: Any, key: jax.Array, dtype: Any) -> jax.Array:
        lo = jnp.asarray(problem.lower, dtype)
        hi = jnp.asarray(problem.upper, dtype)
        d, n = problem.dim, self.n_interior
        cell = jnp.arange(n) % (self.cells**d)
        index = jnp.stack([(cell // self.cells**i) % self.cells for i in range(d)], axis=1)
        u = (index + jax.random.uniform(key, (n, d), dtype)) / self.cells
        return lo + u * (hi - lo)

    def init(self, problem: Any, key: jax.Array, dtype: Any) -> dict[str, Any]:
        key, k_draw, k_in = jax.random.split(key, 3)
        points = self.draw(problem, k_draw, dtype)
        points["interior"] = self._interior(problem, k_in, dtype)
        return {"points": points, "key": key}

    def update(self, state: dict[str, Any], step: jax.Array, problem: Any,
               probe: Any = None) -> dict[str, Any]:
        if self.fixed:
            return state

        def redraw(s):
            key, sub = jax.random.split(s["key"])
            x = self._interior(problem, sub, s["points"]["interior"].dtype)
            return {"points": {**s["points"], "interior": x}, "key": key}

        return jax.lax.cond(due(step, self.every), redraw, lambda s: s, state)
