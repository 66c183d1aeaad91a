"""Causal training (Wang, Sankaran & Perdikaris, 2022): respect time in the PDE residual.

The interior points are split into ``slices`` equal time intervals with mean squared residuals
L_1 .. L_K (earliest first). Slice i is weighted by

    w_i = exp(-ε · Σ_{k<i} L_k),       w_1 = 1,

held constant in the gradient (stop-gradient), and the PDE term becomes (1/K) Σ_i w_i L_i: a later
time only counts once the residual before it is small, which is what a time-marching solver does.

Written as a residual, so that least-squares optimizers see it too: point j of slice i is scaled
by sqrt(w_i · N / (K · n_i)) (n_i points in slice i, N in all), whose mean square is that term.
The scale depends on every point of the batch, so the causal residual is not pointwise (its
Jacobian is formed densely). Slices without points add nothing.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from pinnbench.derivatives import Field
from pinnbench.losses.base import Stateless
from pinnbench.problems.base import Constraint
from pinnbench.registry import losses, non_negative, positive


def slice_index(t: jax.Array, lo: float, hi: float, slices: int) -> jax.Array:
    """Time slice of each time t in [lo, hi]: 0 .. slices - 1 (t = hi falls in the last)."""
    i = jnp.floor((t - lo) / (hi - lo) * slices).astype(jnp.int32)
    return jnp.clip(i, 0, slices - 1)


def slice_losses(r2: jax.Array, index: jax.Array, slices: int) -> tuple[jax.Array, jax.Array]:
    """Mean of r2 per slice (0 where empty) and the number of points per slice."""
    onehot = (index[:, None] == jnp.arange(slices)).astype(r2.dtype)
    counts = jnp.sum(onehot, axis=0)
    return (onehot.T @ r2) / jnp.maximum(counts, 1), counts


def causal_weights(losses: jax.Array, eps: float) -> jax.Array:
    """w_i = exp(-ε Σ_{k<i} L_k) from the per-slice losses (earliest first); w_1 = 1."""
    before = jnp.cumsum(losses) - losses
    return jnp.exp(-eps * before)


@losses.register("causal")
@dataclasses.dataclass(frozen=True)
class Causal(Stateless):
    """Causal weighting of the interior residuals over time slices, w_i = exp(-ε Σ_{k<i} L_k)."""

    eps: float = non_negative("causality parameter ε (0: every slice weighs 1)", 1.0)
    slices: int = positive("number of time slices K", 32)

    def scaled(self, constraint: Constraint, lo: float, hi: float):
        """``constraint``'s residual with each point scaled by its slice's causal factor."""

        def residual(f: Field) -> jax.Array:
            raw = constraint.residual(f)
            n = f.x.shape[0]
            r = jnp.reshape(raw, (n, -1))
            index = slice_index(f.x[:, -1], lo, hi, self.slices)
            per_slice, counts = slice_losses(jnp.mean(r**2, axis=1), index, self.slices)
            w = jax.lax.stop_gradient(causal_weights(per_slice, self.eps))
            filled = jnp.maximum(jnp.sum(counts > 0), 1)
            scale = jnp.sqrt(w * n / (filled * jnp.maximum(counts, 1)))
            scale = jax.lax.stop_gradient(scale)[index]
            return jnp.reshape(scale[:, None] * r, raw.shape)

        return residual

    def constraints(self, problem: Any) -> tuple[Constraint, ...]:
        lo, hi = float(problem.lower[-1]), float(problem.upper[-1])
        return tuple(
            dataclasses.replace(c, residual=self.scaled(c, lo, hi), pointwise=False)
            if c.region == "interior" else c
            for c in problem.constraints())

    def incompatibility(self, parts: dict[str, Any]) -> str | None:
        problem = parts.get("problem")
        if problem is not None and not problem.time_dependent:
            return (f"causal weighting orders residuals in time; "
                    f"{type(problem).registered_name} is not time dependent")
        return None
