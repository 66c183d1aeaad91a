"""Uniformly random collocation points, fixed or resampled every R steps."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax

from pinnbench.registry import non_negative, samplers
from pinnbench.sampling.base import PointCounts, Probe, due


@samplers.register("uniform")
@dataclasses.dataclass(frozen=True)
class Uniform(PointCounts):
    """Uniform random points per region; ``resample_every = 0`` keeps the first draw."""

    resample_every: int = non_negative("draw new points every this many steps (0: never)", 0)

    @property
    def fixed(self) -> bool:
        return self.resample_every == 0

    def init(self, problem: Any, key: jax.Array, dtype: Any) -> dict[str, Any]:
        key, sub = jax.random.split(key)
        return {"points": self.draw(problem, sub, dtype), "key": key}

    def update(self, state: dict[str, Any], step: jax.Array, problem: Any,
               probe: Probe | None = None) -> dict[str, Any]:
        if self.fixed:
            return state
        dtype = next(iter(state["points"].values())).dtype

        def resample(state):
            key, sub = jax.random.split(state["key"])
            return {"points": self.draw(problem, sub, dtype), "key": key}

        return jax.lax.cond(due(step, self.resample_every), resample, lambda s: s, state)
