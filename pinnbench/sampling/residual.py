"""Residual-based adaptive samplers: RAR (Lu et al., 2021), RAD and RAR-D (Wu et al., 2023).

All three score a fresh pool of uniform candidates by the current residual every ``every`` steps.
RAD replaces the interior points by a draw from the density |r|^k / mean(|r|^k) + c over the
pool; RAR adds the candidates with the largest residuals; RAR-D adds a draw from the density.

Adding points under a compiled step needs a static shape. The interior array therefore has its
final size from the start, ``n_interior + rounds · n_add`` rows: the first ``active`` rows of a
pool hold the real points and every later row repeats one of them cyclically (row j holds point
j mod active). Each real point thus appears ⌊C/active⌋ or ⌈C/active⌉ times in the mean squared
residual: the loss is the set's mean up to those multiplicities, which differ by at most one copy.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from pinnbench.registry import positive, samplers
from pinnbench.sampling.base import Adaptive, Density, Probe, draw_by_weights, residual_weights


@dataclasses.dataclass(frozen=True)
class Pool:
    """Options of the candidate pool (a mixin)."""

    n_candidates: int = positive("uniform candidates scored by the residual at each adaptation",
                                 100000)

    def candidates(self, problem: Any, key: jax.Array, dtype: Any) -> jax.Array:
        return problem.sample("interior", key, self.n_candidates, dtype)


@samplers.register("rad")
@dataclasses.dataclass(frozen=True)
class RAD(Pool, Density, Adaptive):
    """Residual-based adaptive distribution: every ``every`` steps the interior points are
    redrawn (without replacement) from a fresh candidate pool with probability proportional to
    |r|^k / mean(|r|^k) + c."""

    def __post_init__(self) -> None:
        if self.n_candidates < self.n_interior:
            raise ValueError("rad: n_candidates must be at least n_interior")

    def adapt(self, state: dict[str, Any], problem: Any, probe: Probe) -> dict[str, Any]:
        key, k_pool, k_draw = jax.random.split(state["key"], 3)
        x = state["points"]["interior"]
        pool = self.candidates(problem, k_pool, x.dtype)
        p = residual_weights(probe.magnitude("interior", pool), self.k, self.c)
        chosen = pool[draw_by_weights(k_draw, p, self.n_interior)]
        return {**state, "points": {**state["points"], "interior": chosen}, "key": key}


@dataclasses.dataclass(frozen=True)
class Growing(Pool, Adaptive):
    """The shared machinery of RAR and RAR-D: a set that grows by ``n_add`` points per
    adaptation, ``rounds`` times."""

    n_add: int = positive("points added at each adaptation", 100)
    rounds: int = positive("adaptations that add points; afterwards the set stays as it is", 10)

    @property
    def capacity(self) -> int:
        return self.n_interior + self.rounds * self.n_add

    def __post_init__(self) -> None:
        if self.n_candidates < self.n_add:
            raise ValueError(f"{type(self).registered_name}: n_candidates must be at least n_add")

    def init(self, problem: Any, key: jax.Array, dtype: Any) -> dict[str, Any]:
        state = super().init(problem, key, dtype)
        first = state["points"]["interior"]
        pool = jnp.zeros((self.capacity, first.shape[1]), dtype).at[: self.n_interior].set(first)
        state["pool"] = pool
        state["active"] = jnp.asarray(self.n_interior, jnp.int32)
        state["points"]["interior"] = self.spread(pool, state["active"])
        return state

    def spread(self, pool: jax.Array, active: jax.Array) -> jax.Array:
        rows = jnp.arange(self.capacity)
        return pool[jnp.where(rows < active, rows, rows % active)]

    def pick(self, key: jax.Array, pool: jax.Array, r: jax.Array) -> jax.Array:
        raise NotImplementedError

    def adapt(self, state: dict[str, Any], problem: Any, probe: Probe) -> dict[str, Any]:
        def grow(state):
            key, k_pool, k_pick = jax.random.split(state["key"], 3)
            dtype = state["pool"].dtype
            cand = self.candidates(problem, k_pool, dtype)
            new = cand[self.pick(k_pick, cand, probe.magnitude("interior", cand))]
            at = (state["active"], jnp.zeros((), jnp.int32))
            pool = jax.lax.dynamic_update_slice(state["pool"], new, at)
            active = state["active"] + self.n_add
            points = {**state["points"], "interior": self.spread(pool, active)}
            return {**state, "pool": pool, "active": active, "points": points, "key": key}

        return jax.lax.cond(state["active"] < self.capacity, grow, lambda s: s, state)


@samplers.register("rar")
@dataclasses.dataclass(frozen=True)
class RAR(Growing):
    """Residual-based adaptive refinement: every ``every`` steps, add the ``n_add`` candidates
    with the largest residuals."""

    def pick(self, key: jax.Array, pool: jax.Array, r: jax.Array) -> jax.Array:
        return jax.lax.top_k(r, self.n_add)[1]


@samplers.register("rar_d")
@dataclasses.dataclass(frozen=True)
class RARD(Density, Growing):
    """Residual-based adaptive refinement with distribution: every ``every`` steps, add
    ``n_add`` candidates drawn with probability proportional to |r|^k / mean(|r|^k) + c."""

    def pick(self, key: jax.Array, pool: jax.Array, r: jax.Array) -> jax.Array:
        return draw_by_weights(key, residual_weights(r, self.k, self.c), self.n_add)
