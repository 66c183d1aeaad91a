"""NTK loss weighting (Wang, Yu & Perdikaris, 2022, "When and why PINNs fail to train").

Under gradient flow each loss term k moves its residuals r_k through its block K_k = J_k J_k^T of
the neural tangent kernel (J_k = ∂r_k/∂θ); a term whose kernel has a small trace converges slowly.
The paper equalises the terms by weighting term k with

    λ_k = Σ_j tr(K_j) / tr(K_k),

so that every λ_k tr(K_k) equals the same total. Here tr(K_k) is the mean diagonal entry
tr(K_k) / N_k = mean_i ||∂r_k(x_i)/∂θ||², which makes the weights independent of how many points
each term has (the loss averages each term over its points), as in the authors' later JAX code.

The weights are recomputed every ``every`` steps (step 0 included) and smoothed with momentum m,
λ <- m·λ + (1 - m)·λ_new; the first computation replaces the initial ones outright, since those
carry no information. The mean diagonal is estimated on a fixed random subset of ``points`` rows
per term (every row when there are fewer), point by point: one per-point parameter gradient per
row, ``points`` gradients per term and update.

The weights replace the constraints' own weights and any ``weights`` table of the method: the
point of the scheme is to set them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from pinnbench.derivatives import Field
from pinnbench.problems.base import Constraint
from pinnbench.registry import losses, option, positive

# Rows whose gradients are held in memory at once (rows x parameters floats).
BATCH = 32


def _squared_norm(tree: Any) -> jax.Array:
    return sum(jnp.sum(leaf**2) for leaf in jax.tree.leaves(tree))


def subset(n: int, k: int) -> np.ndarray:
    """A fixed (trace-time) random choice of min(n, k) of n rows, in order."""
    if n <= k:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, k, replace=False))


def mean_ntk_diagonal(constraint: Constraint, model: Any, params: Any, x: jax.Array,
                      rows: int) -> jax.Array:
    """tr(K) / N for one constraint on points x, estimated on at most ``rows`` residual rows."""
    if constraint.pointwise:
        xs = x[subset(x.shape[0], rows)]

        def per_point(xi: jax.Array) -> jax.Array:
            def r(p: Any) -> jax.Array:
                return jnp.ravel(constraint.residual(Field(model, p, xi[None, :])))

            jac = jax.jacrev(r)(params)  # leaves (m, ...): one row per residual component
            return _squared_norm(jac) / jax.eval_shape(r, params).shape[0]

        return jnp.mean(jax.lax.map(per_point, xs, batch_size=BATCH))

    # A residual that couples points: gradients of single rows of the whole batch's residual.
    def r(p: Any) -> jax.Array:
        return jnp.ravel(constraint.residual(Field(model, p, x)))

    value, vjp = jax.vjp(r, params)
    idx = jnp.asarray(subset(value.shape[0], rows))

    def per_row(i: jax.Array) -> jax.Array:
        return _squared_norm(vjp(jax.nn.one_hot(i, value.shape[0], dtype=value.dtype))[0])

    return jnp.mean(jax.lax.map(per_row, idx, batch_size=BATCH))


def ntk_weights(traces: dict[str, jax.Array]) -> dict[str, jax.Array]:
    """λ_k = Σ_j t_j / t_k from the per-term traces t_k."""
    total = sum(traces.values())
    return {k: total / jnp.maximum(t, jnp.finfo(t.dtype).tiny) for k, t in traces.items()}


@losses.register("ntk")
@dataclasses.dataclass(frozen=True)
class NTK:
    """NTK weighting: λ_k = Σ_j tr(K_j) / tr(K_k), recomputed every ``every`` steps with
    momentum."""

    every: int = positive("recompute the weights every this many steps", 100)
    momentum: float = option(0.9, "momentum m of the weights: λ <- m·λ + (1 - m)·λ_new",
                             check=lambda v: 0 <= v < 1, expect="in [0, 1)")
    points: int = positive("residual rows per term used to estimate its NTK trace", 256)

    @property
    def fixed(self) -> bool:
        return False  # the weights, and with them the loss, change every ``every`` steps

    def constraints(self, problem: Any) -> tuple[Constraint, ...]:
        return tuple(problem.constraints())

    def init(self, constraints: tuple[Constraint, ...], dtype: Any) -> dict[str, Any]:
        ones = {c.name: jnp.ones((), dtype) for c in constraints}
        return {"weights": ones, "traces": dict(ones), "count": jnp.zeros((), jnp.int32)}

    def traces(self, objective: Any, params: Any) -> dict[str, jax.Array]:
        return {c.name: mean_ntk_diagonal(c, objective.model, params, objective.points[c.region],
                                          self.points)
                for c in objective.problem.constraints()}

    def update(self, state: dict[str, Any], step: jax.Array, objective: Any,
               params: Any) -> dict[str, Any]:
        def refresh(state: dict[str, Any]) -> dict[str, Any]:
            traces = self.traces(objective, params)
            fresh = ntk_weights(traces)
            first = state["count"] == 0
            weights = {k: jnp.where(first, fresh[k],
                                    self.momentum * w + (1 - self.momentum) * fresh[k]
                                    ).astype(w.dtype)
                       for k, w in state["weights"].items()}
            traces = {k: t.astype(state["traces"][k].dtype) for k, t in traces.items()}
            return {"weights": weights, "traces": traces, "count": state["count"] + 1}

        return jax.lax.cond(step % self.every == 0, refresh, lambda s: s, state)

    def weights(self, state: dict[str, Any]) -> dict[str, jax.Array]:
        return dict(state["weights"])
