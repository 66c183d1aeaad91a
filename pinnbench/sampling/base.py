"""Shared pieces of samplers: the Probe, point counts, residual densities.

A sampler decides which collocation points the objective sees at each step (its protocol is in
:mod:`pinnbench.protocols`):

    init(problem, key, dtype) -> state                 # state["points"]: region -> (N, d) array
    update(state, step, problem, probe) -> state       # inside the compiled step; may resample
    fixed -> bool                                      # True when points never change after init

``probe`` is a :class:`Probe` on the parameters of the current step (before the optimizer moves
them): residual-based samplers ask it for residual magnitudes at any points, and region
optimization for the loss gradient at its perturbed points. Samplers that ignore it accept
``probe=None``, so they can be driven without a network.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from pinnbench.derivatives import Field
from pinnbench.objective import Objective
from pinnbench.registry import non_negative, positive


@dataclasses.dataclass(frozen=True)
class Probe:
    """The network of the current step, seen from a sampler. Everything it returns is traced JAX,
    so a sampler can call it inside the compiled step."""

    problem: Any
    model: Any
    params: Any
    weights: dict[str, float] = dataclasses.field(default_factory=dict)

    def residuals(self, region: str, x: jax.Array) -> jax.Array:
        """Residuals of every constraint on ``region`` at x, side by side: (N, total outputs)."""
        field = Field(self.model, self.params, x)
        parts = [jnp.reshape(c.residual(field), (x.shape[0], -1))
                 for c in self.problem.constraints() if c.region == region]
        return jnp.concatenate(parts, axis=1)

    def magnitude(self, region: str, x: jax.Array) -> jax.Array:
        """|r(x)| per point, (N,): the Euclidean norm over the region's residual components.
        Unweighted, because samplers compare points of one region, not terms of the loss."""
        r = self.residuals(region, x)
        return jnp.sqrt(jnp.sum(r**2, axis=1))

    def loss_and_grad(self, points: dict[str, jax.Array]) -> tuple[jax.Array, Any]:
        """The training loss on ``points`` and its gradient with respect to the parameters."""
        objective = Objective(self.problem, self.model, points, self.weights, False)
        return jax.value_and_grad(objective.loss)(self.params)


def regions_of(problem: Any) -> list[str]:
    """Regions that carry at least one constraint, in a stable order."""
    return sorted({c.region for c in problem.constraints()})


def due(step: jax.Array, every: int) -> jax.Array:
    """True on steps every, 2·every, ...; never on step 0, where the points are the initial ones."""
    return (step > 0) & (step % every == 0)


def box_of(problem: Any, dtype: Any) -> tuple[jax.Array, jax.Array]:
    return jnp.asarray(problem.lower, dtype), jnp.asarray(problem.upper, dtype)


def reflect(x: jax.Array, lo: jax.Array, hi: jax.Array) -> jax.Array:
    """Fold points back into [lo, hi] by mirror reflection at the walls, however far outside they
    are: a triangle wave of period 2·(hi - lo). Reflection, unlike clipping, puts no mass on the
    boundary itself."""
    width = hi - lo
    y = jnp.mod(x - lo, 2 * width)
    return lo + jnp.where(y > width, 2 * width - y, y)


def residual_weights(r: jax.Array, k: float, c: float) -> jax.Array:
    """Wu et al.'s sampling density on a pool: |r|^k / mean(|r|^k) + c, normalised to sum to one.
    The mean makes it invariant to the residual's scale, so c alone sets how much uniform mass
    remains."""
    rk = jnp.abs(r) ** k
    w = rk / jnp.maximum(jnp.mean(rk), jnp.finfo(rk.dtype).tiny) + c
    return w / jnp.sum(w)


def draw_by_weights(key: jax.Array, p: jax.Array, n: int) -> jax.Array:
    """n distinct indices drawn with probabilities p, as successive draws without replacement
    (the Gumbel-top-k trick: one sort, no loop, static shape)."""
    g = jax.random.gumbel(key, p.shape, p.dtype)
    score = jnp.where(p > 0, jnp.log(jnp.maximum(p, jnp.finfo(p.dtype).tiny)) + g, -jnp.inf)
    return jax.lax.top_k(score, n)[1]


@dataclasses.dataclass(frozen=True)
class PointCounts:
    """Point counts per region, shared by every sampler. Not registered: a mixin of options."""

    n_interior: int = positive("points in the interior", 4096)
    n_boundary: int = positive("points on the spatial boundary", 1024)
    n_initial: int = positive("points at the initial time (time-dependent problems)", 1024)

    def count(self, region: str) -> int:
        return getattr(self, f"n_{region}")

    def draw(self, problem: Any, key: jax.Array, dtype: Any) -> dict[str, jax.Array]:
        regions = regions_of(problem)
        keys = jax.random.split(key, len(regions))
        return {r: problem.sample(r, k, self.count(r), dtype)
                for r, k in zip(regions, keys, strict=True)}


@dataclasses.dataclass(frozen=True)
class Adaptive(PointCounts):
    """Samplers that move the interior points by the residual every ``every`` steps; boundary and
    initial points stay at their first uniform draw (their residuals are data misfits, which
    adaptive sampling of the PDE residual is not meant to chase)."""

    every: int = positive("adapt the interior points every this many steps", 1000)

    @property
    def fixed(self) -> bool:
        return False

    def init(self, problem: Any, key: jax.Array, dtype: Any) -> dict[str, Any]:
        key, sub = jax.random.split(key)
        return {"points": self.draw(problem, sub, dtype), "key": key}

    def update(self, state: dict[str, Any], step: jax.Array, problem: Any,
               probe: Probe | None = None) -> dict[str, Any]:
        if probe is None:
            raise ValueError(f"the {type(self).registered_name} sampler needs a probe of the "
                             "network's residuals")
        return jax.lax.cond(due(step, self.every), lambda s: self.adapt(s, problem, probe),
                            lambda s: s, state)

    def adapt(self, state: dict[str, Any], problem: Any, probe: Probe) -> dict[str, Any]:
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class Density:
    """Options of the residual density |r|^k / mean(|r|^k) + c (a mixin)."""

    k: float = non_negative("exponent k of the density |r|^k / mean(|r|^k) + c", 1.0)
    c: float = non_negative("uniform share c of the density |r|^k / mean(|r|^k) + c", 1.0)
