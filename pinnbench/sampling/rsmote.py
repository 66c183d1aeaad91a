"""Residual-based SMOTE (RSmote; Luo, Yang, Yuan, Xu & Hao, 2025, arXiv:2501.11222), the local
competitor of the GLF paper.

RSmote treats the training points as an imbalanced classification: the few points with a large
residual are the minority class, and SMOTE (Chawla et al., 2002) oversamples a minority by
interpolating between a member and one of its nearest minority neighbours. Every ``every``
steps, on the current interior points only (no candidate pool: the method's memory advantage
over RAD):

1. score the N points by |r|; the ``ceil(top · N)`` largest are the minority set;
2. make ``ceil(replace · N)`` synthetic points x_a + λ (x_b - x_a), with x_a a minority point
   drawn uniformly, x_b drawn uniformly among its ``neighbours`` nearest minority points and
   λ ~ U(0, 1);
3. the synthetic points take the places of the lowest-residual points; the rest stay.

The set keeps its size N (a static shape). A convex combination of two points of a box lies
in the box, so no reflection is needed there; on a non-convex domain a segment may cross a
hole, which is why the sampler asks for a box problem.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp

from pinnbench.registry import option, positive, samplers
from pinnbench.sampling.base import Adaptive, Probe


def smote(key: jax.Array, minority: jax.Array, n: int, neighbours: int) -> jax.Array:
    """n synthetic points on segments between minority points and their nearest minority
    neighbours, (n, d)."""
    k_anchor, k_pick, k_lambda = jax.random.split(key, 3)
    m = minority.shape[0]
    k = min(neighbours, m - 1)
    d2 = jnp.sum((minority[:, None, :] - minority[None, :, :]) ** 2, axis=-1)
    d2 = d2 + jnp.diag(jnp.full((m,), jnp.inf, d2.dtype))  # a point is not its own neighbour
    nearest = jax.lax.top_k(-d2, k)[1]  # (m, k)
    anchor = jax.random.randint(k_anchor, (n,), 0, m)
    partner = nearest[anchor, jax.random.randint(k_pick, (n,), 0, k)]
    lam = jax.random.uniform(k_lambda, (n, 1), minority.dtype)
    return minority[anchor] + lam * (minority[partner] - minority[anchor])


@samplers.register("rsmote")
@dataclasses.dataclass(frozen=True)
class RSmote(Adaptive):
    """Residual-based SMOTE: every ``every`` steps the lowest-residual interior points are
    replaced by interpolations between high-residual points and their nearest high-residual
    neighbours."""

    top: float = option(0.1, "share of the points (largest residuals) forming the minority set",
                        check=lambda v: 0 < v <= 1, expect="in (0, 1]")
    replace: float = option(0.2, "share of the points (smallest residuals) replaced by "
                            "synthetic ones at each adaptation", check=lambda v: 0 < v <= 1,
                            expect="in (0, 1]")
    neighbours: int = positive("nearest minority neighbours a synthetic point may lie towards "
                               "(SMOTE's k)", 5)

    def counts(self, n: int) -> tuple[int, int]:
        """(minority size, points replaced) for a set of n points."""
        return max(2, math.ceil(self.top * n)), math.ceil(self.replace * n)

    def __post_init__(self) -> None:
        minority, replaced = self.counts(self.n_interior)
        if minority > self.n_interior or replaced > self.n_interior:
            raise ValueError("rsmote: n_interior must be at least 2")

    def init(self, problem: Any, key: jax.Array, dtype: Any) -> dict[str, Any]:
        if not hasattr(problem, "lower") or getattr(problem, "geometry", None) is not None:
            raise ValueError("rsmote interpolates between points and needs a box domain "
                             f"(convex); {type(problem).__name__} is not one")
        return super().init(problem, key, dtype)

    def adapt(self, state: dict[str, Any], problem: Any, probe: Probe) -> dict[str, Any]:
        key, k_new = jax.random.split(state["key"])
        x = state["points"]["interior"]
        n_minority, n_replaced = self.counts(x.shape[0])
        order = jnp.argsort(-probe.magnitude("interior", x))  # largest residual first
        minority = x[order[:n_minority]]
        synthetic = smote(k_new, minority, n_replaced, self.neighbours)
        points = x.at[order[x.shape[0] - n_replaced:]].set(synthetic)
        return {**state, "points": {**state["points"], "interior": points}, "key": key}
