"""A two-stage point-count curriculum (the APTS paper's schedule), with static shapes.

The data-parallel APTS paper trains with (interior, initial, boundary) counts (1000, 800, 50) for
the first 30% of the iterations and (1000, 100, 100) after. A compiled ``lax.scan`` cannot change
array shapes mid-run, so each region keeps ``slots = max(first, final)`` rows and a stage with n
points stores each of its n points ``slots / n`` times. Every loss term is a mean over its rows,
and a mean over a multiset in which every point appears equally often is the mean over the
points: the loss, its gradient, its Hessian and J^T J are those of the n distinct points exactly.
The price is evaluating the repeated rows (here 800 initial rows where the second stage needs
100), which the run's measured time includes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from pinnbench.registry import non_negative, samplers
from pinnbench.sampling.base import Probe, due, regions_of
from pinnbench.sampling.uniform import Uniform


def tile_to(x: jax.Array, slots: int) -> jax.Array:
    """x (n, d) repeated slots / n times, point by point (n must divide slots)."""
    return jnp.repeat(x, slots // x.shape[0], axis=0)


@samplers.register("curriculum")
@dataclasses.dataclass(frozen=True)
class Curriculum(Uniform):
    """Uniform points whose counts change once, at ``switch_step``: ``first_*`` counts before it
    (0: the same as the final ``n_*``), the ``n_*`` counts from it on. Each region's larger count
    must be a multiple of the smaller (see the module docstring). ``resample_every`` redraws the
    interior only, as in the APTS paper; boundary and initial points are redrawn at the switch."""

    first_interior: int = non_negative("interior points before the switch (0: n_interior)", 0)
    first_boundary: int = non_negative("boundary points before the switch (0: n_boundary)", 0)
    first_initial: int = non_negative("initial points before the switch (0: n_initial)", 0)
    switch_step: int = non_negative("step at which the final counts take over", 0)

    @property
    def fixed(self) -> bool:
        return False

    def counts(self, region: str) -> tuple[int, int]:
        final = self.count(region)
        return getattr(self, f"first_{region}") or final, final

    def slots(self, region: str) -> int:
        first, final = self.counts(region)
        small, large = sorted((first, final))
        if large % small:
            raise ValueError(f"curriculum sampler: {region} counts {first} and {final}: the larger "
                             "must be a multiple of the smaller (points are stored repeated)")
        return large

    def _draw_stage(self, problem: Any, key: jax.Array, dtype: Any, stage: int) -> dict:
        regions = regions_of(problem)
        keys = jax.random.split(key, len(regions))
        return {r: tile_to(problem.sample(r, k, self.counts(r)[stage], dtype), self.slots(r))
                for r, k in zip(regions, keys, strict=True)}

    def _draw(self, problem: Any, key: jax.Array, dtype: Any, step: jax.Array) -> dict:
        return jax.lax.cond(step >= self.switch_step,
                            lambda k: self._draw_stage(problem, k, dtype, 1),
                            lambda k: self._draw_stage(problem, k, dtype, 0), key)

    def init(self, problem: Any, key: jax.Array, dtype: Any) -> dict[str, Any]:
        key, sub = jax.random.split(key)
        return {"points": self._draw(problem, sub, dtype, jnp.asarray(0)), "key": key}

    def update(self, state: dict[str, Any], step: jax.Array, problem: Any,
               probe: Probe | None = None) -> dict[str, Any]:
        dtype = next(iter(state["points"].values())).dtype
        switch = step == self.switch_step

        def redraw(state):
            key, sub = jax.random.split(state["key"])
            fresh = self._draw(problem, sub, dtype, step)
            # Between switches only the interior is redrawn.
            points = {r: jnp.where(switch | (r == "interior"), fresh[r], x)
                      for r, x in state["points"].items()}
            return {"points": points, "key": key}

        resample = due(step, self.resample_every) if self.resample_every else False
        return jax.lax.cond(switch | resample, redraw, lambda s: s, state)
